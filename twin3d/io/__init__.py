"""Readers and writers behind one registry: ``twin3d.io.read(path)`` returns a City."""

from __future__ import annotations

from twin3d.io.registry import read, write

__all__ = ["read", "write"]
