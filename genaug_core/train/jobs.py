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
number of cores); more wait in the queue. A run made in a workspace
(genaug_core.workspaces; its id is in owner.json) counts against that
workspace: at most `per_workspace_running()` of its runs train at once and it
holds at most that plus `per_workspace_queued()` unfinished runs; the queue
is served round-robin across workspaces (fewest runs training first, then
oldest), so one student's ablation cannot hold back the class. Runs made
outside a workspace (single-user mode, the CLI) are served oldest first, as
one queue, with no per-workspace limit. Before a run is made (start) or
continued (resume) it must fit the compute budget (steps x batch, x rounds
for self-training: check_compute, genaug_core.budgets) and, for a workspace,
its disk quota (check_disk). A child picks its own
torch threads, re-measuring every 2 s the cores the rest of the machine
leaves free (train/cores.py), and runs with OpenMP's default wait policy, not
the app's PASSIVE one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from genaug_core import budgets, runs
from genaug_core.config import RunConfig, read_run_config
from genaug_core.errors import RunError

MAX_RUNS_ENV = "GENAUG_MAX_RUNS"
WS_RUNNING_ENV = "GENAUG_WORKSPACE_MAX_RUNNING"  # runs of one workspace that train at once (default 1)
WS_QUEUED_ENV = "GENAUG_WORKSPACE_MAX_QUEUED"  # runs of one workspace that wait beyond those (default 2)
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


def _env_int(name: str, default: int, minimum: int) -> int:
    value = os.environ.get(name, "").strip()
    return max(minimum, int(value)) if value.isdigit() else default


def per_workspace_running() -> int:
    """How many runs of one workspace train at once: $GENAUG_WORKSPACE_MAX_RUNNING, default 1."""
    return _env_int(WS_RUNNING_ENV, 1, 1)


def per_workspace_queued() -> int:
    """How many more runs of one workspace may wait in the queue: $GENAUG_WORKSPACE_MAX_QUEUED, default 2."""
    return _env_int(WS_QUEUED_ENV, 2, 0)


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
    """Does this run occupy a training slot (running, or launched and starting up)? Only while the process
    recorded is the very one that was started (same pid and start time): a reused pid holds nothing."""
    state, _ = runs.effective_state(status)
    if state == "running":
        return True
    if state == "done" and status.get("evaluating") and status.get("host") == socket.gethostname():
        # trained, still scoring its samples on these cores
        return runs.same_process(status.get("pid"), status.get("pid_started"))
    pid = status.get("launched_pid")
    return state == "queued" and bool(pid) and runs.same_process(pid, status.get("launched_started"),
                                                                 status.get("launched_host"))


def _end_hung(run_dir: Path, status: dict) -> None:
    """A "running" status that effective_state does not believe: mark it failed for good, and when its
    process is still ours on this host (same pid and start time: silent, not gone) end that process,
    so it neither holds the cores nor writes into a run that may be resumed."""
    if status.get("state") != "running":
        return
    problem = runs.running_problem(status)
    if problem is None:
        return
    pid = status.get("pid")
    if status.get("pid_started") is not None and runs.same_process(pid, status["pid_started"], status.get("host")):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    still_unbelieved = lambda now: now.get("state") == "running" and runs.running_problem(now) is not None  # noqa: E731
    runs.write_status(run_dir, when=still_unbelieved, state="failed", error=status.get("error") or problem, eta_s=None)


def _threads_of(run_dir: Path) -> int:
    """Torch threads a training child uses now (it reports them in status.json), at least 1."""
    try:
        return max(1, int(runs.read_status(run_dir).get("threads") or read_run_config(run_dir).train.threads))
    except (RunError, TypeError, ValueError):
        return 1


def start(config: RunConfig, root: str | Path | None = None, owner: str | None = None) -> Path:
    """Create a run folder for `config` (state queued) and launch it if a slot is free. Returns at once.

    `owner`: the workspace id that makes it (owner.json); RunError when that workspace already holds
    as many unfinished runs as it may (check_room)."""
    check_compute(config)
    if owner is not None:
        check_room(owner, 1, root)
        check_disk(owner, root)
    run_dir = runs.create_run(config, root=root, owner=owner).resolve()
    tick(root)
    return run_dir


def run_items(config: RunConfig) -> tuple[int, str]:
    """(training items a run of `config` takes, how they add up): steps x batch, x rounds when self-training.
    An "auto" batch (0) is the model kind's."""
    tc = config.train
    batch = tc.batch_size
    if not batch:
        from genaug_core import kinds
        from genaug_core.data import kind_of

        batch = tc.resolved(kinds.for_run_config(config, kind_of(config.data.source))).batch_size
    rounds = config.self_train.rounds
    what = f"{tc.steps:,} steps x batch {batch:,}" + (f" x {rounds} rounds" if rounds else "")
    return tc.steps * batch * max(1, rounds), what


def check_compute(config: RunConfig) -> None:
    """ConfigError when a run of `config` would train on more items than the budget per run
    ($GENAUG_MAX_RUN_ITEMS); the message says how the items add up."""
    items, what = run_items(config)
    budgets.check_run_items(items, what)


def runs_bytes(owner: str, root: str | Path | None = None) -> int:
    """Bytes on disk of the run folders of workspace `owner` (checkpoints, samples, logs)."""
    return sum(budgets.folder_bytes(rec.path) for rec in runs.list_runs(root, where=lambda r: r.workspace == owner))


def check_disk(owner: str, root: str | Path | None = None) -> None:
    """RunError when workspace `owner`'s runs fill its disk quota ($GENAUG_WORKSPACE_MAX_RUN_BYTES); the
    message says to delete runs on the Train page."""
    budgets.check_workspace_disk(runs_bytes(owner, root))


def unfinished_runs(owner: str, root: str | Path | None = None) -> int:
    """How many runs of workspace `owner` are queued or running."""
    return len(runs.list_runs(root, where=lambda r: r.workspace == owner and r.state in ("queued", "running")))


def check_room(owner: str, n: int, root: str | Path | None = None) -> None:
    """RunError unless workspace `owner` may start `n` more runs (at most per_workspace_running() +
    per_workspace_queued() of its runs are queued or running at once)."""
    limit = per_workspace_running() + per_workspace_queued()
    busy = unfinished_runs(owner, root)
    if busy + n > limit:
        raise RunError(
            f"this workspace may have at most {limit} runs queued or training at once "
            f"({per_workspace_running()} training + {per_workspace_queued()} waiting; {WS_RUNNING_ENV} / "
            f"{WS_QUEUED_ENV}); it has {busy}, so {n} more do not fit. Wait for one to finish or cancel one."
        )


def resume(run_dir: str | Path, steps: int | None = None) -> None:
    """Queue a cancelled or failed run to continue from its newest checkpoint (optionally to `steps`)."""
    run_dir = Path(run_dir).resolve()
    status = runs.read_status(run_dir)
    _end_hung(run_dir, status)
    state, _ = runs.effective_state(status)
    if state in ("running", "queued"):
        raise RunError(f"run {run_dir.name} is {state}; only a cancelled, failed or done run can be resumed")
    if steps is not None:
        cfg = read_run_config(run_dir)
        check_compute(cfg.replace(train=cfg.train.replace(steps=steps)))
    owner = runs.read_owner(run_dir)["workspace"]
    if owner is not None:
        check_room(owner, 1, run_dir.parent)
        check_disk(owner, run_dir.parent)
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
    """Launch queued runs, round-robin across workspaces, while fewer than max_concurrent() train.

    Also notices children that died before saying anything (their run is
    marked failed; the end of log.txt is for its owner to read) and "running"
    runs whose process is gone, replaced or silent (marked failed, a silent
    one of ours ended). Returns the runs it launched.
    """
    root_path = runs.runs_root(root).resolve()
    _reap()
    launched: list[Path] = []
    with _locked(root_path):
        busy, running_in, queued = _survey(root_path)
        for rec, status in _launch_order(queued, running_in):
            if busy >= max_concurrent():
                break
            if rec.workspace is not None and running_in.get(rec.workspace, 0) >= per_workspace_running():
                continue  # this workspace trains as many as it may; the next workspace's run goes first
            _launch(rec.path, status)
            busy += 1
            running_in[rec.workspace] = running_in.get(rec.workspace, 0) + 1
            launched.append(rec.path)
    return launched


def _survey(root_path: Path) -> tuple[int, dict[str | None, int], list[tuple[runs.RunRecord, dict]]]:
    """(slots in use, slots in use per workspace, queued runs waiting to launch with their status)."""
    busy = 0
    running_in: dict[str | None, int] = {}
    queued: list[tuple[runs.RunRecord, dict]] = []
    for rec in runs.list_runs(root_path):
        if rec.state not in ("running", "queued", "done", "failed"):  # done: may still be scoring
            continue
        try:
            status = runs.read_status(rec.path)
        except RunError:
            continue
        if rec.state == "failed":
            _end_hung(rec.path, status)  # a "running" status nobody believes: failed for good
            continue
        if _slot_holder(status):
            busy += 1
            running_in[rec.workspace] = running_in.get(rec.workspace, 0) + 1
        elif rec.state == "queued":
            pid = status.get("launched_pid")
            if pid and time.time() - status.get("launched_at", 0) > 1.0:  # launched, then died silently
                runs.write_status(rec.path, state="failed",
                                  error="the training process ended before it started training (see log.txt)")
                continue
            queued.append((rec, status))
    return busy, running_in, queued


def _launch_order(queued: list[tuple[runs.RunRecord, dict]], running_in: dict[str | None, int]):
    """Queued runs in launch order: a workspace's k-th waiting run (oldest first) ranks (its runs training
    now + k), lowest first, ties oldest first; so workspaces take turns. Runs without a workspace form one
    queue of their own, so with no workspaces at all this is plain oldest first."""
    by_ws: dict[str | None, list[tuple[runs.RunRecord, dict]]] = {}
    for rec, status in sorted(queued, key=lambda q: (q[1].get("created", 0.0), q[0].id)):
        by_ws.setdefault(rec.workspace, []).append((rec, status))
    ranked = [(running_in.get(ws, 0) + k, status.get("created", 0.0), rec.id, rec, status)
              for ws, items in by_ws.items() for k, (rec, status) in enumerate(items)]
    return [(r[3], r[4]) for r in sorted(ranked, key=lambda r: r[:3])]


def queue_position(run_dir: str | Path) -> int | None:
    """1 for the next run to launch, 2 for the one after, ...; None if the run is not waiting."""
    run_dir = Path(run_dir).resolve()
    waiting, running_in = [], {}
    for rec in runs.list_runs(run_dir.parent):
        if rec.state not in ("queued", "running", "done"):
            continue
        try:
            status = runs.read_status(rec.path)
        except RunError:
            continue
        if _slot_holder(status):
            running_in[rec.workspace] = running_in.get(rec.workspace, 0) + 1
        elif rec.state == "queued":
            waiting.append((rec, status))
    order = [rec.path.resolve() for rec, _ in _launch_order(waiting, running_in)]
    return order.index(run_dir) + 1 if run_dir in order else None


def delete(run_dir: str | Path) -> None:
    """Remove a finished, failed, cancelled or broken run folder; RunError for a queued or running one
    (cancel it first) or one still scoring its samples. The folder is renamed away first, so no reader
    ever sees it half deleted."""
    run_dir = Path(run_dir).resolve()
    with _locked(run_dir.parent):
        rec = runs.inspect_run(run_dir)
        if rec.state in ("queued", "running"):
            raise RunError(f"run {rec.id} is {rec.state}; cancel it first, then delete it")
        try:
            status = runs.read_status(run_dir)
        except RunError:
            status = {}
        if _slot_holder(status):
            raise RunError(f"run {rec.id} is still scoring its samples; delete it when that has finished")
        trash = run_dir.with_name(f"{runs.TMP_PREFIX}deleted-{run_dir.name}")
        os.replace(run_dir, trash)
    shutil.rmtree(trash, ignore_errors=True)


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
    runs.write_status(run_dir, launched_pid=proc.pid, launched_at=time.time(),
                      launched_started=runs.process_start_time(proc.pid), launched_host=socket.gethostname())


def free_threads() -> int:
    """Torch threads the app may use while runs train: the cores the training children leave free (>= 1)."""
    used = 0
    for rec in runs.list_runs():
        if rec.state == "running":
            used += _threads_of(rec.path)
    return max(1, usable_cores() - used)
