"""The HDF5 city store round-trips a City exactly."""

from __future__ import annotations

import numpy as np
import pytest

from tests.model.test_buildings import box_mesh
from twin3d.errors import InputError
from twin3d.io import read, write
from twin3d.model import (
    Buildings,
    City,
    ContextLayer,
    Dependencies,
    Grid,
    Mesh,
    Network,
    Terrain,
    complete_table,
)


def national_grid_city() -> City:
    mesh = Mesh.concat([box_mesh(85_000.123, 447_000.456, 10, 20, 0.5, 9, 0),
                        box_mesh(85_100.001, 447_010.009, 5, 5, 0.7, 30, 0)], [0, 1])
    b = complete_table(Buildings(mesh, {"id": np.array(["NL.1", "NL.2"], dtype=object),
                                        "use": np.array(["school", "hospital"], dtype=object)},
                                 [{"bouwjaar": 1970, "naam": "Zuid é"}, {}]))
    terrain = Terrain(Grid((84_990.0, 446_990.0), 2.0, (30, 80)),
                      np.where(np.eye(30, 80) > 0, np.nan, 1.25), nodata=-9999.0)
    power = Network("power", ["s", "f"], [[85_000, 447_000, 0], [85_030, 447_040, 0]],
                    ["substation", "feeder"], [[0, 1]], ["l"], ["line"], edge_capacity=[10.0])
    deps = Dependencies(["buildings", "buildings"], [0, 1], ["power", "power"], [1, 1])
    roads = ContextLayer("roads", box_mesh(85_000, 447_000, 100, 6, 0, 0.1, 0), ["r1"], ["Road"])
    return City("Delft-ish", "EPSG:7415", b, terrain, {"power": power}, deps, {"roads": roads},
                metadata={"source": "test"})


def test_store_round_trips_exactly(tmp_path):
    city = national_grid_city()
    path = tmp_path / "city.h5"
    write(city, path)
    again = read(path)
    assert again.equals(city)
    assert again.buildings.mesh.vertices.dtype == np.float64
    assert again.buildings.mesh.vertices[0, 0] == 85_000.123
    assert again.summary() == city.summary()


def test_store_rejects_other_hdf5(tmp_path):
    import h5py

    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = 1
    with pytest.raises(InputError, match="not a twin3d city store"):
        read(path)
    (tmp_path / "junk.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(InputError, match="not a readable HDF5"):
        read(tmp_path / "junk.h5")
