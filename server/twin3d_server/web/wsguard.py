"""The websocket side: per-session secrets instead of wslink's shared authKey, a message-size cap,
and the role of the client whose message is being handled.

In a trame process, :class:`SessionGuard` is registered as a wslink link protocol:

* ``onConnect(request, client_id)`` remembers which session opened the websocket (the HTTP
  upgrade already passed the auth middleware, so an anonymous upgrade never gets here: 401);
* ``validateToken(secret, client_id)`` accepts the ``wslink.hello`` only when ``secret`` is that
  session's ``ws_secret`` (wslink then ignores its own shared secret);
* every incoming message marks the session active (idle expiry) and is refused once the session
  has ended (logout or expiry closes its websockets);
* :meth:`SessionGuard.current_identity` is the identity of the client whose message is being
  handled now (wslink's ``last_active_client_id``): server-side role checks use it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from twin3d_server.web.users import Identity

log = logging.getLogger(__name__)


def _link_protocol_base():
    from wslink.websocket import LinkProtocol

    return LinkProtocol


class MessageCap(_link_protocol_base()):
    """Caps a client's websocket messages at ``max_msg_bytes``: single frames (aiohttp closes the
    connection beyond it) and chunked messages (wslink would reassemble up to 4 GB)."""

    def __init__(self, max_msg_bytes: int):
        super().__init__()
        self.max_msg_bytes = max_msg_bytes
        self.webserver = None

    def onConnect(self, request, client_id):  # noqa: N802 (wslink's name)
        self._cap_unchunker(client_id)

    def bind(self, webserver) -> None:
        """Hook into wslink's aiohttp server (``on_server_bind``)."""
        import wslink.backends.aiohttp as backend
        import wslink.protocol as protocol

        self.webserver = webserver
        backend.MAX_MSG_SIZE = self.max_msg_bytes  # aiohttp's per-frame cap (plus wslink's header)
        protocol.MAX_MSG_SIZE = self.max_msg_bytes  # what the hello tells the client to chunk at

    def _handlers(self):
        return getattr(self.webserver, "_ws_handlers", []) if self.webserver is not None else []

    def _cap_unchunker(self, client_id: str) -> None:
        """wslink lifts its reassembly limit to 4 GB after the hello; keep it at our cap."""
        cap = self.max_msg_bytes
        for handler in self._handlers():
            unchunker = handler.unchunkers.get(client_id)
            if unchunker is not None:
                unchunker.set_max_message_size = lambda size, u=unchunker: setattr(
                    u, "max_message_size", min(int(size), cap))


class SessionGuard(MessageCap):
    """Ties each websocket client to the session that opened it (and caps its messages)."""

    def __init__(self, sessions, max_msg_bytes: int):
        super().__init__(max_msg_bytes)
        self.sessions = sessions
        self.clients: dict[str, str] = {}  # wslink client id -> session id
        sessions.on_end(self._session_ended)

    # --- wslink hooks -----------------------------------------------------------------------------
    def onConnect(self, request, client_id):  # noqa: N802 (wslink's name)
        from twin3d_server.web.front import SESSION

        session = request.get(SESSION) if hasattr(request, "get") else None
        if session is not None:
            self.clients[client_id] = session.id
        self._cap_unchunker(client_id)

    def onClose(self, client_id):  # noqa: N802
        self.clients.pop(client_id, None)

    async def validateToken(self, token, client_id):  # noqa: N802
        session = self.sessions.get(self.clients.get(client_id))
        ok = session is not None and isinstance(token, str) and secrets.compare_digest(
            session.ws_secret.encode(), token.encode())
        if not ok:
            log.warning("websocket hello refused for client %s", client_id)
        return ok

    # --- binding to the aiohttp wslink server --------------------------------------------------------
    def bind(self, webserver) -> None:
        """Hook into wslink's aiohttp server (``on_server_bind``): cap messages, track activity."""
        super().bind(webserver)
        for handler in self._handlers():
            self._wrap_messages(handler)

    def _wrap_messages(self, handler) -> None:
        original = handler.onMessage

        async def on_message(is_binary, msg, client_id):
            session_id = self.clients.get(client_id)
            if session_id is not None and self.sessions.get(session_id) is None:
                await self._close(handler, client_id)
                return None
            return await original(is_binary, msg, client_id)

        handler.onMessage = on_message

    async def _close(self, handler, client_id: str) -> None:
        ws = handler.connections.get(client_id)
        if ws is not None and not ws.closed:
            await ws.close(code=4401, message=b"session ended")

    def _session_ended(self, session) -> None:
        for client_id, session_id in list(self.clients.items()):
            if session_id != session.id:
                continue
            for handler in self._handlers():
                if client_id in handler.connections:
                    try:
                        asyncio.get_running_loop().create_task(self._close(handler, client_id))
                    except RuntimeError:
                        pass

    # --- roles ----------------------------------------------------------------------------------------
    def identity_of(self, client_id: str | None) -> Identity | None:
        """The identity of a websocket client (None: unknown or its session ended)."""
        session = self.sessions.get(self.clients.get(client_id or ""), touch=False)
        return session.identity if session else None

    def current_identity(self) -> Identity | None:
        """The identity of the client whose message wslink is handling now."""
        client_id = getattr(self.webserver, "last_active_client_id", None)
        return self.identity_of(client_id)
