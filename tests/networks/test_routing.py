"""Road travel times against hand-computed shortest paths, and responder times per building."""

from __future__ import annotations

import numpy as np
import pytest

from tests.networks import city, network
from twin3d.errors import InputError
from twin3d.networks.cascade import Cascade
from twin3d.networks.routing import RoadRouter, building_road_nodes, response_times_min

# 0 -1000 m street- 1 -1000 m arterial- 2,  0 -500 m street- 3 -2000 m arterial- 2
# street 30 km/h = 0.5 km/min, arterial 50 km/h = 5/6 km/min
EDGES = [[0, 1], [1, 2], [0, 3], [3, 2]]
KINDS = ["street", "arterial", "street", "arterial"]
LENGTHS = [1000.0, 1000.0, 500.0, 2000.0]
XY = [[0, 0], [1000, 0], [1000, 1000], [0, 500]]
# edge minutes: 2.0, 1.2, 1.0, 2.4


def square() -> RoadRouter:
    return RoadRouter(network("road", XY, ["intersection"] * 4, EDGES, KINDS, edge_length=LENGTHS))


def test_travel_times_from_two_sources():
    t = square().travel_times_min([0, 2])
    np.testing.assert_allclose(t, [[0.0, 2.0, 3.2, 1.0],      # 0->2 via 1: 2.0 + 1.2
                                   [3.2, 1.2, 0.0, 2.4]], atol=1e-12)


def test_one_closed_edge_reroutes():
    closed = np.array([False, True, False, False])  # 1-2 closed: 0->2 via 3 = 1.0 + 2.4
    t = square().travel_times_min([0], closed)
    np.testing.assert_allclose(t, [[0.0, 2.0, 3.4, 1.0]], atol=1e-12)
    t = square().travel_times_min([1], closed)     # 1->2 now 2.0 + 1.0 + 2.4
    np.testing.assert_allclose(t, [[2.0, 0.0, 5.4, 3.0]], atol=1e-12)


def test_cut_off_nodes_are_unreachable():
    t = square().travel_times_min([0], np.array([True, False, False, True]))
    assert t[0].tolist() == [0.0, np.inf, np.inf, 1.0]


def test_custom_speeds_and_nearest_source():
    router = RoadRouter(network("road", XY, ["n"] * 4, EDGES, KINDS, edge_length=LENGTHS),
                        {"street": 60.0, "arterial": 60.0})
    np.testing.assert_allclose(router.edge_minutes, [1.0, 1.0, 0.5, 2.0], atol=1e-12)
    # node 0: min(1.0 from node 1, 0.5 from node 3); node 2: min(1.0 from 1, 2.0 from 3)
    np.testing.assert_allclose(router.nearest_times_min([1, 3]), [0.5, 0.0, 1.0, 0.0], atol=1e-12)


def test_parallel_edges_take_the_faster():
    net = network("road", [[0, 0], [1000, 0]], ["n"] * 2, [[0, 1], [1, 0]], ["street", "arterial"],
                  edge_length=[1000.0, 1000.0])
    router = RoadRouter(net)
    np.testing.assert_allclose(router.travel_times_min([0]), [[0.0, 1.2]], atol=1e-12)
    np.testing.assert_allclose(router.travel_times_min([0], np.array([False, True])), [[0.0, 2.0]], atol=1e-12)


@pytest.mark.parametrize("call, reason", [
    (lambda: RoadRouter(square().network, {"street": 0.0}), "positive number"),
    (lambda: square().travel_times_min([4]), "out of range"),
    (lambda: square().travel_times_min([0], np.zeros(3, bool)), "3 entries for 4 road edges"),
])
def test_bad_arguments_raise_input_error(call, reason):
    with pytest.raises(InputError, match=reason):
        call()


def responder_city(with_rows: bool = True):
    net = network("road", XY, ["intersection"] * 4, EDGES, KINDS, edge_length=LENGTHS)
    uses = ["fire_station", "residential", "hospital", "shelter"]
    rows = [("buildings", b, "road", b) for b in range(4)] if with_rows else []
    return city(uses, np.asarray(XY, dtype=float) + [3.0, 4.0], {"road": net}, rows)


def test_response_times_per_building():
    c = responder_city()
    router = RoadRouter(c.networks["road"])
    np.testing.assert_allclose(response_times_min(c, router), [0.0, 2.0, 3.2, 1.0], atol=1e-12)
    closed = np.array([False, True, False, False])
    np.testing.assert_allclose(response_times_min(c, router, closed), [0.0, 2.0, 3.4, 1.0], atol=1e-12)
    # a depot at node 2 as an extra source
    np.testing.assert_allclose(response_times_min(c, router, closed, extra_source_nodes=[2]),
                               [0.0, 2.0, 0.0, 1.0], atol=1e-12)
    assert np.isinf(response_times_min(c, router, from_uses=("police",))).all()


def test_buildings_map_to_the_nearest_road_node_without_rows():
    c = responder_city(with_rows=False)
    assert building_road_nodes(c).tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(response_times_min(c, RoadRouter(c.networks["road"])), [0.0, 2.0, 3.2, 1.0])


def test_default_city_response_times_grow_with_flooding():
    from twin3d.io.default_city import load_city

    c = load_city(None)[0]
    router, cascade = RoadRouter(c.networks["road"]), Cascade(c)
    z = c.terrain.elevation
    means = []
    for rise in (0.0, 8.0):
        depth = np.clip(np.nanmin(z) + rise - np.nan_to_num(z, nan=np.inf), 0.0, None)
        closed = cascade.frame(depth, c.terrain.grid).road_closed_edges()
        minutes = response_times_min(c, router, closed)
        means.append((np.isfinite(minutes).mean(), np.nanmean(np.where(np.isfinite(minutes), minutes, np.nan))))
    (reach_dry, mean_dry), (reach_wet, _) = means
    assert reach_dry == 1.0                  # every building is reachable in a dry city
    assert 0.5 < mean_dry < 10.0             # a few minutes at 30-50 km/h across a ~3 km town
    assert reach_wet < reach_dry             # flooded streets cut some buildings off
