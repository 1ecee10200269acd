"""A protocol-level wslink client (aiohttp + msgpack): what trame's browser client says, without a browser.

Used by the load test and the launcher tests to drive session processes: ``wslink.hello`` with
the session secret, then trame's RPCs (``trame.state.get``, ``trame.state.update``,
``trame.trigger``) and the state updates the server publishes.
"""

from __future__ import annotations

import asyncio
import itertools

AUTH_CHUNK_BYTES = 512  # wslink's limit for a message before the client is authenticated
IMAGE_TOPIC = "viewport.image.push.subscription"


class WslinkError(RuntimeError):
    """An error answer from the server (``code``, ``message``)."""

    def __init__(self, code, message):
        super().__init__(f"wslink error {code}: {message}")
        self.code = code
        self.message = message


class WslinkClient:
    """One websocket connection speaking wslink 1.0.

    Examples
    --------
    >>> async def frame_two(url, secret):                    # doctest: +SKIP
    ...     async with WslinkClient(url, secret) as client:
    ...         await client.update_state({"TimelineState__time_index": 2})
    ...         return (await client.get_state())["TimelineState__time_index"]
    """

    def __init__(self, url: str, secret: str, headers: dict | None = None, timeout_s: float = 30.0, http=None):
        """``http``: an aiohttp ClientSession to connect with (its cookies go along; it stays open)."""
        self.url = url
        self.secret = secret
        self.headers = headers or {}
        self.timeout_s = timeout_s
        self.client_id = None
        self.state: dict = {}  # the server's state as published to this client
        self._shared_http = http
        self._http = None
        self._ws = None
        self._reader = None
        self._pending: dict[str, asyncio.Future] = {}
        self._ids = itertools.count(1)
        self._max_chunk = AUTH_CHUNK_BYTES
        self._state_changed = asyncio.Event()
        self.images = 0  # images the server pushed for subscribed remote views
        self._image_arrived = asyncio.Event()

    async def __aenter__(self):
        await self.connect()
        return self

    async def __aexit__(self, *exc):
        await self.close()

    async def connect(self, hello: bool = True) -> None:
        """Open the websocket and authenticate; raises :class:`WslinkError` if the secret is refused.
        ``hello=False`` skips the hello (a client that never authenticates, for tests)."""
        import aiohttp

        self._http = self._shared_http or aiohttp.ClientSession()
        try:
            self._ws = await self._http.ws_connect(self.url, headers=self.headers, max_msg_size=0,
                                                   timeout=aiohttp.ClientWSTimeout(ws_close=5))
        except BaseException:
            if self._shared_http is None:
                await self._http.close()
            raise
        self._reader = asyncio.ensure_future(self._read())
        if not hello:
            self.client_id = "c0"
            return
        try:
            result = await self._send("system:c0:0", "wslink.hello", [{"secret": self.secret}])
        except BaseException:
            await self.close()
            raise
        self.client_id = result["clientID"]
        self._max_chunk = int(result.get("maxMsgSize") or 0)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
        if self._http is not None and self._shared_http is None:
            await self._http.close()

    async def call(self, method: str, args=(), kwargs=None):
        """Call an RPC and return its result."""
        return await self._send(f"rpc:{self.client_id}:{next(self._ids)}", method, list(args), kwargs or {})

    async def get_state(self) -> dict:
        """The server's whole state (``trame.state.get``)."""
        answer = await self.call("trame.state.get")
        self.state.update(answer.get("state", {}))
        return answer.get("state", {})

    async def update_state(self, changes: dict):
        """Change state as a browser does (``trame.state.update``)."""
        return await self.call("trame.state.update", [[{"key": k, "value": v} for k, v in changes.items()]])

    async def trigger(self, name: str, args=(), kwargs=None):
        """Call a trame trigger (a controller bound to the UI) by its trigger name."""
        return await self.call("trame.trigger", [name, list(args), kwargs or {}])

    async def watch_remote_views(self) -> list[str]:
        """Subscribe to the images of every server-rendered view, as the browser's views do;
        returns their ids (``trame__remote_view_<n>Id`` in the state)."""
        state = self.state or await self.get_state()
        ids = [str(v) for k, v in sorted(state.items()) if k.startswith("trame__remote_view_") and k.endswith("Id")]
        for view_id in ids:
            await self.call("viewport.image.push.observer.add", [view_id])
        return ids

    def expect_image(self) -> None:
        """Forget images already received: :meth:`image_arrived` then waits for a new one."""
        self._image_arrived.clear()

    async def image_arrived(self, timeout_s: float = 30.0) -> None:
        """Wait until an image has arrived since :meth:`expect_image`."""
        await asyncio.wait_for(self._image_arrived.wait(), timeout_s)

    async def wait_for(self, key: str, predicate, timeout_s: float = 30.0):
        """Wait until the published ``state[key]`` satisfies ``predicate``; returns the value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not (key in self.state and predicate(self.state[key])):
            self._state_changed.clear()
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"{key} never satisfied the condition (last: {self.state.get(key)!r})")
            try:
                await asyncio.wait_for(self._state_changed.wait(), min(left, 1.0))
            except TimeoutError:
                await self.get_state()
        return self.state[key]

    # --- wire ------------------------------------------------------------------------------
    async def _send(self, rpc_id: str, method: str, args, kwargs=None):
        import msgpack
        from wslink.chunking import generate_chunks

        if self._ws is None or self._ws.closed:
            raise ConnectionError("the websocket is closed")
        future = asyncio.get_running_loop().create_future()
        self._pending[rpc_id] = future
        message = msgpack.packb({"wslink": "1.0", "id": rpc_id, "method": method, "args": args,
                                 "kwargs": kwargs or {}})
        for chunk in generate_chunks(message, self._max_chunk):
            await self._ws.send_bytes(chunk)
        try:
            return await asyncio.wait_for(future, self.timeout_s)
        finally:
            self._pending.pop(rpc_id, None)

    async def _read(self) -> None:
        import aiohttp
        from wslink.chunking import UnChunker

        unchunker = UnChunker()
        unchunker.set_max_message_size(1 << 30)
        try:
            async for message in self._ws:
                if message.type != aiohttp.WSMsgType.BINARY:
                    continue
                payload = unchunker.process_chunk(message.data)
                if payload is not None:
                    self._dispatch(payload)
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("the websocket closed"))

    def _dispatch(self, payload: dict) -> None:
        rpc_id = str(payload.get("id", ""))
        if rpc_id.startswith("publish:"):
            topic = rpc_id.split(":")[1]
            if topic == "trame.state.topic" and isinstance(payload.get("result"), dict):
                self.state.update(payload["result"])
                self._state_changed.set()
            elif topic == IMAGE_TOPIC:
                self.images += 1
                self._image_arrived.set()
            return
        future = self._pending.get(rpc_id)
        if future is None or future.done():
            return
        if "error" in payload:
            error = payload["error"] or {}
            future.set_exception(WslinkError(error.get("code"), error.get("message")))
        else:
            future.set_result(payload.get("result"))
