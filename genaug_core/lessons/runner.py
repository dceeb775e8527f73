"""Running a lesson, then its verdict: in this process one run after another (the CLI, the bench, tests),
or in the background through the job runner (the Lessons page, whose script thread never trains).

    verdict = run_lesson("text-augmentation", quick=True, progress=lambda i, n, msg: print(msg))
    launch = start_lesson("l1-l2", seeds=3)        # returns at once: folders made, the first runs launched
    jobs.tick()                                    # the page polls: queued runs launch as slots free up
    if lesson_progress(launch.run_dirs).done:
        verdict = verdict_for("l1-l2", launch.run_dirs)
    cancel_lesson(launch.group)                    # stops the group's queued and running runs

Every run gets a normal run folder (config.json with the lesson's group and a name saying lesson, setting
and seed) plus lesson.json, so the Compare page and the Lessons page find it. In-process runs are marked
running with this process's pid as soon as their folder exists, so an app polling the same runs root
never launches them a second time. A run that fails is recorded (its status says why) and the others go on;
the verdict lists it under the runs without numbers.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from genaug_core import runs
from genaug_core.lessons.catalog import get_lesson
from genaug_core.lessons.plan import PlannedRun, lesson_info, new_group_id, plan_runs, seeds_for
from genaug_core.lessons.spec import Lesson
from genaug_core.lessons.store import Launch, LessonProgress, group_runs, lesson_progress, write_lesson_file
from genaug_core.lessons.verdict import Verdict, verdict_for
from genaug_core.train import jobs

Progress = Callable[[int, int, str], None]  # (runs finished, runs in all, what happens now)


def _plan(lesson: Lesson, quick: bool, seeds: int | None, dataset: str | None,
          overrides: dict[str, Any] | None) -> tuple[int, list[PlannedRun]]:
    k = seeds_for(lesson, quick, seeds)
    return k, plan_runs(lesson, quick, k, dataset, overrides, group=new_group_id(lesson.id))


def _create(lesson: Lesson, run: PlannedRun, quick: bool, seeds: int, dataset: str | None,
            root: str | Path | None, claim_now: bool = False, owner: str | None = None) -> Path:
    """The run's folder with its lesson.json (and owner.json for a workspace's run); claim_now marks it
    running by this process at once."""
    run_dir = runs.create_run(run.config, root=root, owner=owner).resolve()
    if claim_now:
        runs.write_status(run_dir, state="running", pid=os.getpid(), host=socket.gethostname())
    write_lesson_file(run_dir, lesson_info(lesson, run, quick=quick, seeds=seeds, dataset=dataset))
    return run_dir


def _train_here(run: PlannedRun, run_dir: Path) -> None:
    """Train (or self-train) one run in this process and score it, as the training child would."""
    from genaug_core.evaluate import evaluate_after_training
    from genaug_core.train.loop import train
    from genaug_core.train.selftrain import self_train

    cfg = run.config
    if cfg.self_train.rounds > 0:
        self_train(cfg, run_dir, progress=False)  # scores every round itself
        return
    if train(cfg, run_dir, progress=False) == "done" and cfg.train.eval_samples:
        evaluate_after_training(run_dir, cfg.train.eval_samples)


def run_lesson(
    lesson_id: str,
    quick: bool = False,
    seeds: int | None = None,
    root: str | Path | None = None,
    progress: Progress | None = None,
    dataset: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> Verdict:
    """Train every run of the lesson here, one after another, and return the verdict on them.

    seeds: per setting (None = the lesson's default for the size); dataset: one of the lesson's
    `datasets`; overrides: config sections applied to every run (e.g. {"data": {"max_train_items": 100}}).
    Bad input raises ConfigError or RegistryError before anything is trained.
    """
    lesson = get_lesson(lesson_id)
    k, planned = _plan(lesson, quick, seeds, dataset, overrides)
    t0 = time.perf_counter()
    run_dirs = []
    for i, run in enumerate(planned):
        if progress:
            progress(i, len(planned), f"{run.setting} · seed {run.seed}: training")
        run_dir = _create(lesson, run, quick, k, dataset, root, claim_now=True)
        run_dirs.append(run_dir)
        try:
            _train_here(run, run_dir)
        except Exception:  # noqa: BLE001 - the run is marked failed with the message; the verdict says so
            pass
    if progress:
        progress(len(planned), len(planned), "computing the verdict")
    return verdict_for(lesson.id, run_dirs, wall_s=round(time.perf_counter() - t0, 1))


def start_lesson(
    lesson_id: str,
    quick: bool = False,
    seeds: int | None = None,
    root: str | Path | None = None,
    dataset: str | None = None,
    overrides: dict[str, Any] | None = None,
    owner: str | None = None,
) -> Launch:
    """Queue every run of the lesson with the job runner and launch as many as may train now; returns at once.

    All folders (with lesson.json) exist before the first child starts; the job runner launches the
    rest as slots free up (whoever polls calls jobs.tick()). `owner`: the workspace the runs belong to
    (genaug_core.workspaces; None in single-user mode); it must have room for all of them.
    """
    lesson = get_lesson(lesson_id)
    k, planned = _plan(lesson, quick, seeds, dataset, overrides)
    if owner is not None:
        jobs.check_room(owner, len(planned), root)
    run_dirs = [_create(lesson, run, quick, k, dataset, root, owner=owner) for run in planned]
    jobs.tick(root)
    group = planned[0].config.group
    return Launch(group, lesson.id, quick, k, dataset, time.time(), run_dirs)


def cancel_lesson(group: str, root: str | Path | None = None) -> int:
    """Cancel the group's queued and running runs (running ones save and stop); returns how many."""
    n = 0
    for run_dir in group_runs(group, root):
        if runs.inspect_run(run_dir).state in ("queued", "running"):
            jobs.cancel(run_dir)
            n += 1
    return n


def wait_for(run_dirs: list[Path], root: str | Path | None = None, poll_s: float = 2.0,
             progress: Callable[[LessonProgress], None] | None = None) -> LessonProgress:
    """Poll the job runner until every run has ended (the bench's background mode)."""
    while True:
        jobs.tick(root)
        state = lesson_progress(run_dirs)
        if state.done:
            return state
        if progress:
            progress(state)
        time.sleep(poll_s)
