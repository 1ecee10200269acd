"""Background scenario runs: one at a time, each in a subprocess, killed with the server.

A run is ``twin3d run <scenario> -o <path>`` in a subprocess (``sys.executable -m
twin3d_server.logic.runs <server pid> run ...``, see :func:`child_main`) writing to a stable
path under the cache (:func:`run_path`), so a second ``twin3d serve`` reuses it: the
runner returns at once when the target is a complete run with the same content hash.

Runs are driven by :meth:`RunQueue.poll` (the catalogue calls it twice a second on the
server loop; tests call it by hand or use :meth:`RunQueue.wait`).  Only one run computes
at a time (2-core machines), also across servers sharing the cache (:class:`RunnerLock`).  Every process is tracked and terminated by
:meth:`RunQueue.shutdown`, which is also registered with ``atexit``; on Linux the children
also ask for ``PR_SET_PDEATHSIG``, so they die with a server that is killed outright.

Quick runs: with ``TWIN3D_QUICK_RUNS=1`` in the environment every run gets ``--quick``
(the coarser, shorter profile of the same scenario), for tests and demos on slow machines.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import signal
import subprocess
import sys
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

QUICK_ENV = "TWIN3D_QUICK_RUNS"
TERMINATE_WAIT_S = 5.0
_QUEUES: weakref.WeakSet = weakref.WeakSet()


def quick_runs() -> bool:
    """Whether runs use the quick profile (``TWIN3D_QUICK_RUNS=1``)."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def run_path(scenario: str | Path, quick: bool = False) -> Path:
    """The stable results path of a scenario file under the cache: the same file always
    maps to the same path (``<cache>/runs/<stem>-<digest of its absolute path>[-quick].h5``)."""
    from twin3d.config import cache_dir

    scenario = Path(scenario).resolve()
    digest = hashlib.sha256(str(scenario).encode()).hexdigest()[:12]
    folder = cache_dir() / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{scenario.stem}-{digest}{'-quick' if quick else ''}.h5"


@dataclass
class Run:
    """One scenario run: ``status`` is ``queued``, ``running``, ``complete`` or ``failed``
    (then ``error`` holds the run's one-line error)."""

    scenario: Path
    output: Path
    quick: bool = False
    status: str = "queued"
    error: str = ""
    returncode: int | None = None
    started: float = 0.0  # time.time() at launch
    finished: float = 0.0
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def log(self) -> Path:
        return self.output.with_name(self.output.name + ".log")

    @property
    def done(self) -> bool:
        return self.status in ("complete", "failed")

    @property
    def reused(self) -> bool:
        """A complete run whose results file was not rewritten (the cache was reused)."""
        try:
            return self.status == "complete" and self.output.stat().st_mtime < self.started
        except OSError:
            return False

    def wrote_since_start(self) -> bool:
        """Whether the results file was (re)created by this run (not a stale earlier file)."""
        try:
            return self.started > 0 and self.output.stat().st_mtime >= self.started
        except OSError:
            return False


def run_command(scenario: Path, output: Path, quick: bool, arch: str) -> list[str]:
    """The run's command line: ``twin3d run`` through :func:`child_main`, which first ties the
    child's life to the server's (no ``preexec_fn``: forking a threaded server with one can deadlock)."""
    return [sys.executable, "-m", "twin3d_server.logic.runs", str(os.getpid()), "run", str(scenario),
            "-o", str(output), "--arch", arch, "--no-progress", *(["--quick"] if quick else [])]


def child_main(argv: list[str]) -> int:
    """``python -m twin3d_server.logic.runs <server pid> <twin3d arguments>``: ask Linux to send
    SIGTERM when the server dies (``PR_SET_PDEATHSIG``), then run ``twin3d.cli.main``."""
    parent, args = int(argv[0]), argv[1:]
    if sys.platform == "linux":
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        if os.getppid() != parent:  # the server died before the request took effect
            return 143
    from twin3d.cli import main

    return main(args)


def error_line(log_text: str, returncode: int | None) -> str:
    """The one-line error of a failed run: its ``error: ...`` line, else its last line."""
    lines = [ln.strip() for ln in log_text.splitlines() if ln.strip()]
    for line in reversed(lines):
        if line.startswith("error:"):
            return line.removeprefix("error:").strip()
    if returncode is not None and returncode < 0:
        return f"stopped by signal {-returncode}"
    return lines[-1] if lines else f"exit code {returncode}"


class RunnerLock:
    """One run at a time on this machine, across servers (launcher sessions, a second
    ``twin3d serve``) sharing the cache: an exclusive ``flock`` on ``<cache>/runs/.runner.lock``,
    held by the server while its run's process lives.  It also keeps two servers from writing
    the same results path at once."""

    def __init__(self):
        self._fh = None

    def acquire(self) -> bool:
        """Take the lock if it is free (never waits)."""
        if self._fh is not None:
            return True
        try:
            import fcntl
        except ImportError:  # no flock (Windows): one run at a time per server only
            return True
        from twin3d.config import cache_dir

        path = cache_dir() / "runs" / ".runner.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = path.open("a")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return False
        self._fh = fh
        return True

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()  # closing the file releases the flock
            self._fh = None


class RunQueue:
    """Runs scenario files in the background, one at a time, in subprocesses.

    Parameters
    ----------
    quick : bool, optional
        Run every scenario with ``--quick``; default: :func:`quick_runs`.
    arch : str
        ``--arch`` of the runs (``auto``, ``cpu``, ``cuda``).

    Examples
    --------
    >>> queue = RunQueue()                                     # doctest: +SKIP
    >>> run = queue.submit("assets/scenarios/cloudburst.toml")  # doctest: +SKIP
    >>> queue.wait(run).status                                  # doctest: +SKIP
    'complete'
    """

    def __init__(self, quick: bool | None = None, arch: str = "auto"):
        self.quick = quick_runs() if quick is None else quick
        self.arch = arch
        self.runs: list[Run] = []
        self._closed = False
        self._lock = RunnerLock()
        _QUEUES.add(self)

    def submit(self, scenario: str | Path, output: str | Path | None = None) -> Run:
        """Queue a run of ``scenario`` (to :func:`run_path` unless ``output``); starts it when
        nothing else runs.  A scenario already queued or running is not queued twice."""
        scenario = Path(scenario).resolve()
        output = Path(output) if output is not None else run_path(scenario, self.quick)
        for run in self.runs:
            if run.output == output and not run.done:
                return run
        run = Run(scenario, output, self.quick)
        self.runs.append(run)
        self.poll()
        return run

    @property
    def active(self) -> Run | None:
        return next((r for r in self.runs if r.status == "running"), None)

    def poll(self) -> list[Run]:
        """Look at the running process; when it has ended, start the next queued run.
        Returns the runs whose status changed."""
        changed = []
        run = self.active
        if run is not None and run.process.poll() is not None:
            self._finish(run)
            changed.append(run)
        if self.active is None and not self._closed:
            nxt = next((r for r in self.runs if r.status == "queued"), None)
            if nxt is not None and self._lock.acquire():
                self._start(nxt)
                if nxt.status != "running":
                    self._lock.release()
                changed.append(nxt)
        return changed

    def _start(self, run: Run) -> None:
        run.output.parent.mkdir(parents=True, exist_ok=True)
        cmd = run_command(run.scenario, run.output, run.quick, self.arch)
        # the server reads the file while it is written (SWMR); the run's final r+ open to mark it
        # complete must not wait for the readers' shared lock
        env = {**os.environ, "HDF5_USE_FILE_LOCKING": "FALSE"}
        run.started = time.time()
        try:
            with run.log.open("w") as log:
                run.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                               stderr=log, env=env)
        except OSError as exc:
            run.status, run.error = "failed", f"could not start the run: {exc}"
            return
        run.status = "running"

    def _finish(self, run: Run) -> None:
        self._lock.release()
        run.returncode = run.process.returncode
        run.finished = time.time()
        if run.returncode == 0:
            run.status = "complete"
            return
        try:
            text = run.log.read_text(errors="replace")
        except OSError:
            text = ""
        run.status, run.error = "failed", error_line(text, run.returncode)

    def wait(self, run: Run, timeout_s: float = 600.0, interval_s: float = 0.2) -> Run:
        """Poll until ``run`` is done (tests, scripts); raises TimeoutError."""
        deadline = time.monotonic() + timeout_s
        while not run.done:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{run.scenario.name} still {run.status} after {timeout_s} s")
            self.poll()
            time.sleep(interval_s)
        return run

    def processes(self) -> list[subprocess.Popen]:
        """The processes still alive."""
        return [r.process for r in self.runs if r.process is not None and r.process.poll() is None]

    def shutdown(self) -> None:
        """Cancel queued runs and terminate the running one (killed if it does not stop)."""
        self._closed = True
        for run in self.runs:
            if run.status == "queued":
                run.status, run.error = "failed", "cancelled: the server stopped"
        for proc in self.processes():
            proc.terminate()
        for proc in self.processes():
            try:
                proc.wait(TERMINATE_WAIT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for run in self.runs:
            if run.status == "running":
                self._finish(run)
        self._lock.release()


@atexit.register
def _shutdown_all() -> None:
    for queue in list(_QUEUES):
        queue.shutdown()


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
