"""The job runner: training runs as child processes, never in the caller's thread.

    run_dir = jobs.start(config)   # returns at once: the run is queued or already launched
    jobs.tick()                    # launch queued runs while slots are free (pages call it as they poll)
    jobs.cancel(run_dir)           # STOP file for a running child; a queued run is simply cancelled
    jobs.resume(run_dir)           # queue a cancelled / failed run to continue from its newest checkpoint
                                   # (a self-training run: from its finished rounds)

A run is launched as `python -m genaug_core train --run-dir <dir>` in its own
session (so a browser reload or an app restart does not kill it), with its
output appended to the run's log.txt. The run folder stays the only source of
truth: this module writes nothing but status fields and a launch marker
(`launched_pid`), and reads everything back from disk, so two browser tabs or
two app processes see the same runs.

At most `max_concurrent()` runs train at once (GENAUG_MAX_RUNS, default the
number of cores); more wait in the queue, oldest first. A child picks its own
torch threads, re-measuring every 2 s the cores the rest of the machine
leaves free (train/cores.py), and runs with OpenMP's default wait policy, not
the app's PASSIVE one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from genaug_core import runs
from genaug_core.config import RunConfig, read_run_config
from genaug_core.errors import RunError

MAX_RUNS_ENV = "GENAUG_MAX_RUNS"
LOCK_FILE = ".jobs.lock"
LAUNCH_GRACE_S = 120.0  # a launched child has this long to mark itself running before it counts as dead

_children: dict[int, subprocess.Popen] = {}  # pid -> Popen, so finished children are reaped, not zombies


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def max_concurrent() -> int:
    """How many runs may train at once: $GENAUG_MAX_RUNS, else the number of cores."""
    value = os.environ.get(MAX_RUNS_ENV, "")
    if value.strip().isdigit() and int(value) > 0:
        return int(value)
    return max(1, usable_cores())


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """One tick at a time across threads and processes (two tabs polling at once)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_FILE, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _reap() -> None:
    for pid, proc in list(_children.items()):
        if proc.poll() is not None:
            del _children[pid]


def _slot_holder(status: dict) -> bool:
    """Does this run occupy a training slot (running, or launched and starting up)?"""
    state, _ = runs.effective_state(status)
    if state == "running":
        return True
    if state == "done" and status.get("evaluating") and status.get("host") == socket.gethostname():
        return runs.pid_alive(status.get("pid"))  # trained, still scoring its samples on these cores
    pid = status.get("launched_pid")
    return state == "queued" and bool(pid) and runs.pid_alive(pid)


def _threads_of(run_dir: Path) -> int:
    """Torch threads a training child uses now (it reports them in status.json), at least 1."""
    try:
        return max(1, int(runs.read_status(run_dir).get("threads") or read_run_config(run_dir).train.threads))
    except (RunError, TypeError, ValueError):
        return 1


def start(config: RunConfig, root: str | Path | None = None) -> Path:
    """Create a run folder for `config` (state queued) and launch it if a slot is free. Returns at once."""
    run_dir = runs.create_run(config, root=root).resolve()
    tick(root)
    return run_dir


def resume(run_dir: str | Path, steps: int | None = None) -> None:
    """Queue a cancelled or failed run to continue from its newest checkpoint (optionally to `steps`)."""
    run_dir = Path(run_dir).resolve()
    status = runs.read_status(run_dir)
    state, _ = runs.effective_state(status)
    if state in ("running", "queued"):
        raise RunError(f"run {run_dir.name} is {state}; only a cancelled, failed or done run can be resumed")
    if not has_resume_point(run_dir):
        raise RunError(f"run {run_dir.name} has no complete checkpoint to resume from; start a new run instead")
    runs.clear_stop(run_dir)
    runs.write_status(run_dir, state="queued", resume=True, resume_steps=steps, launched_pid=None, error=None)
    tick(run_dir.parent)


def has_resume_point(run_dir: str | Path) -> bool:
    """Is there something to continue from? A complete checkpoint, or, for self-training, always: its
    finished rounds are kept and the interrupted round goes on from its own checkpoint (or starts over)."""
    from genaug_core.train.selftrain import is_self_training

    return is_self_training(run_dir) or runs.latest_checkpoint(run_dir) is not None


def can_resume(rec: runs.RunRecord) -> bool:
    """Should the pages offer Resume for this run (cancelled or failed, with something to continue from)?"""
    return rec.state in ("cancelled", "failed") and has_resume_point(rec.path)


def cancel(run_dir: str | Path) -> None:
    """Ask a run to stop: a queued run is cancelled at once; a training child saves and stops."""
    run_dir = Path(run_dir)
    with _locked(run_dir.parent):
        status = runs.read_status(run_dir)
        state, _ = runs.effective_state(status)
        if state == "queued" and not _slot_holder(status):
            runs.write_status(run_dir, state="cancelled", error=None)
            return
    if state in ("running", "queued"):
        runs.request_stop(run_dir)


def tick(root: str | Path | None = None) -> list[Path]:
    """Launch queued runs, oldest first, while fewer than max_concurrent() are training.

    Also notices children that died before saying anything (their run is
    marked failed with the end of log.txt). Returns the runs it launched.
    """
    root_path = runs.runs_root(root).resolve()
    _reap()
    launched: list[Path] = []
    with _locked(root_path):
        records = runs.list_runs(root_path)
        busy = 0
        queued: list[tuple[float, Path, dict]] = []
        for rec in records:
            if rec.state not in ("running", "queued", "done"):  # a done run may still be scoring
                continue
            try:
                status = runs.read_status(rec.path)
            except RunError:
                continue
            if _slot_holder(status):
                busy += 1
            elif rec.state == "queued":
                pid = status.get("launched_pid")
                if pid and time.time() - status.get("launched_at", 0) > 1.0:  # launched, then died silently
                    tail = runs.read_log_tail(rec.path, 15)
                    runs.write_status(
                        rec.path,
                        state="failed",
                        error=f"the training process ended before it started training; end of log.txt:\n{tail}",
                    )
                    continue
                queued.append((status.get("created", 0.0), rec.path, status))
        for _, run_dir, status in sorted(queued, key=lambda q: q[0]):
            if busy >= max_concurrent():
                break
            _launch(run_dir, status)
            busy += 1
            launched.append(run_dir)
    return launched


def queue_position(run_dir: str | Path) -> int | None:
    """1 for the next run to launch, 2 for the one after, ...; None if the run is not waiting."""
    run_dir = Path(run_dir).resolve()
    waiting = []
    for rec in runs.list_runs(run_dir.parent):
        if rec.state != "queued":
            continue
        try:
            status = runs.read_status(rec.path)
        except RunError:
            continue
        if not _slot_holder(status):
            waiting.append((status.get("created", 0.0), rec.path.resolve()))
    order = [p for _, p in sorted(waiting)]
    return order.index(run_dir) + 1 if run_dir in order else None


def child_env(package_parent: str) -> dict[str, str]:
    """A training child's environment: the app's, less its OMP_WAIT_POLICY=PASSIVE (the child shares the
    cores by itself, train/cores.py), with genaug_core importable and unbuffered output for log.txt."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _launch(run_dir: Path, status: dict) -> None:
    """Start the training child for one queued run (its own session, output to log.txt)."""
    cmd = [sys.executable, "-m", "genaug_core", "train", "--run-dir", str(run_dir), "--no-progress"]
    if status.get("resume"):
        cmd += ["--resume"]
        if status.get("resume_steps"):
            cmd += ["--steps", str(int(status["resume_steps"]))]
    package_parent = str(Path(runs.__file__).resolve().parents[1])
    with open(run_dir / runs.LOG_FILE, "ab") as log:
        log.write(f"\n$ {' '.join(cmd[1:])}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=package_parent,
            env=child_env(package_parent),
            start_new_session=True,  # survives a browser reload or an app restart
        )
    _children[proc.pid] = proc
    runs.write_status(run_dir, launched_pid=proc.pid, launched_at=time.time())


def free_threads() -> int:
    """Torch threads the app may use while runs train: the cores the training children leave free (>= 1)."""
    used = 0
    for rec in runs.list_runs():
        if rec.state == "running":
            used += _threads_of(rec.path)
    return max(1, usable_cores() - used)
