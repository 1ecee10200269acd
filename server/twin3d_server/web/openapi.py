"""The OpenAPI 3 document of the REST API (served at ``/api/openapi.json``).

Written by hand next to :mod:`twin3d_server.web.api`; tests/web/test_openapi_contract.py checks
every documented route and status against the running app with schemathesis.
"""

from __future__ import annotations

from twin3d import __version__

_ERROR = {"$ref": "#/components/schemas/Error"}
_ID = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    text = {400: "malformed request", 401: "not signed in", 403: "role too low, or refused path",
            404: "no such item", 409: "exists already", 413: "body too large", 415: "wrong content type",
            503: "run queue full"}
    return {str(c): _json(_ERROR, text[c]) for c in (401, 403, *codes)}


def _op(summary: str, role: str, ok: dict, *codes: int, params=(), body=None, ok_code="200") -> dict:
    op = {"summary": summary, "description": f"Needs the **{role}** role.", "x-role": role,
          "responses": {ok_code: ok, **_errors(*codes)}, "security": [{"bearer": []}, {"cookie": []}]}
    if params:
        op["parameters"] = list(params)
    if body:
        op["requestBody"] = body
    return op


def _path_param(name: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema or _ID}


_FRAME = {"name": "frame", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0, "default": 0}}
_NUMS = {"type": "array", "items": {"type": ["number", "null"]}}


def _schemas() -> dict:
    obj = {"type": "object"}
    return {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
        "Identity": {**obj, "required": ["user", "role", "via"], "properties": {
            "user": {"type": "string"}, "role": {"enum": ["viewer", "planner", "admin"]},
            "via": {"enum": ["password", "token", "header"]}}},
        "City": {**obj, "required": ["id", "file", "source"], "properties": {
            "id": {"type": "string"}, "file": {"type": "string"}, "source": {"enum": ["data", "packaged"]}}},
        "Scenario": {**obj, "required": ["id", "source"], "properties": {
            "id": {"type": "string"}, "source": {"enum": ["data", "packaged"]}}},
        "ResultsSummary": {**obj, "required": ["id", "name", "status", "n_frames"], "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "status": {"enum": ["complete", "running"]},
            "n_frames": {"type": "integer"}}},
        "Results": {"allOf": [{"$ref": "#/components/schemas/ResultsSummary"}, {**obj, "required": [
            "crs", "time_s", "fields", "kpis", "grid"], "properties": {
            "crs": {"type": "string"}, "content_hash": {"type": "string"}, "start": {"type": "string"},
            "time_s": _NUMS, "fields": {"type": "array", "items": {"type": "string"}},
            "kpis": {"type": "array", "items": {"type": "string"}}, "grid": obj}}]},
        "KpiSeries": {**obj, "required": ["id", "time_s", "kpis"], "properties": {
            "id": {"type": "string"}, "time_s": _NUMS, "kpis": {"type": "object", "additionalProperties": {
                **obj, "required": ["units", "label", "columns", "values"], "properties": {
                    "units": {"type": "string"}, "label": {"type": "string"},
                    "columns": {"type": "array", "items": {"type": "string"}}, "values": {"type": "array"}}}}}},
        "Allocation": {**obj, "required": ["id", "frame", "time_s", "columns", "values", "assignments"], "properties": {
            "id": {"type": "string"}, "frame": {"type": "integer"}, "time_s": {"type": "number"},
            "columns": {"type": "array", "items": {"type": "string"}}, "values": _NUMS,
            "assignments": {"type": "array", "items": obj}}},
        "Decision": {**obj, "required": ["seq", "who", "what", "why", "scenario_hash", "frame_index", "hash"],
                     "properties": {"seq": {"type": "integer"}, "timestamp_utc": {"type": "string"},
                                    "who": {"type": "string"}, "what": {"type": "string"}, "why": {"type": "string"},
                                    "scenario_hash": {"type": "string"}, "frame_index": {"type": "integer"},
                                    "frame_time_s": {"type": ["number", "null"]}, "allocation": {},
                                    "kpis": {}, "prev_hash": {"type": "string"}, "hash": {"type": "string"}}},
        "NewDecision": {**obj, "required": ["what", "why", "results", "frame_index"], "additionalProperties": False,
                        "properties": {"what": {"type": "string", "minLength": 1, "pattern": r"\S"},
                                       "why": {"type": "string", "minLength": 1, "pattern": r"\S"},
                                       "results": _ID, "frame_index": {"type": "integer", "minimum": 0},
                                       "allocation": {}, "kpis": {}}},
        "Inventory": {**obj, "required": ["id", "format"], "properties": {
            "id": {"type": "string"}, "format": {"enum": ["csv", "json"]}, "departments": {"type": "integer"},
            "depots": {"type": "integer"}, "kinds": {"type": "array", "items": {"type": "string"}}}},
        "InventoryBody": {**obj, "required": ["departments", "depots"], "additionalProperties": False, "properties": {
            "departments": {"type": "array", "items": {**obj, "required": ["id"]}},
            "depots": {"type": "array", "items": {**obj, "required": ["id", "department", "resources"]}}}},
        "NewRun": {**obj, "required": ["scenario"], "additionalProperties": False, "properties": {"scenario": _ID}},
        "Run": {**obj, "required": ["id", "status", "scenario", "results", "status_url"], "properties": {
            "id": {"type": "string"}, "status": {"enum": ["queued", "running", "complete", "failed"]},
            "scenario": {"type": "string"}, "results": {"type": "string"}, "error": {"type": "string"},
            "status_url": {"type": "string"}, "results_url": {"type": "string"}}},
        "User": {**obj, "required": ["name", "role"], "properties": {
            "name": {"type": "string"}, "role": {"enum": ["viewer", "planner", "admin"]}}},
        "NewUser": {**obj, "required": ["name", "role", "password"], "additionalProperties": False, "properties": {
            "name": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,63}$"},
            "role": {"enum": ["viewer", "planner", "admin"]}, "password": {"type": "string", "minLength": 10}}},
    }


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(name: str) -> dict:
    return {"type": "array", "items": _ref(name)}


def _paths() -> dict:
    rid = _path_param("id")
    body = {"required": True, "content": {"application/json": {"schema": _ref("NewDecision")}}}
    inventory = {"required": True, "content": {"text/csv": {"schema": {"type": "string"}},
                                               "application/json": {"schema": _ref("InventoryBody")}}}
    return {
        "/api/openapi.json": {"get": _op("This document", "viewer", _json({"type": "object"}, "OpenAPI 3"))},
        "/api/whoami": {"get": _op("Who the caller is", "viewer", _json(_ref("Identity"), "identity"))},
        "/api/cities": {"get": _op("Cities", "viewer", _json(_list("City"), "cities"))},
        "/api/scenarios": {"get": _op("Scenarios", "viewer", _json(_list("Scenario"), "scenarios"))},
        "/api/results": {"get": _op("Results files and their status", "viewer",
                                    _json(_list("ResultsSummary"), "results"))},
        "/api/results/{id}": {"get": _op("One results file: status, frames, CRS, fields, KPIs", "viewer",
                                         _json(_ref("Results"), "results"), 400, 404, params=[rid])},
        "/api/results/{id}/kpis": {"get": _op("KPI time series", "viewer", _json(_ref("KpiSeries"), "series"),
                                              400, 404, params=[rid])},
        "/api/results/{id}/allocation": {"get": _op("The allocation at a frame", "viewer",
                                                    _json(_ref("Allocation"), "allocation"), 400, 404,
                                                    params=[rid, _FRAME])},
        "/api/results/{id}/fields/{field}": {"get": _op(
            "A field at a frame as a GeoTIFF (north-up float32, CRS of the results)", "viewer",
            {"description": "GeoTIFF", "content": {"image/tiff": {"schema": {"type": "string", "format": "binary"}}}},
            400, 404, params=[rid, _path_param("field", {"type": "string", "pattern": "^[a-z_]{1,32}$"}), _FRAME])},
        "/api/decisions": {
            "get": _op("The decision log", "viewer", _json(_list("Decision"), "decisions")),
            "post": _op("Record a decision at a frame of a results file (who = the caller)", "planner",
                        _json(_ref("Decision"), "recorded"), 400, 404, 413, 415, body=body, ok_code="201")},
        "/api/inventories": {
            "get": _op("Stored department inventories", "viewer", _json(_list("Inventory"), "inventories")),
            "post": _op("Store a department resource inventory (CSV or JSON, docs/allocation-format.md)", "planner",
                        _json(_ref("Inventory"), "stored"), 400, 413, 415, body=inventory, ok_code="201",
                        params=[{"name": "name", "in": "query", "required": True, "schema": _ID}])},
        "/api/runs": {
            "get": _op("Runs started through the API", "viewer", _json(_list("Run"), "runs")),
            "post": _op("Start a scenario run (asynchronous: poll the status URL)", "planner",
                        _json(_ref("Run"), "accepted; Location is the status URL"), 400, 404, 413, 415, 503,
                        body={"required": True, "content": {"application/json": {"schema": _ref("NewRun")}}},
                        ok_code="202")},
        "/api/runs/{job}": {"get": _op("A run's status", "viewer", _json(_ref("Run"), "status"), 404,
                                       params=[_path_param("job", {"type": "string"})])},
        "/api/users": {
            "get": _op("Users", "admin", _json(_list("User"), "users"), 404),
            "post": _op("Add a user", "admin", _json(_ref("User"), "added"), 400, 404, 409, 413, 415,
                        body={"required": True, "content": {"application/json": {"schema": _ref("NewUser")}}},
                        ok_code="201")},
        "/api/users/{name}": {"delete": _op("Remove a user (ends their sessions)", "admin",
                                            {"description": "removed"}, 404, ok_code="204",
                                            params=[_path_param("name", {"type": "string"})])},
    }


def openapi_document() -> dict:
    """The OpenAPI 3.1 document."""
    return {"openapi": "3.1.0",
            "info": {"title": "twin3d REST API", "version": __version__,
                     "description": "Read results and KPIs, post inventories and decisions, start runs. "
                                    "Authenticate with a session cookie (after /login) or a bearer token."},
            "servers": [{"url": "/"}],
            "paths": _paths(),
            "components": {"schemas": _schemas(), "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "t3d_<name>_<secret> machine token"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "__Host-twin3d_session"}}}}
