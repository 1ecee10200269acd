"""The REST API under ``/api/`` (OpenAPI 3 at ``/api/openapi.json``; see docs/rest-api.md).

Every route names the least role it needs (viewer: reads; planner: decisions, inventories,
runs; admin: users).  The identity is the cookie session's, a bearer token's (its scope is its
role) or the trusted proxy header's.  Errors are ``{"error": "<one line>"}`` with 400 (malformed
input), 401, 403, 404, 413, 415, 503 (run queue full).

API: ``add_api_routes(app, front)`` adds the routes to an aiohttp app that already has the
front's middlewares (:meth:`twin3d_server.web.front.WebFront.attach`).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from functools import partial

from aiohttp import web

from twin3d.errors import InputError
from twin3d_server.web import datastore as ds
from twin3d_server.web.front import IDENTITY, json_error
from twin3d_server.web.safepaths import UnsafePath
from twin3d_server.web.users import ROLES

API_KEY = web.AppKey("twin3d_api", object)
POLL_S = 0.5


class Api:
    """The handlers, bound to one front (settings, data root) and one run queue."""

    def __init__(self, front):
        self.front = front
        self.settings = front.settings
        self.root = front.settings.data_root_path()
        self._queue = None
        self.jobs: dict[str, object] = {}
        self._poller: asyncio.Task | None = None

    # --- plumbing ----------------------------------------------------------------------------------------
    def require(self, request, role: str):
        identity = request.get(IDENTITY)
        if identity is None:
            raise json_error(401, "not signed in")
        if not identity.allowed(role):
            raise json_error(403, f"needs the {role} role (you are {identity.role})")
        return identity

    async def call(self, fn, *args):
        """Run a blocking data-root function in a thread; map its errors to HTTP errors."""
        try:
            return await asyncio.to_thread(fn, *args)
        except UnsafePath as exc:
            raise json_error(400 if "invalid" in str(exc) else 403, str(exc)) from None
        except (ds.NotFound, FileNotFoundError) as exc:
            raise json_error(404, str(exc).strip("'\"")) from None
        except InputError as exc:
            raise json_error(400, exc.reason if exc.path is None else str(exc)) from None

    async def body(self, request) -> bytes:
        cap = self.settings.max_body_bytes
        data = bytearray()
        async for chunk in request.content.iter_chunked(65536):
            data += chunk
            if len(data) > cap:
                raise json_error(413, f"request body over {cap} bytes")
        return bytes(data)

    async def json_body(self, request, schema: dict) -> dict:
        """The JSON object of the request, checked against a flat schema of required/optional keys."""
        if request.content_type != "application/json":
            raise json_error(415, "send application/json")
        raw = await self.body(request)
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise json_error(400, f"malformed JSON: {exc}") from None
        if not isinstance(data, dict):
            raise json_error(400, "the body must be a JSON object")
        return check_fields(data, schema)

    @staticmethod
    def frame_param(request) -> int:
        value = request.query.get("frame", "0")
        try:
            frame = int(value)
        except ValueError:
            raise json_error(400, f"frame must be an integer, got {value!r}") from None
        if frame < 0:
            raise json_error(400, "frame must be >= 0")
        return frame

    # --- reads -----------------------------------------------------------------------------------------------
    async def openapi(self, request):
        from twin3d_server.web.openapi import openapi_document

        self.require(request, "viewer")
        return web.json_response(openapi_document())

    async def whoami(self, request):
        identity = self.require(request, "viewer")
        return web.json_response({"user": identity.user, "role": identity.role, "via": identity.via})

    async def cities(self, request):
        self.require(request, "viewer")
        return web.json_response(await self.call(ds.list_cities, self.root))

    async def scenarios(self, request):
        self.require(request, "viewer")
        return web.json_response(await self.call(ds.list_scenarios, self.root))

    async def results(self, request):
        self.require(request, "viewer")
        return web.json_response(await self.call(ds.list_results, self.root))

    async def results_one(self, request):
        self.require(request, "viewer")
        return web.json_response(await self.call(ds.results_info, self.root, request.match_info["id"]))

    async def kpis(self, request):
        self.require(request, "viewer")
        return web.json_response(await self.call(ds.kpi_series, self.root, request.match_info["id"]))

    async def allocation(self, request):
        self.require(request, "viewer")
        frame = self.frame_param(request)
        return web.json_response(await self.call(ds.allocation_at, self.root, request.match_info["id"], frame))

    async def field(self, request):
        self.require(request, "viewer")
        frame = self.frame_param(request)
        data = await self.call(ds.field_geotiff, self.root, request.match_info["id"], request.match_info["field"],
                               frame)
        name = f"{request.match_info['id']}-{request.match_info['field']}-{frame}.tif"
        return web.Response(body=data, content_type="image/tiff",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})

    async def decisions(self, request):
        self.require(request, "viewer")
        return web.json_response(await self.call(ds.list_decisions, self.root))

    async def inventories(self, request):
        self.require(request, "viewer")
        return web.json_response(await self.call(ds.list_inventories, self.root))

    # --- changes -------------------------------------------------------------------------------------------------
    async def decision_post(self, request):
        identity = self.require(request, "planner")
        body = await self.json_body(request, DECISION_FIELDS)
        entry = await self.call(ds.record_decision, self.root, identity.user, body)
        return web.json_response(entry, status=201)

    async def inventory_post(self, request):
        self.require(request, "planner")
        name = request.query.get("name", "")
        formats = {"text/csv": "csv", "application/json": "json"}
        fmt = formats.get(request.content_type)
        if fmt is None:
            raise json_error(415, "send text/csv or application/json")
        if not name:
            raise json_error(400, "name the inventory: ?name=<id>")
        body = await self.body(request)
        summary = await self.call(ds.store_inventory, self.root, name, body, fmt)
        return web.json_response(summary, status=201)

    # --- runs --------------------------------------------------------------------------------------------------------
    @property
    def queue(self):
        if self._queue is None:
            from twin3d_server.logic.runs import RunQueue

            self._queue = RunQueue()
        return self._queue

    def job_status(self, job_id: str) -> dict:
        run = self.jobs[job_id]
        return {"id": job_id, "status": run.status, "scenario": run.scenario.stem, "results": run.output.stem,
                "error": run.error, "status_url": f"/api/runs/{job_id}", "results_url": f"/api/results/{run.output.stem}"}

    async def run_post(self, request):
        self.require(request, "planner")
        body = await self.json_body(request, RUN_FIELDS)
        scenario = await self.call(ds.scenario_path, self.root, body["scenario"])
        self.queue.poll()
        pending = [r for r in self.queue.runs if not r.done]
        if len(pending) >= self.settings.max_jobs:
            raise json_error(503, f"{len(pending)} runs pending; try later", **{"Retry-After": "30"})
        job_id = secrets.token_hex(8)
        output = ds.resolve_under(self.root, "results", must_exist=False) / f"{scenario.stem}-{job_id}.h5"
        self.jobs[job_id] = self.queue.submit(scenario, output)
        self._ensure_poller()
        status = self.job_status(job_id)
        return web.json_response(status, status=202, headers={"Location": status["status_url"]})

    async def run_one(self, request):
        self.require(request, "viewer")
        job_id = request.match_info["job"]
        if job_id not in self.jobs:
            raise json_error(404, f"no run {job_id!r}")
        self.queue.poll()
        return web.json_response(self.job_status(job_id))

    async def runs(self, request):
        self.require(request, "viewer")
        if self.jobs:
            self.queue.poll()
        return web.json_response([self.job_status(j) for j in self.jobs])

    def _ensure_poller(self) -> None:
        if self._poller is None or self._poller.done():
            async def poll():
                while any(not r.done for r in self.queue.runs):
                    self.queue.poll()
                    await asyncio.sleep(POLL_S)

            self._poller = asyncio.get_running_loop().create_task(poll())

    async def shutdown(self, _app) -> None:
        if self._poller is not None:
            self._poller.cancel()
        if self._queue is not None:
            await asyncio.to_thread(self._queue.shutdown)

    # --- users (admin) -------------------------------------------------------------------------------------------------
    def _users_file(self) -> str:
        if not self.settings.users_file:
            raise json_error(404, "no users file configured")
        return self.settings.users_file

    async def users(self, request):
        from twin3d_server.web import users

        self.require(request, "admin")
        return web.json_response(await self.call(users.list_users, self._users_file()))

    async def user_post(self, request):
        from twin3d_server.web import users

        self.require(request, "admin")
        body = await self.json_body(request, USER_FIELDS)
        try:
            await asyncio.to_thread(users.add_user, self._users_file(), body["name"], body["role"], body["password"])
        except ValueError as exc:
            raise json_error(409 if "exists" in str(exc) else 400, str(exc)) from None
        return web.json_response({"name": body["name"], "role": body["role"]}, status=201)

    async def user_delete(self, request):
        from twin3d_server.web import users

        self.require(request, "admin")
        name = request.match_info["name"]
        try:
            await asyncio.to_thread(users.remove_user, self._users_file(), name)
        except KeyError:
            raise json_error(404, f"no user {name!r}") from None
        self.front.sessions.end_user(name)
        return web.Response(status=204)


# --- request bodies: {key: (type, required)} -----------------------------------------------------------------------
DECISION_FIELDS = {"what": (str, True), "why": (str, True), "results": (str, True), "frame_index": (int, True),
                   "allocation": (object, False), "kpis": (object, False)}
RUN_FIELDS = {"scenario": (str, True)}
USER_FIELDS = {"name": (str, True), "role": (str, True), "password": (str, True)}


def check_fields(data: dict, schema: dict) -> dict:
    """``data`` when its keys and types match ``schema``; else a 400 naming the first problem."""
    unknown = sorted(set(data) - set(schema))
    if unknown:
        raise json_error(400, f"unknown field {unknown[0]!r}")
    for key, (kind, required) in schema.items():
        if key not in data:
            if required:
                raise json_error(400, f"missing field {key!r}")
            continue
        value = data[key]
        if kind is int and isinstance(value, float) and value.is_integer():
            data[key] = value = int(value)  # JSON Schema's integer: 3.0 is one
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise json_error(400, f"{key!r} must be an integer")
        if kind is str and (not isinstance(value, str) or not value.strip()):
            raise json_error(400, f"{key!r} must be a non-empty string")
    if "role" in data and data["role"] not in ROLES:
        raise json_error(400, f"'role' must be one of {', '.join(ROLES)}")
    if "frame_index" in data and data["frame_index"] < 0:
        raise json_error(400, "'frame_index' must be >= 0")
    return data


def add_api_routes(app: web.Application, front) -> Api:
    """Add the REST routes to ``app``; returns the :class:`Api`."""
    api = Api(front)
    app[API_KEY] = api
    get, post = partial(app.router.add_get, allow_head=False), app.router.add_post
    get("/api/openapi.json", api.openapi)
    get("/api/whoami", api.whoami)
    get("/api/cities", api.cities)
    get("/api/scenarios", api.scenarios)
    get("/api/results", api.results)
    get("/api/results/{id}", api.results_one)
    get("/api/results/{id}/kpis", api.kpis)
    get("/api/results/{id}/allocation", api.allocation)
    get("/api/results/{id}/fields/{field}", api.field)
    get("/api/decisions", api.decisions)
    post("/api/decisions", api.decision_post)
    get("/api/inventories", api.inventories)
    post("/api/inventories", api.inventory_post)
    get("/api/runs", api.runs)
    post("/api/runs", api.run_post)
    get("/api/runs/{job}", api.run_one)
    get("/api/users", api.users)
    post("/api/users", api.user_post)
    app.router.add_delete("/api/users/{name}", api.user_delete)
    app.on_cleanup.append(api.shutdown)
    return api
