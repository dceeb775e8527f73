"""A lesson's runs on disk: each run folder's lesson.json, finding a launch's runs, how far they are.

    write_lesson_file(run_dir, info)    # lesson.json: lesson, setting, seed, group, quick, dataset
    read_lesson_file(run_dir)           # that dict back, or None (not a lesson run, or unreadable)
    group_runs(group)                   # the run folders of one launch, in the lesson's order
    launches("l1-l2")                   # every launch of a lesson under the runs root, newest first
    lesson_progress(run_dirs)           # how many runs finished, steps done, one line per run

The run folders stay the only source of truth: the Lessons page and the Compare page find a lesson's
runs by their lesson.json (written with runs.write_json_atomic before the run is launched) and their
RunConfig.group. Reading never raises: an unreadable folder counts as no lesson run.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from genaug_core import runs
from genaug_core.errors import RunError

LESSON_FILE = "lesson.json"


def write_lesson_file(run_dir: str | Path, info: dict[str, Any]) -> None:
    runs.write_json_atomic(Path(run_dir) / LESSON_FILE, info)


def read_lesson_file(run_dir: str | Path) -> dict[str, Any] | None:
    """lesson.json of a run folder, or None when it is missing, unreadable or not a lesson record."""
    try:
        data = json.loads((Path(run_dir) / LESSON_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("lesson"), str) or not isinstance(data.get("setting"), str):
        return None
    if isinstance(data.get("seed"), bool) or not isinstance(data.get("seed"), int):
        return None
    return data


def _lesson_runs(root: str | Path | None = None) -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for rec in runs.list_runs(root):
        info = read_lesson_file(rec.path)
        if info is not None:
            out.append((rec.path, info))
    return out


def _order(items: Iterable[tuple[Path, dict[str, Any]]]) -> list[Path]:
    """Run folders by creation (the planned order: settings in the lesson's order, seeds within each)."""
    return [p for p, _ in sorted(items, key=lambda item: (item[1].get("created", 0.0), item[0].name))]


def group_runs(group: str, root: str | Path | None = None) -> list[Path]:
    """The run folders of one launch (its group id), in the order they were planned."""
    return _order((p, i) for p, i in _lesson_runs(root) if group and i.get("group") == group)


@dataclasses.dataclass
class Launch:
    """One press of "Run lesson" (or one `lesson run`): the runs that share a group id."""

    group: str
    lesson: str
    quick: bool
    seeds: int
    dataset: str | None
    created: float
    run_dirs: list[Path]


def launches(lesson_id: str | None = None, root: str | Path | None = None) -> list[Launch]:
    """Every launch (of one lesson, or of all), newest first."""
    by_group: dict[str, list[tuple[Path, dict[str, Any]]]] = {}
    for path, info in _lesson_runs(root):
        group = info.get("group")
        if isinstance(group, str) and group and (lesson_id is None or info["lesson"] == lesson_id):
            by_group.setdefault(group, []).append((path, info))
    out = []
    for group, items in by_group.items():
        first = items[0][1]
        out.append(Launch(group, first["lesson"], bool(first.get("quick")), int(first.get("seeds") or 0),
                          first.get("dataset"), min(float(i.get("created", 0.0)) for _, i in items), _order(items)))
    return sorted(out, key=lambda launch: launch.created, reverse=True)


@dataclasses.dataclass
class RunProgress:
    """Where one run of a launch stands."""

    path: Path
    label: str  # "setting · seed k"
    state: str  # queued | running | done | failed | cancelled | broken
    step: int
    total: int
    scoring: bool  # trained, and its samples are being scored now
    error: str | None

    @property
    def pending(self) -> bool:
        return self.state in ("queued", "running") or self.scoring


@dataclasses.dataclass
class LessonProgress:
    runs: list[RunProgress]

    @property
    def finished(self) -> int:
        return sum(not r.pending for r in self.runs)

    @property
    def done(self) -> bool:
        """Every run has ended (done, failed or cancelled) and none is still being scored."""
        return all(not r.pending for r in self.runs)

    @property
    def fraction(self) -> float:
        """Share of the work done: finished runs count whole, running ones by their steps."""
        if not self.runs:
            return 1.0
        parts = [1.0 if not r.pending else (0.95 * min(1.0, r.step / r.total) if r.total else 0.0) for r in self.runs]
        return sum(parts) / len(parts)


def lesson_progress(run_dirs: Iterable[str | Path]) -> LessonProgress:
    out = []
    for d in run_dirs:
        path = Path(d)
        rec = runs.inspect_run(path)
        info = read_lesson_file(path) or {}
        label = f"{info.get('setting', rec.name or rec.id)} · seed {info.get('seed', '?')}"
        scoring = False
        if rec.state == "done":
            try:
                status = runs.read_status(path)
                scoring = bool(status.get("evaluating")) and runs.pid_alive(status.get("pid"))
            except RunError:
                pass
        out.append(RunProgress(path, label, rec.state, rec.step, rec.total, scoring, rec.broken or rec.error))
    return LessonProgress(out)
