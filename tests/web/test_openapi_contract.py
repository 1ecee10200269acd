"""The OpenAPI document against the running API: schemathesis generates requests for every
documented route (with an admin token, and without one) and checks status codes, content
types and response bodies against the document."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.web.conftest import LiveServer
from twin3d_server.web.openapi import openapi_document

schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture(scope="module")
def contract_live(tmp_path_factory):
    """A server of its own: the generated requests add and remove users and post decisions."""
    from tests.scene.test_frames import write_results
    from twin3d_server.web import users
    from twin3d_server.web.serving import make_web_app
    from twin3d_server.web.settings import WebSettings

    base = tmp_path_factory.mktemp("contract")
    (base / "data" / "results").mkdir(parents=True)
    write_results(base / "data" / "results" / "flood.h5", n_frames=2)
    token = users.add_token(base / "users.toml", "contract", "admin")
    server = LiveServer(make_web_app(WebSettings(users_file=str(base / "users.toml"), data_root=str(base / "data"),
                                                 http_loopback=True, max_jobs=0)))
    yield server, token
    server.close()


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_matches_its_openapi_document(case, contract_live):
    server, token = contract_live
    # an inventory's content is checked beyond any schema (CSV columns, departments that depots name):
    # schema-valid but inconsistent inventories are a 400, as documented
    excluded = [schemathesis.checks.positive_data_acceptance] if case.path == "/api/inventories" else []
    case.call_and_validate(base_url=server.url, headers={"Authorization": f"Bearer {token}"},
                           excluded_checks=excluded)


def test_every_route_is_documented(contract_live):
    from twin3d_server.web.api import API_KEY  # noqa: F401  (routes are added by add_api_routes)

    server, _ = contract_live
    app = server.runner.app
    routes = {(r.method, r.resource.canonical) for r in app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith("/api/") and r.method != "HEAD"}
    documented = {(m.upper(), p) for p, ops in openapi_document()["paths"].items() for m in ops}
    assert routes == documented
