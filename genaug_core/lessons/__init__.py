"""Lessons: published effects of augmentation and regularisation, re-run at CPU scale with measured verdicts.

- spec.py: what a lesson is (`Lesson`, `Setting`, `Sizes`, the claim items `Compare` and `InteriorOptimum`,
  `Derived` rows) and the `LESSONS` registry with its `@lesson` decorator.
- catalog.py: the registered lessons (text-augmentation, image-augmentation, l1-l2, collapse, temperature);
  `get_lesson`, `list_lessons`.
- plan.py: a lesson's runs as validated RunConfigs (sizes, dataset, settings, seeds, names, group).
- store.py: lesson.json in each run folder; finding a launch's runs; progress.
- verdict.py: the numbers of a run (`run_metrics`), the claim checked on per-setting means (`check_claim`),
  the `Verdict` computed from the run folders alone (`verdict_for`).
- runner.py: `run_lesson` (in this process), `start_lesson` / `cancel_lesson` (background, job runner).
- report.py: a verdict as plain-text tables (CLI, bench).

Importing this package imports no torch; training starts only in runner.run_lesson or a job-runner child.
"""

from genaug_core.lessons.catalog import get_lesson, list_lessons
from genaug_core.lessons.plan import PlannedRun, plan_runs
from genaug_core.lessons.report import verdict_text
from genaug_core.lessons.runner import cancel_lesson, run_lesson, start_lesson, wait_for
from genaug_core.lessons.spec import LESSONS, Compare, Derived, InteriorOptimum, Lesson, Setting, Sizes, lesson
from genaug_core.lessons.store import LESSON_FILE, Launch, launches, lesson_progress, read_lesson_file
from genaug_core.lessons.verdict import Verdict, check_claim, run_metrics, verdict_for

__all__ = [
    "LESSONS", "LESSON_FILE", "Compare", "Derived", "InteriorOptimum", "Launch", "Lesson", "PlannedRun", "Setting",
    "Sizes", "Verdict", "cancel_lesson", "check_claim", "get_lesson", "launches", "lesson", "lesson_progress",
    "list_lessons", "plan_runs", "read_lesson_file", "run_lesson", "run_metrics", "start_lesson", "verdict_for",
    "verdict_text", "wait_for",
]  # fmt: skip
