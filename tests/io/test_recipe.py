"""City recipes: the default city, assembling sources, joining tables, and rejecting bad recipes."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import data_path
from twin3d.config import asset
from twin3d.errors import InputError
from twin3d.io import read
from twin3d.io.recipe import build_city
from twin3d.model.generate import generate_city

BAG = ("cityjson", "3dbag", "cjseq_3dbag_b2.city.json")
BAG_SEQ = ("cityjson", "3dbag", "cjseq_3dbag_b2.city.jsonl")
NEWCASTLE = ("dem", "newcastle_2m", "topography", "NewcastleCentreDEM_2m.img")
NET1 = ("networks", "water_epanet", "Net1.inp")
OBERRHEIN = ("networks", "power_pandapower", "mv_oberrhein.json")


def _recipe(tmp_path: Path, text: str, csv: str | None = None) -> Path:
    if csv is not None:
        (tmp_path / "table.csv").write_text(csv, encoding="utf-8")
    path = tmp_path / "city.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_recipe_builds_the_generated_city():
    city = build_city(asset("cities", "default.toml"))
    assert city.equals(generate_city(3000, 0))
    assert city.name == "Riverton" and city.crs == "EPSG:25832"


def test_registry_reads_recipes(tmp_path):
    path = _recipe(tmp_path, 'name = "Small"\n[generate]\nbuildings = 200\nseed = 5\n')
    city = read(path)
    assert city.name == "Small" and len(city.buildings) == 200
    assert city.equals(generate_city(200, 5, name="Small"))


def test_join_csv_onto_generated_city(tmp_path):
    base = generate_city(200, 1)
    ids = base.buildings.table["id"]
    home = int(np.flatnonzero(base.buildings.table["use"] == "residential")[0])
    csv = ("bid;people;function;elderly;floors\n"
           f"{ids[0]};42;;0.3;\n"
           f"{ids[home]};;hospital;;6\n"
           "nope-1;5;;;\n")
    path = _recipe(tmp_path, '[generate]\nbuildings = 200\nseed = 1\n'
                             '[attributes]\npath = "table.csv"\nid = "bid"\ndelimiter = ";"\n'
                             'columns = { population = "people", use = "function", '
                             'elderly_share = "elderly", storeys = "floors" }\n', csv)
    with pytest.warns(UserWarning, match="1 of 3 ids"):
        city = build_city(path)
    t = city.buildings.table
    assert t["population"][0] == 42.0 and not t["population_estimated"][0]
    assert t["elderly_share"][0] == 0.3
    assert t["use"][home] == "hospital" and t["storeys"][home] == 6
    # the new hospital's beds and occupants are estimated for its new use and storeys
    floor = t["footprint_area"][home] * 6
    assert t["capacity"][home] == np.floor(floor * 1.11 / 100)
    assert t["population"][home] == pytest.approx(floor * 3.0 / 100) and t["population_estimated"][home]
    others = np.setdiff1d(np.arange(200), [0, home])
    assert np.array_equal(t["population"][others], base.buildings.table["population"][others])


def test_join_csv_onto_3dbag_buildings(tmp_path):
    source = data_path(*BAG)
    ids = read(source).buildings.table["id"]
    csv = f"identificatie,inwoners,waarde\n{ids[0]},7,350000\n{ids[1]},,\n"
    path = _recipe(tmp_path, f'name = "bag"\ncrs = "EPSG:7415"\n[[buildings]]\npath = "{source}"\n'
                             '[attributes]\npath = "table.csv"\nid = "identificatie"\n'
                             'columns = { population = "inwoners", replacement_value = "waarde" }\n', csv)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every id is known: no warning
        city = build_city(path)
    t = city.buildings.table
    assert city.crs == "EPSG:7415" and len(city.buildings) == 2
    assert t["population"][0] == 7.0 and t["replacement_value"][0] == 350000.0
    assert not t["value_estimated"][0] and t["value_estimated"][1] and t["population_estimated"][1]


def test_sources_concatenated_with_terrain_and_networks(tmp_path):
    bag, seq = data_path(*BAG), data_path(*BAG_SEQ)
    net1 = data_path(*NET1)
    path = _recipe(tmp_path, f'[[buildings]]\npath = "{bag}"\n[[buildings]]\npath = "{seq}"\nlod = "2.2"\n'
                             f'[[networks]]\nkind = "water"\npath = "{net1}"\n')
    city = build_city(path)
    one = read(bag)
    assert len(city.buildings) == 2 * len(one.buildings)
    assert city.buildings.mesh.n_triangles > one.buildings.mesh.n_triangles
    assert city.networks["water"].n_nodes == read(net1).networks["water"].n_nodes
    assert city.crs == "EPSG:7415" and city.name == "city"


def test_terrain_source(tmp_path):
    dem = data_path(*NEWCASTLE)
    city = build_city(_recipe(tmp_path, f'crs = "EPSG:27700"\n[terrain]\npath = "{dem}"\n'))
    assert city.terrain.grid.shape == (195, 342) and city.terrain.grid.cell_size == 2.0
    assert city.crs == "EPSG:27700"


def test_power_network_transformed_to_recipe_crs(tmp_path):
    grid = data_path(*OBERRHEIN)
    city = build_city(_recipe(tmp_path, f'crs = "EPSG:25832"\n[[networks]]\nkind = "power"\npath = "{grid}"\n'))
    xy = city.networks["power"].node_xyz[:, :2]
    xy = xy[np.isfinite(xy).all(axis=1)]
    assert np.all((xy[:, 0] > 300_000) & (xy[:, 0] < 600_000) & (xy[:, 1] > 5_000_000) & (xy[:, 1] < 6_000_000))


def test_crs_mismatch_rejected(tmp_path):
    path = _recipe(tmp_path, f'crs = "EPSG:25832"\n[[buildings]]\npath = "{data_path(*BAG)}"\n')
    with pytest.raises(InputError, match=r"buildings\[0\]: CRS EPSG:7415 differs from EPSG:25832; reprojection"):
        build_city(path)


BAD_RECIPES = [
    ('colour = "red"\n', "colour: unknown key"),
    ('name = 3\n[generate]\n', "name: must be a string"),
    ('[generate]\nseed = "x"\n', "generate.seed: must be an integer"),
    ('[generate]\nbuildings = 10\n', "generate: n_buildings must be an integer of at least 200"),
    ('[generate]\nsize = 10\n', "generate.size: unknown key"),
    ('[generate]\n[terrain]\npath = "dem.tif"\n', "generate: cannot be combined with terrain"),
    ('[[buildings]]\npath = "missing.json"\n', r"buildings\[0\].path: no such file"),
    ('[[buildings]]\nlod = "2.2"\n', r"buildings\[0\].path: missing"),
    ('buildings = "a.json"\n', "buildings: must be an array"),
    ('[[networks]]\nkind = "gas"\npath = "x.inp"\n', r"networks\[0\].kind: must be one of"),
    ('[generate]\nbuildings = 200\n[attributes]\npath = "table.csv"\nid = "id"\ncolumns = { height = "h" }\nsep = ";"\n',
     "attributes.sep: unknown key"),
    ('[generate]\nbuildings = 200\n[attributes]\npath = "table.csv"\nid = "id"\ncolumns = { colour = "h" }\n',
     "attributes.columns.colour: not a building table column"),
    ('[generate]\nbuildings = 200\n[attributes]\npath = "table.csv"\nid = "key"\ncolumns = { height = "h" }\n',
     "attributes.id: no column 'key'"),
    ('name = "unterminated\n', "not valid TOML"),
]


@pytest.mark.parametrize("text, message", BAD_RECIPES, ids=[m for _, m in BAD_RECIPES])
def test_bad_recipes_name_the_key(tmp_path, text, message):
    path = _recipe(tmp_path, text, csv="id,h\nbldg-000001,12\n")
    with pytest.raises(InputError, match=message) as err:
        build_city(path)
    assert err.value.path == str(path)


def test_reader_option_checked(tmp_path):
    path = _recipe(tmp_path, f'[[buildings]]\npath = "{data_path(*BAG)}"\nlevel = 2\n')
    with pytest.raises(InputError, match=r"buildings\[0\].level: not an option of read_cityjson \(options: lod\)"):
        build_city(path)


def test_bad_csv_value_names_line(tmp_path):
    path = _recipe(tmp_path, '[generate]\nbuildings = 200\n[attributes]\npath = "table.csv"\nid = "id"\n'
                             'columns = { height = "h" }\n', csv="id,h\nbldg-000001,12\nbldg-000002,tall\n")
    with pytest.raises(InputError, match="line 3: column 'h': cannot read 'tall' as float64") as err:
        build_city(path)
    assert err.value.path.endswith("table.csv")


def test_empty_recipe_file_rejected(tmp_path):
    path = tmp_path / "empty.toml"
    path.write_text("")
    with pytest.raises(InputError, match="empty"):
        build_city(path)
