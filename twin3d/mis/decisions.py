"""The decision log: an append-only, hash-chained SQLite record of who decided what, and why.

Each entry records a decision on a scenario (by its content hash) at one frame (index and
time): who took it, what it was, why, the allocation chosen (JSON), the KPI snapshot at
that moment (JSON) and a UTC timestamp.  Entry ``k`` carries
``hash_k = sha256(hash_{k-1} + canonical_json(content_k))`` with ``hash_0 = "0" * 64``, so
editing, deleting or reordering any entry breaks the chain from that entry on, and
:meth:`DecisionLog.verify` names the first bad one.  The format is documented in
docs/decision-log.md.

Several processes may append at once: the database is in WAL mode, each entry is one
``BEGIN IMMEDIATE`` transaction (the chain head is read under the write lock) and a busy
timeout makes writers wait for each other.  Triggers refuse UPDATE and DELETE.

Examples
--------
>>> import tempfile, pathlib
>>> log = DecisionLog(pathlib.Path(tempfile.mkdtemp()) / "decisions.sqlite")
>>> d = log.append({"who": "Incident commander", "what": "send 2 pumps to St Mary",
...                 "why": "hospital basement flooding", "scenario_hash": "ab12", "frame_index": 12,
...                 "frame_time_s": 3600.0, "allocation": {"pumps": 2}, "kpis": {"flooded": 41}})
>>> d.seq, len(d.hash), log.verify().ok
(1, 64, True)
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import math
import os
import re
import sqlite3
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from twin3d.errors import InputError

GENESIS_HASH = "0" * 64
APPLICATION_ID = 0x74334444  # "t3DD" in the SQLite header: a twin3d decision log
FORMAT_VERSION = 1
REQUIRED = ("who", "what", "why", "scenario_hash", "frame_index")
CONTENT = (*REQUIRED, "frame_time_s", "allocation", "kpis")
ASSIGNED = ("seq", "timestamp_utc", "prev_hash", "hash")  # set by the log, never by the caller
COLUMNS = ("seq", "timestamp_utc", *CONTENT, "prev_hash", "hash")
_HEX = re.compile(r"[0-9a-f]+")

_SCHEMA = (  # one statement each: executescript() would commit the open BEGIN IMMEDIATE
    """CREATE TABLE IF NOT EXISTS decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp_utc TEXT NOT NULL,
    who TEXT NOT NULL,
    what TEXT NOT NULL,
    why TEXT NOT NULL,
    scenario_hash TEXT NOT NULL,
    frame_index INTEGER NOT NULL,
    frame_time_s REAL,
    allocation TEXT NOT NULL,
    kpis TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
) STRICT""",
    """CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions
    BEGIN SELECT RAISE(ABORT, 'the decision log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions
    BEGIN SELECT RAISE(ABORT, 'the decision log is append-only'); END""",
    f"PRAGMA application_id = {APPLICATION_ID}",
    f"PRAGMA user_version = {FORMAT_VERSION}",
)


@dataclass(frozen=True, kw_only=True)
class Decision:
    """One decision.  ``seq``, ``timestamp_utc``, ``prev_hash`` and ``hash`` are set by the log.

    ``allocation`` and ``kpis`` are any JSON values (``None`` when not given);
    ``frame_time_s`` is the frame's simulated time in seconds since the scenario start.
    """

    who: str | None = None
    what: str | None = None
    why: str | None = None
    scenario_hash: str | None = None
    frame_index: int | None = None
    frame_time_s: float | None = None
    allocation: Any = None
    kpis: Any = None
    seq: int | None = None
    timestamp_utc: str | None = None
    prev_hash: str | None = None
    hash: str | None = None

    def content(self) -> dict:
        """The fields that the hash covers, besides ``seq`` and ``timestamp_utc``."""
        return {name: getattr(self, name) for name in CONTENT}


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :meth:`DecisionLog.verify`.

    ``first_bad_seq`` is the sequence number of the first entry that is missing or does
    not match (``None`` when intact); ``head_hash`` is the hash of the last entry, which
    can be recorded elsewhere to detect a truncated or rewritten log later.
    """

    ok: bool
    first_bad_seq: int | None
    reason: str
    n_entries: int
    head_hash: str


def _jsonable(value: Any) -> Any:
    """JSON form of numpy scalars and arrays (anything with ``tolist``)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def canonical_json(value: Any) -> str:
    """Canonical JSON: sorted keys, no whitespace, UTF-8 text, floats via ``repr``, no NaN.

    Raises ``TypeError`` or ``ValueError`` for values that JSON cannot hold.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False, default=_jsonable)


def entry_hash(prev_hash: str, seq: int, timestamp_utc: str, content: dict) -> str:
    """``sha256(prev_hash + canonical_json(entry))`` as hex, the entry being content + seq + time."""
    entry = {**content, "seq": seq, "timestamp_utc": timestamp_utc}
    return hashlib.sha256((prev_hash + canonical_json(entry)).encode("utf-8")).hexdigest()


def data_dir(environ: dict[str, str] | None = None) -> Path:
    """Where twin3d keeps data that is not a cache: the ``data_dir`` setting (``TWIN3D_DATA_DIR``)."""
    from twin3d.config import load_settings

    return Path(load_settings(environ).data_dir)


def default_log_path(environ: dict[str, str] | None = None) -> Path:
    """The decision log used when no path is given: ``data_dir() / "decisions.sqlite"``."""
    return data_dir(environ) / "decisions.sqlite"


def _text(entry: dict, name: str, path: Path) -> str:
    value = entry[name]
    if not isinstance(value, str) or not value.strip():
        raise InputError(path, f"decision field {name!r} must be a non-empty string, got {value!r}")
    return value


def _number(entry: dict, name: str, path: Path, *, integer: bool) -> int | float | None:
    value = entry.get(name)
    if value is None and not integer:
        return None
    try:
        if isinstance(value, bool) or isinstance(value, str):
            raise TypeError
        number = int(value.__index__()) if integer else float(value)
    except (TypeError, ValueError, AttributeError):
        kind = "an integer" if integer else "a number of seconds"
        raise InputError(path, f"decision field {name!r} must be {kind}, got {value!r}") from None
    if not math.isfinite(number) or (integer and number < 0):
        raise InputError(path, f"decision field {name!r} must be finite and not negative, got {value!r}")
    return number


def _json_field(entry: dict, name: str, path: Path) -> Any:
    try:
        return json.loads(canonical_json(entry.get(name)))
    except (TypeError, ValueError) as exc:
        raise InputError(path, f"decision field {name!r} is not JSON: {exc}") from None


def validate_entry(entry: dict | Decision, path: str | os.PathLike | None = None) -> dict:
    """Check a decision's content; return it with normalised types (the hashed form).

    Raises InputError naming the missing, unknown or malformed field.
    """
    path = Path(path) if path is not None else None
    if isinstance(entry, Decision):
        entry = entry.content()
    elif not isinstance(entry, dict):
        raise InputError(path, f"a decision must be a dict or Decision, got {type(entry).__name__}")
    unknown = sorted(set(entry) - set(CONTENT) - set(ASSIGNED))
    if unknown:
        raise InputError(path, f"unknown decision field(s) {unknown}; known: {list(CONTENT)}")
    missing = [name for name in REQUIRED if entry.get(name) is None]
    if missing:
        raise InputError(path, f"decision is missing required field(s) {missing}")
    content = {name: _text(entry, name, path) for name in ("who", "what", "why")}
    scenario_hash = _text(entry, "scenario_hash", path).strip().lower()
    if not _HEX.fullmatch(scenario_hash):
        raise InputError(path, f"scenario_hash must be a hex content hash, got {entry['scenario_hash']!r}")
    content["scenario_hash"] = scenario_hash
    content["frame_index"] = _number(entry, "frame_index", path, integer=True)
    content["frame_time_s"] = _number(entry, "frame_time_s", path, integer=False)
    content["allocation"] = _json_field(entry, "allocation", path)
    content["kpis"] = _json_field(entry, "kpis", path)
    return content


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class DecisionLog:
    """An append-only, hash-chained decision log in one SQLite file.

    Parameters
    ----------
    path
        The log file; default :func:`default_log_path`.  Created (with its folder) on the
        first :meth:`append`; reading a log that does not exist yet gives no entries.
    busy_timeout_s
        How long a writer waits for another process's transaction before giving up.
    """

    def __init__(self, path: str | os.PathLike | None = None, *, busy_timeout_s: float = 30.0):
        self.path = Path(path) if path is not None else default_log_path()
        self.busy_timeout_s = float(busy_timeout_s)
        if self.path.exists():
            with self._connect(write=False) as conn:
                self._check_format(conn)

    def _connect(self, *, write: bool) -> _Connection:
        return _Connection(self, write=write)

    def _check_format(self, conn: sqlite3.Connection) -> bool:
        """Whether the file already holds the log; InputError if it is another kind of database."""
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        n_tables = conn.execute("SELECT count(*) FROM sqlite_schema WHERE type = 'table'").fetchone()[0]
        if app_id == 0 and version == 0 and n_tables == 0:
            return False
        if app_id != APPLICATION_ID:
            raise InputError(self.path, "not a twin3d decision log (another SQLite database)")
        if version > FORMAT_VERSION:
            raise InputError(self.path, f"decision log format {version} is newer than this twin3d "
                                        f"reads ({FORMAT_VERSION})")
        return True

    def append(self, entry: dict | Decision) -> Decision:
        """Append one decision in its own transaction; return it with seq, timestamp and hash."""
        content = validate_entry(entry, self.path)
        with self._connect(write=True) as conn:
            conn.execute("BEGIN IMMEDIATE")  # the chain head is read under the write lock
            if not self._check_format(conn):
                for statement in _SCHEMA:
                    conn.execute(statement)
            head = conn.execute("SELECT seq, hash FROM decisions ORDER BY seq DESC LIMIT 1").fetchone()
            prev_hash = head[1] if head else GENESIS_HASH
            # the counter, not the head: a deleted tail leaves a gap that verify() reports
            seq = max(head[0] if head else 0, _max_seq_ever(conn)) + 1
            stamp = _utc_now()
            decision = Decision(**content, seq=seq, timestamp_utc=stamp, prev_hash=prev_hash,
                                hash=entry_hash(prev_hash, seq, stamp, content))
            conn.execute(f"INSERT INTO decisions ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                         _row(decision))
            conn.execute("COMMIT")
        return decision

    def _rows(self, conn: sqlite3.Connection):
        if not self._check_format(conn):
            return iter(())
        return conn.execute(f"SELECT {', '.join(COLUMNS)} FROM decisions ORDER BY seq")

    def entries(self) -> list[Decision]:
        """All decisions in order of their sequence numbers."""
        if not self.path.exists():
            return []
        with self._connect(write=False) as conn:
            return [_decision(row, self.path) for row in self._rows(conn)]

    def __len__(self) -> int:
        if not self.path.exists():
            return 0
        with self._connect(write=False) as conn:
            if not self._check_format(conn):
                return 0
            return conn.execute("SELECT count(*) FROM decisions").fetchone()[0]

    def verify(self) -> VerifyResult:
        """Check the hash chain; name the first entry that is missing or does not match."""
        if not self.path.exists():
            return VerifyResult(True, None, "empty log", 0, GENESIS_HASH)
        with self._connect(write=False) as conn:
            if not self._check_format(conn):
                return VerifyResult(True, None, "empty log", 0, GENESIS_HASH)
            conn.execute("BEGIN")  # one snapshot for the rows and the sequence counter
            result = _verify_rows(self._rows(conn), _max_seq_ever(conn))
            conn.execute("COMMIT")
        return result

    def export_csv(self, path: str | os.PathLike) -> int:
        """Write every entry to a CSV file atomically, as stored (JSON columns as canonical JSON).

        Returns the number of entries written.  The rows are exported as they are, tampered
        or not: :meth:`verify` says whether to trust them.
        """
        from twin3d.io.atomic import atomic_path

        rows = []
        if self.path.exists():
            with self._connect(write=False) as conn:
                rows = list(self._rows(conn))
        with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            writer.writerows(rows)
        return len(rows)


class _Connection:
    """A short-lived connection: autocommit (transactions are explicit), WAL, busy timeout."""

    def __init__(self, log: DecisionLog, *, write: bool):
        self.log, self.write = log, write

    def __enter__(self) -> sqlite3.Connection:
        self.conn = None
        try:
            if self.write:
                self.log.path.parent.mkdir(parents=True, exist_ok=True)
            # readers open with mode=rw, so that reading never creates a file
            target = self.log.path if self.write else self.log.path.absolute().as_uri() + "?mode=rw"
            self.conn = sqlite3.connect(target, timeout=self.log.busy_timeout_s, isolation_level=None,
                                        uri=not self.write)
            self.conn.execute(f"PRAGMA busy_timeout = {int(self.log.busy_timeout_s * 1000)}")
            if self.write and self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = FULL")
        except (sqlite3.Error, OSError) as exc:
            if self.conn is not None:
                self.conn.close()
            raise InputError(self.log.path, f"cannot open the decision log: {exc}") from None
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.conn.in_transaction:
            self.conn.rollback()
        self.conn.close()
        if isinstance(exc, sqlite3.Error):
            raise InputError(self.log.path, f"decision log error: {exc}") from None


def _row(d: Decision) -> tuple:
    values = asdict(d)
    values["allocation"] = canonical_json(d.allocation)
    values["kpis"] = canonical_json(d.kpis)
    return tuple(values[name] for name in COLUMNS)


def _decision(row: tuple, path: Path | None = None) -> Decision:
    values = dict(zip(COLUMNS, row))
    for name in ("allocation", "kpis"):
        try:
            values[name] = json.loads(values[name])
        except (TypeError, ValueError):
            raise InputError(path, f"decision {values['seq']}: {name} is not valid JSON") from None
    return Decision(**values)


def _max_seq_ever(conn: sqlite3.Connection) -> int:
    """The highest seq the table ever held (AUTOINCREMENT keeps it after a deleted tail)."""
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'decisions'").fetchone()
    return int(row[0]) if row else 0


def _mismatch(row: tuple, expected_seq: int, prev_hash: str) -> str:
    """Why ``row`` is not entry ``expected_seq`` chained to ``prev_hash`` ("" when it is)."""
    values = dict(zip(COLUMNS, row))
    if values["seq"] != expected_seq:
        return f"entry {expected_seq} is missing (the next entry is {values['seq']})"
    if values["prev_hash"] != prev_hash:
        return f"prev_hash does not match the hash of entry {expected_seq - 1}"
    try:
        d = _decision(row)
        recomputed = entry_hash(prev_hash, d.seq, d.timestamp_utc, d.content())
    except (InputError, TypeError, ValueError) as exc:
        return f"content cannot be read: {exc}"
    if recomputed != values["hash"]:
        return "hash does not match the entry's content (edited after it was logged)"
    return ""


def _verify_rows(rows, max_seq_ever: int) -> VerifyResult:
    prev_hash, n = GENESIS_HASH, 0
    for row in rows:
        reason = _mismatch(row, n + 1, prev_hash)
        if reason:
            return VerifyResult(False, n + 1, reason, n, prev_hash)
        prev_hash, n = row[COLUMNS.index("hash")], n + 1
    if max_seq_ever > n:
        return VerifyResult(False, n + 1, f"entry {n + 1} is missing (the log once held {max_seq_ever} "
                                          "entries: its tail was deleted)", n, prev_hash)
    return VerifyResult(True, None, "intact", n, prev_hash)


def _json_argument(text: str | None, option: str) -> Any:
    """A JSON value from the command line: JSON text, or ``@file.json``."""
    if text is None:
        return None
    source = None
    if text.startswith("@"):
        source = Path(text[1:])
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(source, f"cannot read {option}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InputError(source, f"{option} is not valid JSON: {exc}") from None


def _existing_log(args) -> DecisionLog:
    path = Path(args.log) if getattr(args, "log", None) else default_log_path()
    if not path.is_file():
        raise InputError(path, "no decision log here")
    return DecisionLog(path)


def decisions_command(args) -> int:
    """CLI body of ``twin3d decisions verify|export|add`` (see docs/decision-log.md).

    Returns 0 on success, 1 when ``verify`` finds the chain broken; bad input raises
    InputError (exit code 2).
    """
    action = getattr(args, "decisions_action", None)
    if action == "verify":
        result = _existing_log(args).verify()
        if result.ok:
            print(f"ok: {result.n_entries} entries, head {result.head_hash}")
            return 0
        print(f"TAMPERED: entry {result.first_bad_seq}: {result.reason} "
              f"({result.n_entries} entries before it are intact)")
        return 1
    if action == "export":
        if not getattr(args, "csv", None):
            raise InputError(None, "decisions export needs --csv PATH")
        n = _existing_log(args).export_csv(args.csv)
        print(f"wrote {args.csv}: {n} entries")
        return 0
    if action == "add":
        log = DecisionLog(args.log if getattr(args, "log", None) else None)
        entry = {"who": args.who, "what": args.what, "why": args.why, "scenario_hash": args.scenario_hash,
                 "frame_index": args.frame, "frame_time_s": getattr(args, "time_s", None),
                 "allocation": _json_argument(getattr(args, "allocation", None), "--allocation"),
                 "kpis": _json_argument(getattr(args, "kpis", None), "--kpis")}
        decision = log.append(entry)
        print(f"logged decision {decision.seq} in {log.path}: {decision.hash}")
        sys.stdout.flush()
        return 0
    raise InputError(None, f"unknown decisions action {action!r}; use verify, export or add")


def add_decisions_arguments(parser) -> None:
    """Add the ``verify``, ``export`` and ``add`` sub-commands to an argparse parser.

    Each sets ``decisions_action``; the caller sets ``func`` to call :func:`decisions_command`.
    """
    sub = parser.add_subparsers(dest="decisions_action", required=True, parser_class=type(parser))
    log_help = "decision log file (default: $TWIN3D_DATA_DIR/decisions.sqlite)"
    s = sub.add_parser("verify", help="check the hash chain; exit 1 when it is broken")
    s.add_argument("--log", type=Path, default=None, help=log_help)
    s = sub.add_parser("export", help="write the log as CSV")
    s.add_argument("--csv", type=Path, required=True)
    s.add_argument("--log", type=Path, default=None, help=log_help)
    s = sub.add_parser("add", help="append one decision")
    s.add_argument("--scenario-hash", required=True, help="content hash of the scenario run")
    s.add_argument("--frame", type=int, required=True, help="frame index")
    s.add_argument("--time-s", type=float, default=None, help="frame time, s since the scenario start")
    s.add_argument("--who", required=True)
    s.add_argument("--what", required=True)
    s.add_argument("--why", required=True)
    s.add_argument("--allocation", default=None, help="JSON text, or @file.json")
    s.add_argument("--kpis", default=None, help="JSON text, or @file.json")
    s.add_argument("--log", type=Path, default=None, help=log_help)

