"""The users file: people with a role and an argon2 password hash, and machine tokens.

The file is TOML, written only by these functions (atomically, mode 0600)::

    [users."alice"]
    role = "planner"
    password = "$argon2id$v=19$m=65536,t=3,p=4$..."

    [tokens."gis-sync"]
    role = "viewer"                      # the token's scope: the same ladder as users' roles
    sha256 = "9f86d08..."                # sha256 of the token; the token itself is shown once
    created = "2026-11-25T01:00:00+00:00"

Roles are ``viewer`` < ``planner`` < ``admin`` (:data:`twin3d_server.context.ROLES`).  A machine
client sends ``Authorization: Bearer t3d_<name>_<secret>``.

API (the lead's ``twin3d users`` CLI calls these):
:func:`add_user`, :func:`set_password`, :func:`set_role`, :func:`remove_user`, :func:`list_users`,
:func:`add_token` (returns the token, once), :func:`remove_token`, :func:`list_tokens`;
the web front calls :func:`verify_password` and :func:`verify_token`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from twin3d.errors import InputError

ROLES = ("viewer", "planner", "admin")  # the same ladder as twin3d_server.context.ROLES
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
TOKEN = re.compile(r"t3d_([A-Za-z0-9][A-Za-z0-9.@-]{0,63})_([A-Za-z0-9_-]{20,128})")
MIN_PASSWORD = 10


@dataclass(frozen=True)
class Identity:
    """Who is asking: a user (or token) name, its role, and how it was authenticated."""

    user: str
    role: str
    via: str = "password"  # password | token | header

    def allowed(self, role: str) -> bool:
        """Whether this identity may act as ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


def _check_name(name: str, what: str = "user") -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValueError(f"invalid {what} name {name!r}: letters, digits and _.@- (at most 64)")
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"invalid role {role!r}: one of {', '.join(ROLES)}")
    return role


def _check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    return password


def read_users(path: str | os.PathLike) -> dict:
    """The users file as ``{"users": {...}, "tokens": {...}}``; a missing file is empty."""
    from twin3d.config import read_toml

    path = Path(path)
    if not path.exists():
        return {"users": {}, "tokens": {}}
    data = read_toml(path, "users file")
    users, tokens = data.get("users", {}), data.get("tokens", {})
    if not isinstance(users, dict) or not isinstance(tokens, dict):
        raise InputError(path, "users and tokens must be tables")
    for name, entry in users.items():
        if not isinstance(entry, dict) or entry.get("role") not in ROLES or not isinstance(entry.get("password"), str):
            raise InputError(path, f"user {name!r} needs a role ({', '.join(ROLES)}) and a password hash")
    for name, entry in tokens.items():
        if not isinstance(entry, dict) or entry.get("role") not in ROLES or not isinstance(entry.get("sha256"), str):
            raise InputError(path, f"token {name!r} needs a role ({', '.join(ROLES)}) and a sha256")
    return {"users": users, "tokens": tokens}


def _toml_table(kind: str, name: str, entry: dict) -> str:
    lines = [f"[{kind}.{json.dumps(name)}]"]
    lines += [f"{key} = {json.dumps(str(value))}" for key, value in entry.items()]
    return "\n".join(lines) + "\n"


def write_users(path: str | os.PathLike, data: dict) -> None:
    """Write the users file atomically with owner-only permissions."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# twin3d users: written by `twin3d users`; passwords are argon2 hashes, tokens sha256\n\n"
    text += "\n".join(_toml_table("users", n, e) for n, e in sorted(data.get("users", {}).items()))
    text += "\n".join(_toml_table("tokens", n, e) for n, e in sorted(data.get("tokens", {}).items()))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".users-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_user(path: str | os.PathLike, name: str, role: str, password: str) -> None:
    """Add a user with ``role`` (viewer, planner or admin); refuses an existing name."""
    data = read_users(path)
    _check_name(name)
    if name in data["users"]:
        raise ValueError(f"user {name!r} exists (use set_password / set_role)")
    data["users"][name] = {"role": _check_role(role), "password": _hasher().hash(_check_password(password))}
    write_users(path, data)


def set_password(path: str | os.PathLike, name: str, password: str) -> None:
    """Replace a user's password."""
    data = read_users(path)
    if name not in data["users"]:
        raise KeyError(f"no user {name!r}")
    data["users"][name]["password"] = _hasher().hash(_check_password(password))
    write_users(path, data)


def set_role(path: str | os.PathLike, name: str, role: str) -> None:
    """Change a user's role."""
    data = read_users(path)
    if name not in data["users"]:
        raise KeyError(f"no user {name!r}")
    data["users"][name]["role"] = _check_role(role)
    write_users(path, data)


def remove_user(path: str | os.PathLike, name: str) -> None:
    """Remove a user (their open sessions end at their next request)."""
    data = read_users(path)
    if data["users"].pop(name, None) is None:
        raise KeyError(f"no user {name!r}")
    write_users(path, data)


def list_users(path: str | os.PathLike) -> list[dict]:
    """``[{"name", "role"}, ...]`` sorted by name (never the hashes)."""
    return [{"name": n, "role": e["role"]} for n, e in sorted(read_users(path)["users"].items())]


def add_token(path: str | os.PathLike, name: str, role: str) -> str:
    """Create a machine token with scope ``role``; returns the token (only its hash is stored)."""
    data = read_users(path)
    _check_name(name, "token")
    if "_" in name:
        raise ValueError("token names may not contain '_'")
    if name in data["tokens"]:
        raise ValueError(f"token {name!r} exists")
    token = f"t3d_{name}_{secrets.token_urlsafe(32)}"
    data["tokens"][name] = {"role": _check_role(role), "sha256": hashlib.sha256(token.encode()).hexdigest(),
                            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    write_users(path, data)
    return token


def remove_token(path: str | os.PathLike, name: str) -> None:
    """Revoke a machine token."""
    data = read_users(path)
    if data["tokens"].pop(name, None) is None:
        raise KeyError(f"no token {name!r}")
    write_users(path, data)


def list_tokens(path: str | os.PathLike) -> list[dict]:
    """``[{"name", "role", "created"}, ...]`` (never the hashes)."""
    return [{"name": n, "role": e["role"], "created": e.get("created", "")}
            for n, e in sorted(read_users(path)["tokens"].items())]


_DUMMY_HASH: list[str] = []


def verify_password(path: str | os.PathLike, name: str, password: str) -> Identity | None:
    """The user's :class:`Identity` when ``password`` is right, else None.

    An unknown user costs the same argon2 work as a known one, so timing does not tell them apart.
    """
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _hasher()
    entry = read_users(path)["users"].get(name) if isinstance(name, str) else None
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hasher.hash(secrets.token_urlsafe(16)))
    stored = entry["password"] if entry else _DUMMY_HASH[0]
    try:
        ok = hasher.verify(stored, password if isinstance(password, str) else "")
    except (VerificationError, InvalidHashError):
        ok = False
    return Identity(name, entry["role"], "password") if ok and entry else None


def verify_token(path: str | os.PathLike, token: str) -> Identity | None:
    """The token's :class:`Identity` (``user`` = the token's name, ``role`` = its scope), else None."""
    match = TOKEN.fullmatch(token or "")
    if not match:
        return None
    entry = read_users(path)["tokens"].get(match.group(1))
    if not entry:
        return None
    digest = hashlib.sha256(token.encode()).hexdigest()
    return Identity(match.group(1), entry["role"], "token") if hmac.compare_digest(digest, entry["sha256"]) else None
