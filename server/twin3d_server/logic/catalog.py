"""The scenario catalogue: what the scenario picker offers, and which results are active."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from trame_server.utils.typed_state import TypedState

from twin3d.errors import InputError


@dataclass
class CatalogState:
    scenarios: list[dict] = field(default_factory=list)  # {value, title, status}
    scenario_id: str = ""


def split_targets(targets) -> tuple[str | None, list]:
    """Split ``twin3d serve`` arguments into the city spec and the catalogue's entries
    (results files and scenario files).  A results file alone names its own city."""
    from twin3d.scenario.results import is_results_file

    city, entries = None, []
    for target in targets or ():
        path = Path(target)
        if is_results_file(path) or (path.suffix == ".toml" and _is_scenario(path)):
            entries.append(path)
        elif city is None:
            city = str(target)
        else:
            raise InputError(path, f"a second city (already serving {city}); give one city")
    if city is None and entries and is_results_file(entries[0]):
        city = _results_city(entries[0])
    return city, entries


def _is_scenario(path: Path) -> bool:
    from twin3d.scenario.spec import load_raw

    try:
        raw = load_raw(path)
    except InputError:
        return False
    return "hazards" in raw or "kind" in raw


def _results_city(path: Path) -> str | None:
    import h5py

    with h5py.File(path, "r", libver="latest", swmr=True) as f:
        value = f.attrs.get("city_path", "")
    value = value.decode() if isinstance(value, bytes) else str(value)
    return value or None


class CatalogLogic:
    """Offers results files (open ``ResultsFile`` objects or paths) and makes the chosen
    one the active results."""

    def __init__(self, ctx, targets=()):
        from twin3d.scenario.results import ResultsFile

        self.ctx = ctx
        self.typed = TypedState(ctx.state, CatalogState)
        self.data = self.typed.data
        self.open = {}
        entries = []
        for i, target in enumerate(targets):
            results = target if isinstance(target, ResultsFile) else ResultsFile(target)
            key = f"s{i}"
            self.open[key] = results
            name = results.file.attrs.get("name", results.path.stem)
            name = name.decode() if isinstance(name, bytes) else str(name)
            entries.append({"value": key, "title": name, "status": "complete" if results.complete else "running"})
        self.data.scenarios = entries
        self.typed.bind_changes({self.typed.name.scenario_id: self.select})
        if entries:
            self.data.scenario_id = entries[0]["value"]
            self.select(entries[0]["value"])

    def select(self, scenario_id) -> None:
        results = self.open.get(scenario_id)
        if results is not None and results is not self.ctx.results:
            self.ctx.set_results(results)
