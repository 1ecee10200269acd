"""The REST API: reads, roles, hostile input (traversal, symlinks, big bodies, bad JSON), runs."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
import requests

from tests.web.conftest import bearer, login

INVENTORY_CSV = (b"department,depot,kind,count,cost_eur,budget_eur\n"
                 b"fire,north,pumps,4,100,5000\nfire,north,sandbag_crews,2,50,5000\n")


def get(live, path, token, **kwargs):
    return requests.get(f"{live.url}{path}", headers=bearer(token), timeout=30, **kwargs)


def post(live, path, token, **kwargs):
    return requests.post(f"{live.url}{path}", headers={**bearer(token), **kwargs.pop("headers", {})}, timeout=30,
                         **kwargs)


def test_results_status_and_listing(live, web_data):
    viewer = web_data[2]["viewer"]
    assert get(live, "/api/results", viewer).json() == [{"id": "flood", "name": "flood", "status": "complete",
                                                         "n_frames": 3}]
    info = get(live, "/api/results/flood", viewer).json()
    assert info["fields"] == ["depth"] and info["time_s"] == [0.0, 600.0, 1200.0]
    assert get(live, "/api/results/nothing", viewer).status_code == 404


def test_field_frame_as_geotiff(live, web_data):
    import rasterio

    from tests.scene.test_frames import GRID, frame_depth

    r = get(live, "/api/results/flood/fields/depth", web_data[2]["viewer"], params={"frame": 2})
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/tiff"
    with rasterio.open(io.BytesIO(r.content)) as src:
        data = src.read(1)
        assert src.transform.c == pytest.approx(GRID.origin[0])
        assert src.transform.f == pytest.approx(GRID.origin[1] + GRID.shape[0] * GRID.cell_size)
    np.testing.assert_allclose(data, np.flipud(frame_depth(2)), atol=1e-6)  # north-up
    assert get(live, "/api/results/flood/fields/depth", web_data[2]["viewer"], params={"frame": 9}).status_code == 404


def test_kpis_and_allocation_of_a_file_without_them(live, web_data):
    viewer = web_data[2]["viewer"]
    assert get(live, "/api/results/flood/kpis", viewer).json()["kpis"] == {}
    alloc = get(live, "/api/results/flood/allocation", viewer, params={"frame": 1}).json()
    assert alloc["frame"] == 1 and alloc["time_s"] == 600.0 and alloc["assignments"] == []


def test_decision_records_the_authenticated_user(live, web_data):
    body = {"what": "send 2 pumps to St Mary", "why": "basement flooding", "results": "flood", "frame_index": 1}
    s = login(live.url, "planner")
    r = s.post(f"{live.url}/api/decisions", json=body, timeout=30)
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["who"] == "planner" and entry["frame_time_s"] == 600.0 and len(entry["hash"]) == 64
    r = post(live, "/api/decisions", web_data[2]["planner"], json={**body, "who": "someone else"})
    assert r.status_code == 400 and "who" in r.json()["error"]
    assert any(d["seq"] == entry["seq"] for d in get(live, "/api/decisions", web_data[2]["viewer"]).json())


def test_viewer_is_refused_every_planner_and_admin_action(live, web_data):
    viewer = web_data[2]["viewer"]
    actions = [("/api/decisions", {"json": {"what": "x", "why": "y", "results": "flood", "frame_index": 0}}),
               ("/api/inventories?name=fire", {"data": INVENTORY_CSV, "headers": {"Content-Type": "text/csv"}}),
               ("/api/runs", {"json": {"scenario": "cloudburst"}}),
               ("/api/users", {"json": {"name": "eve", "role": "admin", "password": "x" * 12}})]
    for path, kwargs in actions:
        r = post(live, path, viewer, **kwargs)
        assert r.status_code == 403, path
    assert get(live, "/api/users", viewer).status_code == 403
    assert requests.delete(f"{live.url}/api/users/admin", headers=bearer(viewer), timeout=30).status_code == 403
    assert post(live, "/api/users", web_data[2]["planner"],
                json={"name": "eve", "role": "admin", "password": "x" * 12}).status_code == 403


def test_inventories_csv_and_json_are_validated_and_stored(live, web_data):
    planner = web_data[2]["planner"]
    r = post(live, "/api/inventories", planner, params={"name": "fire"}, data=INVENTORY_CSV,
             headers={"Content-Type": "text/csv"})
    assert r.status_code == 201, r.text
    assert r.json() == {"id": "fire", "format": "csv", "departments": 1, "depots": 1,
                        "kinds": ["pumps", "sandbag_crews"]}
    bad = post(live, "/api/inventories", planner, params={"name": "fire"}, data=b"department,depot\nx,y\n",
               headers={"Content-Type": "text/csv"})
    assert bad.status_code == 400 and "missing column" in bad.json()["error"]
    inventory = {"departments": [{"id": "ems"}], "depots": [{"id": "d1", "department": "ems",
                                                              "resources": {"ambulances": {"count": 3, "cost_eur": 10}}}]}
    r = post(live, "/api/inventories", planner, params={"name": "ems"}, json=inventory)
    assert r.status_code == 201 and r.json()["kinds"] == ["ambulances"]
    assert {"id": "ems", "format": "json"} in get(live, "/api/inventories", planner).json()


def test_malformed_json_is_one_line_400(live, web_data):
    r = post(live, "/api/decisions", web_data[2]["planner"], data=b'{"what": "x",',
             headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"].startswith("malformed JSON") and "\n" not in r.text


def test_oversized_body_is_413(live, web_data):
    big = b"department,depot,kind,count,cost_eur\n" + b"a,b,pumps,1,1\n" * 400_000  # ~5.6 MB > 4 MiB
    r = post(live, "/api/inventories", web_data[2]["planner"], params={"name": "big"}, data=big,
             headers={"Content-Type": "text/csv"})
    assert r.status_code == 413

    def chunks():  # no Content-Length: the cap holds while reading
        for _ in range(100):
            yield b"x" * 65536

    r = post(live, "/api/inventories", web_data[2]["planner"], params={"name": "big"}, data=chunks(),
             headers={"Content-Type": "text/csv"})
    assert r.status_code == 413


@pytest.mark.parametrize("path", ["/api/results/..%2F..%2Fusers", "/api/results/%2E%2E",
                                  "/api/results/..", "/api/results/.hidden/kpis",
                                  "/api/results/flood%00/kpis"])
def test_path_traversal_is_refused(live, web_data, path):
    r = get(live, path, web_data[2]["viewer"])
    assert r.status_code in (400, 404), r.text
    assert "users" not in r.text or "error" in r.json()


def test_symlinks_under_the_data_root_are_refused(live, web_data, tmp_path):
    import shutil

    root = web_data[0]
    outside = tmp_path / "secret.h5"
    shutil.copyfile(root / "results" / "flood.h5", outside)
    link = root / "results" / "link.h5"
    link.symlink_to(outside)
    try:
        r = get(live, "/api/results/link", web_data[2]["viewer"])
        assert r.status_code == 403 and "symlink" in r.json()["error"]
        assert "link" not in [x["id"] for x in get(live, "/api/results", web_data[2]["viewer"]).json()]
    finally:
        link.unlink()


def test_resolve_under_refuses_escapes(tmp_path):
    from twin3d_server.web.safepaths import UnsafePath, resolve_under

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f.txt").write_text("x")
    (tmp_path / "a" / "up").symlink_to(tmp_path)
    assert resolve_under(tmp_path, "a", "f.txt") == (tmp_path / "a" / "f.txt").resolve()
    for parts in (("..", "etc"), ("a/../../etc",), ("/etc/passwd",), ("a", "up", "a"), ("a\\..",), ("a\x00",)):
        with pytest.raises(UnsafePath):
            resolve_under(tmp_path, *parts)


def test_a_run_is_an_asynchronous_job_with_a_status_url(live, web_data):
    root = web_data[0]
    (root / "scenarios").mkdir(exist_ok=True)
    (root / "scenarios" / "broken.toml").write_text('name = "broken"\nkind = "nonsense"\n')
    planner = web_data[2]["planner"]
    assert post(live, "/api/runs", planner, json={"scenario": "no-such"}).status_code == 404
    r = post(live, "/api/runs", planner, json={"scenario": "broken"})
    assert r.status_code == 202, r.text
    status_url = r.headers["Location"]
    assert status_url == r.json()["status_url"]
    deadline = time.monotonic() + 120
    while (status := get(live, status_url, web_data[2]["viewer"]).json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert status["status"] == "failed" and status["error"]


def test_admin_manages_users(live, web_data):
    admin = web_data[2]["admin"]
    r = post(live, "/api/users", admin, json={"name": "dora", "role": "viewer", "password": "long enough pw"})
    assert r.status_code == 201
    assert {"name": "dora", "role": "viewer"} in get(live, "/api/users", admin).json()
    dora = login(live.url, "dora", "long enough pw")
    assert requests.delete(f"{live.url}/api/users/dora", headers=bearer(admin), timeout=30).status_code == 204
    assert dora.get(f"{live.url}/api/whoami", timeout=30).status_code == 401, "removing a user ends their sessions"


def test_resolve_under_never_leaves_the_root(tmp_path):
    """Property: whatever the untrusted parts, the result is inside the root or refused."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from twin3d_server.web.safepaths import UnsafePath, resolve_under

    root = tmp_path / "root"
    (root / "results").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (root / "results" / "out").symlink_to(tmp_path / "outside")
    part = st.one_of(st.sampled_from(["..", ".", "results", "out", "/", "~", "a/..", "results/../.."]),
                     st.text(min_size=1, max_size=12))

    @settings(max_examples=300, deadline=None)
    @given(st.lists(part, min_size=1, max_size=4))
    def check(parts):
        try:
            path = resolve_under(root, *parts, must_exist=False)
        except (UnsafePath, ValueError, OSError):
            return
        assert path.is_relative_to(root.resolve())
        assert "outside" not in path.parts

    check()


def test_field_names_are_checked_before_the_file_is_read(live, web_data):
    r = get(live, "/api/results/flood/fields/..%2Fkpi", web_data[2]["viewer"])
    assert r.status_code in (400, 404)
    r = get(live, "/api/results/flood/fields/Depth", web_data[2]["viewer"])
    assert r.status_code == 400 and "invalid field" in r.json()["error"]
