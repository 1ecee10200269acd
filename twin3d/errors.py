"""Errors that the CLI turns into exit codes."""

from __future__ import annotations

import os


class InputError(Exception):
    """Bad input from a user: a file that cannot be read, or a wrong argument.

    The message is one line, ``<file>: <what is wrong>``; the CLI prints it as
    ``error: <message>`` and exits with code 2.
    """

    def __init__(self, path: str | os.PathLike | None, reason: str):
        self.path = None if path is None else os.fspath(path)
        self.reason = " ".join(str(reason).split())  # always one line
        super().__init__(f"{self.path}: {self.reason}" if self.path else self.reason)
