"""The decision log: round trip, hash chain by hand, tampering, concurrent appends, CSV, bad input."""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
import re
import sqlite3

import numpy as np
import pytest

from twin3d.errors import InputError
from twin3d.mis.decisions import (
    COLUMNS,
    GENESIS_HASH,
    Decision,
    DecisionLog,
    canonical_json,
    default_log_path,
)

SCENARIO = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def decision(k: int = 1, **changes) -> dict:
    entry = {"who": "Incident commander", "what": f"send {k} pumps to St Mary",
             "why": "hospital basement flooding", "scenario_hash": SCENARIO, "frame_index": 10 + k,
             "frame_time_s": 600.0 * (10 + k), "allocation": {"pumps": k, "depot": "fire-north"},
             "kpis": {"flooded_buildings": 40 + k, "people_without_power": 1250.5}}
    entry.update(changes)
    return entry


@pytest.fixture
def log(tmp_path) -> DecisionLog:
    log = DecisionLog(tmp_path / "data" / "decisions.sqlite")
    for k in range(1, 6):
        log.append(decision(k))
    return log


def raw(log: DecisionLog) -> sqlite3.Connection:
    """A raw connection with the append-only triggers dropped, as a tamperer would."""
    conn = sqlite3.connect(log.path, isolation_level=None)
    conn.execute("DROP TRIGGER decisions_no_update")
    conn.execute("DROP TRIGGER decisions_no_delete")
    return conn


def test_append_and_read_round_trip(tmp_path):
    log = DecisionLog(tmp_path / "new" / "decisions.sqlite")
    assert log.entries() == [] and len(log) == 0 and not log.path.exists()  # reading creates nothing
    first = log.append(decision(1))
    second = log.append(Decision(**decision(2, allocation=None, kpis=None, frame_time_s=None)))
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.hash
    assert log.entries() == [first, second]
    assert log.entries()[0].content() == decision(1)
    assert second.allocation is None and second.frame_time_s is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", first.timestamp_utc)
    assert first.timestamp_utc <= second.timestamp_utc
    assert len(log) == 2 and log.verify().ok


def test_hash_is_sha256_of_prev_hash_and_canonical_json(tmp_path):
    log = DecisionLog(tmp_path / "decisions.sqlite")
    d = log.append({"who": "Müller", "what": "evacuate block 7", "why": "water 1.2 m and rising",
                    "scenario_hash": "AB12", "frame_index": np.int64(12), "frame_time_s": np.float32(0.1),
                    "allocation": {"buses": 3, "to": ["hall", "school"]}, "kpis": {"depth_m": 1e-7}})
    canonical = ('{"allocation":{"buses":3,"to":["hall","school"]},"frame_index":12,'
                 '"frame_time_s":0.10000000149011612,"kpis":{"depth_m":1e-07},"scenario_hash":"ab12",'
                 f'"seq":1,"timestamp_utc":"{d.timestamp_utc}","what":"evacuate block 7",'
                 '"who":"Müller","why":"water 1.2 m and rising"}')
    assert d.hash == hashlib.sha256(("0" * 64 + canonical).encode("utf-8")).hexdigest()
    assert canonical_json({"b": 0.1 + 0.2, "a": np.arange(2)}) == '{"a":[0,1],"b":0.30000000000000004}'


def test_triggers_refuse_update_and_delete(log):
    with sqlite3.connect(log.path) as conn:
        for statement in ("UPDATE decisions SET why = 'x' WHERE seq = 2", "DELETE FROM decisions WHERE seq = 5"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(statement)
    assert len(log) == 5 and log.verify().ok


def rehash_entry_3(conn, log):
    """Edit entry 3 and give it a correct hash of its new content: entry 4 then breaks."""
    from twin3d.mis.decisions import entry_hash

    d = log.entries()[2]
    content = {**d.content(), "why": "forged"}
    conn.execute("UPDATE decisions SET why = 'forged', hash = ? WHERE seq = 3",
                 (entry_hash(d.prev_hash, 3, d.timestamp_utc, content),))


TAMPERING = {
    "edit text": (lambda c, log: c.execute("UPDATE decisions SET what = 'send 0 pumps' WHERE seq = 3"),
                  3, "hash does not match"),
    "edit number": (lambda c, log: c.execute("UPDATE decisions SET frame_time_s = 7800.5 WHERE seq = 2"),
                    2, "hash does not match"),
    "edit json": (lambda c, log: c.execute("""UPDATE decisions SET kpis = '{"flooded_buildings":0}'
                                              WHERE seq = 4"""), 4, "hash does not match"),
    "delete row": (lambda c, log: c.execute("DELETE FROM decisions WHERE seq = 3"), 3, "entry 3 is missing"),
    "delete tail": (lambda c, log: c.execute("DELETE FROM decisions WHERE seq = 5"), 5, "tail was deleted"),
    "reorder": (lambda c, log: c.executescript("""UPDATE decisions SET seq = -2 WHERE seq = 2;
                                                  UPDATE decisions SET seq = 2 WHERE seq = 4;
                                                  UPDATE decisions SET seq = 4 WHERE seq = -2;"""),
                2, "prev_hash does not match"),
    "rehash edited row": (rehash_entry_3, 4, "prev_hash does not match the hash of entry 3"),
}


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_tampering_is_detected_at_the_first_bad_entry(log, tamper):
    edit, first_bad, reason = tamper
    conn = raw(log)
    edit(conn, log)
    conn.close()
    result = log.verify()
    assert not result.ok
    assert result.first_bad_seq == first_bad
    assert reason in result.reason
    assert result.n_entries == first_bad - 1


def test_append_after_a_deleted_tail_still_shows_the_gap(log):
    conn = raw(log)
    conn.execute("DELETE FROM decisions WHERE seq = 5")
    conn.close()
    assert log.append(decision(6)).seq == 6  # the counter remembers entry 5 was there
    result = log.verify()
    assert (result.ok, result.first_bad_seq, result.reason) == (
        False, 5, "entry 5 is missing (the next entry is 6)")


def append_many(path: str, worker: int, n: int, start) -> None:
    start.wait()
    log = DecisionLog(path)
    for i in range(n):
        log.append(decision(i, who=f"worker {worker}", what=f"step {i}"))


def test_concurrent_appends_from_four_processes_form_one_chain(tmp_path):
    path = str(tmp_path / "decisions.sqlite")  # created by the racing writers themselves
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    workers = [ctx.Process(target=append_many, args=(path, w, 25, start)) for w in range(4)]
    for p in workers:
        p.start()
    start.set()
    for p in workers:
        p.join(timeout=120)
    assert [p.exitcode for p in workers] == [0, 0, 0, 0]
    log = DecisionLog(path)
    entries = log.entries()
    assert [d.seq for d in entries] == list(range(1, 101))
    result = log.verify()
    assert (result.ok, result.n_entries, result.head_hash) == (True, 100, entries[-1].hash)
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:]))
    for w in range(4):  # each writer's entries are all there, in the order it wrote them
        steps = [d.what for d in entries if d.who == f"worker {w}"]
        assert steps == [f"step {i}" for i in range(25)]
    interleaved = sum(a.who != b.who for a, b in zip(entries, entries[1:]))
    assert interleaved >= 3
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_export_csv(log, tmp_path):
    out = tmp_path / "exports" / "decisions.csv"
    assert log.export_csv(out) == 5
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(COLUMNS)
    entries = log.entries()
    assert [int(r["seq"]) for r in rows] == [1, 2, 3, 4, 5]
    assert [r["hash"] for r in rows] == [d.hash for d in entries]
    assert json.loads(rows[2]["allocation"]) == {"pumps": 3, "depot": "fire-north"}
    assert float(rows[2]["frame_time_s"]) == pytest.approx(7800.0, abs=0)
    assert rows[4]["kpis"] == '{"flooded_buildings":45,"people_without_power":1250.5}'
    assert sorted(p.name for p in out.parent.iterdir()) == ["decisions.csv"]  # no temporary left


BAD_ENTRIES = {
    "missing who": ({"who": None}, "missing required field(s) ['who']"),
    "missing frame": ({"frame_index": None}, "missing required field(s) ['frame_index']"),
    "blank what": ({"what": "  "}, "'what' must be a non-empty string"),
    "why not text": ({"why": 3}, "'why' must be a non-empty string"),
    "negative frame": ({"frame_index": -1}, "'frame_index' must be finite and not negative"),
    "frame as text": ({"frame_index": "3"}, "'frame_index' must be an integer"),
    "fractional frame": ({"frame_index": 2.5}, "'frame_index' must be an integer"),
    "nan time": ({"frame_time_s": float("nan")}, "'frame_time_s' must be finite"),
    "nan in kpis": ({"kpis": {"x": float("inf")}}, "'kpis' is not JSON"),
    "set allocation": ({"allocation": {1, 2}}, "'allocation' is not JSON"),
    "hash not hex": ({"scenario_hash": "river-flood"}, "scenario_hash must be a hex content hash"),
    "unknown field": ({"frame": 3}, "unknown decision field(s) ['frame']"),
}


@pytest.mark.parametrize("change", BAD_ENTRIES.values(), ids=BAD_ENTRIES.keys())
def test_bad_entries_raise_input_error(log, change):
    fields, message = change
    with pytest.raises(InputError, match=re.escape(message)) as err:
        log.append(decision(6, **fields))
    assert err.value.path == str(log.path)
    assert len(log) == 5


def test_not_a_dict_raises_input_error(log):
    with pytest.raises(InputError, match="must be a dict or Decision"):
        log.append([("who", "me")])


def test_files_that_are_not_a_decision_log(tmp_path):
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database at all" * 100)
    for path, reason in [(other, "not a twin3d decision log"), (garbage, "file is not a database"),
                         (tmp_path, "cannot open the decision log")]:
        with pytest.raises(InputError, match=reason):
            DecisionLog(path)


def test_default_log_path(tmp_path):
    assert default_log_path({"TWIN3D_DATA_DIR": str(tmp_path)}) == tmp_path / "decisions.sqlite"
    config = tmp_path / "twin3d.toml"
    config.write_text(f'data_dir = "{tmp_path / "shared"}"\n')
    assert default_log_path({"TWIN3D_CONFIG": str(config)}) == tmp_path / "shared" / "decisions.sqlite"
