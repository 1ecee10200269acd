"""Browser sessions: a random id in an HttpOnly, SameSite=Strict cookie, idle and absolute expiry.

Each session also holds ``ws_secret``, a per-session secret from :mod:`secrets` that replaces
trame/wslink's shared ``authKey``: the trame client fetches it from the session endpoint
(``POST /paraview/``, the trame client's default launcher URL) and sends it in its
``wslink.hello``; :mod:`twin3d_server.web.wsguard` accepts a websocket only when that secret
belongs to the session whose cookie opened it.

API: ``store = SessionStore(settings)``; ``store.create(identity) -> Session``;
``store.get(session_id) -> Session | None`` (touches it; None when unknown or expired);
``store.end(session_id)``; ``store.sweep()``; ``store.by_ws_secret(secret)``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from twin3d_server.web.users import Identity

COOKIE = "twin3d_session"
SECURE_COOKIE = "__Host-twin3d_session"  # __Host-: Secure, Path=/, no Domain, enforced by browsers


@dataclass
class Session:
    """One logged-in browser."""

    id: str
    identity: Identity
    created: float
    last_seen: float
    ws_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def user(self) -> str:
        return self.identity.user

    @property
    def role(self) -> str:
        return self.identity.role


class SessionStore:
    """In-memory sessions of one web front (one process)."""

    def __init__(self, settings, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._end_listeners: list[Callable[[Session], None]] = []

    def __len__(self) -> int:
        return len(self._sessions)

    def on_end(self, callback: Callable[[Session], None]) -> None:
        """``callback(session)`` when a session ends (logout, expiry): e.g. close its websockets."""
        self._end_listeners.append(callback)

    def create(self, identity: Identity) -> Session:
        """A new session for ``identity`` with fresh random id and websocket secret."""
        now = self.clock()
        session = Session(secrets.token_urlsafe(32), identity, now, now)
        self._sessions[session.id] = session
        return session

    def _expired(self, session: Session, now: float) -> bool:
        return (now - session.last_seen > self.settings.session_idle_s
                or now - session.created > self.settings.session_max_s)

    def get(self, session_id: str | None, touch: bool = True) -> Session | None:
        """The live session with this id (and mark it active), or None."""
        session = self._sessions.get(session_id or "")
        if session is None:
            return None
        now = self.clock()
        if self._expired(session, now):
            self.end(session.id)
            return None
        if touch:
            session.last_seen = now
        return session

    def by_ws_secret(self, secret: str) -> Session | None:
        """The live session whose websocket secret is ``secret`` (constant-time compare)."""
        found = None
        for session in list(self._sessions.values()):
            if secrets.compare_digest(session.ws_secret.encode(), str(secret).encode()):
                found = session
        return self.get(found.id, touch=False) if found else None

    def end(self, session_id: str) -> None:
        """End a session (logout)."""
        session = self._sessions.pop(session_id, None)
        if session is not None:
            for callback in self._end_listeners:
                callback(session)

    def end_user(self, user: str) -> None:
        """End every session of ``user`` (removed, or role changed)."""
        for session in [s for s in self._sessions.values() if s.user == user]:
            self.end(session.id)

    def sweep(self) -> int:
        """End expired sessions; returns how many ended."""
        now = self.clock()
        expired = [s.id for s in self._sessions.values() if self._expired(s, now)]
        for session_id in expired:
            self.end(session_id)
        return len(expired)
