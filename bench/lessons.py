"""Every lesson at full size (or --quick): the verdict table of each (per seed, mean and std) and its wall time.

    python bench/lessons.py                                   # all lessons, full size, 3 seeds, background runs
    python bench/lessons.py --lesson l1-l2 --seeds 1          # one lesson, one seed per setting
    python bench/lessons.py --lesson image-augmentation --dataset digits shapes --train-items 100 300
    python bench/lessons.py --quick                           # seconds a run: checks the plumbing, not the science
    python bench/lessons.py --in-process                      # one run after another in this process

By default the runs go through the job runner, as from the Lessons page: GENAUG_MAX_RUNS at a time
(default: one per core), each child picking its own threads. --in-process trains them one after
another here (lesson run's path). The wall time includes every run's start, training and scoring;
it depends on what else the machine runs. --dataset and --train-items apply to image-augmentation
only (every combination is one verdict). A lesson that cannot start is reported and the next one runs;
the exit status is then 1.
"""

import argparse
import contextlib
import itertools
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from genaug_core import lessons  # noqa: E402
from genaug_core.errors import GenAugError  # noqa: E402


def _background(lesson_id: str, quick: bool, seeds: int | None, root: str | None, dataset: str | None,
                overrides: dict) -> lessons.Verdict:
    t0 = time.perf_counter()
    launch = lessons.start_lesson(lesson_id, quick=quick, seeds=seeds, root=root, dataset=dataset, overrides=overrides)
    last = [0.0]

    def report(state) -> None:
        if time.perf_counter() - last[0] > 30:
            last[0] = time.perf_counter()
            print(f"  {state.finished}/{len(state.runs)} runs finished, {time.perf_counter() - t0:.0f} s",
                  file=sys.stderr, flush=True)

    lessons.wait_for(launch.run_dirs, root=root, progress=report)
    return lessons.verdict_for(lesson_id, launch.run_dirs, wall_s=round(time.perf_counter() - t0, 1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lesson", nargs="+", default=None, help="lesson ids (default: all)")
    ap.add_argument("--quick", action="store_true", help="the quick size (seconds a run)")
    ap.add_argument("--seeds", type=int, default=None, help="seeds per setting (default: the lesson's, 3 or 1 quick)")
    ap.add_argument("--dataset", nargs="+", default=None, help="image-augmentation: datasets (digits, shapes)")
    ap.add_argument("--train-items", nargs="+", type=int, default=None, help="image-augmentation: training items")
    ap.add_argument("--in-process", action="store_true", help="train one run after another in this process")
    ap.add_argument("--runs-dir", default=None, help="where the runs go (default: the runs root)")
    args = ap.parse_args()
    ids = args.lesson or [le.id for le in lessons.list_lessons()]
    failed = 0
    for lesson_id in ids:
        lesson = lessons.get_lesson(lesson_id)
        datasets = [None]
        items: list[int | None] = [None]
        if lesson.id == "image-augmentation":
            datasets = args.dataset or [next(iter(lesson.datasets))]
            items = args.train_items or [None]
        for dataset, n in itertools.product(datasets, items):
            overrides = {"data": {"max_train_items": n}} if n else {}
            what = " · ".join(x for x in (lesson.id, dataset, f"{n} training items" if n else None) if x)
            print(f"== {what}", flush=True)
            try:
                verdict = _run(lesson.id, args, dataset, overrides)
            except GenAugError as exc:  # e.g. a setting this branch's config does not know yet
                print(f"error: {exc}\n", flush=True)
                failed += 1
                continue
            print(lessons.verdict_text(verdict), flush=True)
            print(flush=True)
    return 1 if failed else 0


def _run(lesson_id: str, args: argparse.Namespace, dataset: str | None, overrides: dict) -> lessons.Verdict:
    if not args.in_process:
        return _background(lesson_id, args.quick, args.seeds, args.runs_dir, dataset, overrides)
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):  # the training logs go to log.txt
        return lessons.run_lesson(lesson_id, quick=args.quick, seeds=args.seeds, root=args.runs_dir, dataset=dataset,
                                  overrides=overrides,
                                  progress=lambda i, k, msg: print(f"  [{i}/{k}] {msg}", file=sys.stderr, flush=True))


if __name__ == "__main__":
    sys.exit(main())
