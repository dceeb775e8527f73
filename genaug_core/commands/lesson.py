"""`python -m genaug_core lesson`: list the lessons, or run one and print its measured verdict.

    python -m genaug_core lesson list [--json]
    python -m genaug_core lesson run text-augmentation --quick --json     # seconds; checks the plumbing
    python -m genaug_core lesson run l1-l2 --seeds 3 --runs-dir runs/      # the full lesson, ~10 minutes

`run` trains the lesson's runs in this process, one after another (each run folder's log.txt holds its
training log; stderr says which run is training), then prints the verdict: per-seed numbers, mean and
standard deviation per setting, each comparison of the claim and whether it held, and the wall time.
With --json it prints one JSON object instead:

    {"lesson", "claim", "held", "seeds", "runs": [{"name", "setting", "seed", "metrics", "run_dir", ...}],
     "summary": {metric: {setting: [mean, std]}}, "reason", "comparisons", ...}

The exit status is 0 whether the claim held or not (the verdict is a result, not an error); bad input
(an unknown lesson, seeds out of range) exits 2 with one `error:` line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path


def add_parser(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="lesson_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="the registered lessons", description="the registered lessons")
    ls.add_argument("--json", action="store_true", help="print the lessons as one JSON list")
    run = sub.add_parser("run", help="run a lesson and print its verdict", description="run a lesson and print its verdict")
    run.add_argument("lesson", metavar="ID", help="a lesson id (see `lesson list`)")
    run.add_argument("--quick", action="store_true", help="the quick size: seconds, for tests and smoke checks")
    run.add_argument("--seeds", type=int, help="seeds per setting, 1-10 (default: 3 full, 1 quick)")
    run.add_argument("--dataset", help="for lessons that offer several datasets (e.g. digits, shapes)")
    run.add_argument("--json", action="store_true", help="print the verdict as one JSON object")
    run.add_argument("--runs-dir", type=Path, help="where the run folders go (default: $GENAUG_RUNS_DIR or ./runs)")


def _list(args: argparse.Namespace) -> int:
    from genaug_core.lessons import list_lessons

    lessons = list_lessons()
    if args.json:
        print(json.dumps([{"id": le.id, "title": le.title, "claim": le.claim_text, "reference": le.reference,
                           "settings": [s.name for s in le.settings], "seeds": le.seeds,
                           "datasets": list(le.datasets)} for le in lessons], indent=2, ensure_ascii=False))
        return 0
    width = max(len(le.id) for le in lessons)
    for le in lessons:
        print(f"{le.id:<{width}}  {le.title}")
        print(f"{'':<{width}}  {len(le.settings)} settings x {le.seeds} seeds; claim: {le.claim_text}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from genaug_core.lessons import get_lesson, run_lesson, verdict_text
    from genaug_core.lessons.plan import seeds_for

    lesson = get_lesson(args.lesson)  # unknown id: RegistryError -> exit 2 with the known ids
    seeds_for(lesson, args.quick, args.seeds)  # bad --seeds: ConfigError before anything trains

    def progress(i: int, n: int, message: str) -> None:
        print(f"[{i}/{n}] {message}", file=sys.stderr, flush=True)

    # the training loop logs every step to stdout; those lines go to each run's log.txt, not here
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        verdict = run_lesson(lesson.id, quick=args.quick, seeds=args.seeds, root=args.runs_dir,
                             progress=progress, dataset=args.dataset)
    if args.json:
        print(json.dumps(verdict.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(verdict_text(verdict))
    return 0


def run(args: argparse.Namespace) -> int:
    return _list(args) if args.lesson_command == "list" else _run(args)
