"""`python -m genaug_core check PATH [PATH ...] [--json]`: load data and print its sanity report.

Several image PATHs load as one dataset (like a multi-file upload). A PATH of
the form builtin:NAME checks a built-in dataset. Exit status 0 with the
report (warnings included); 2 with one `error: <file>: <problem>` line when
the input is rejected.
"""

from __future__ import annotations

import argparse
import json

from genaug_core.data import BUILTINS, load_builtin
from genaug_core.data.checks import run_checks
from genaug_core.errors import DataError

_MARK = {"info": " ", "warn": "!", "error": "x"}


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="data file(s), or builtin:NAME (" + ", ".join(BUILTINS) + ")")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--column", default="", help="text column or field of a .csv/.tsv/.jsonl (default: the one named like text, "
                   "e.g. text or sentence, else the most text-like)")
    p.add_argument("--label-column", default="", help="optional column or field with class labels")
    p.add_argument("--no-header", action="store_true", help="the first row of a .csv/.tsv is data, not column names")
    p.add_argument("--val-fraction", type=float, default=0.1, help="share held out for validation (default 0.1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the train/validation split (default 0)")


def run(args: argparse.Namespace) -> int:
    from genaug_core.config import DataConfig

    # validates val_fraction and seed with the same messages as a config file
    DataConfig(source="check", val_fraction=args.val_fraction, seed=args.seed)
    if len(args.paths) == 1 and args.paths[0].startswith("builtin:"):
        name = args.paths[0].removeprefix("builtin:")
        if name not in BUILTINS:
            raise DataError(f"no built-in dataset of that name; known: {', '.join(BUILTINS)}", args.paths[0])
        ds = load_builtin(name, val_fraction=args.val_fraction, split_seed=args.seed)
    else:
        from genaug_core.data.uploads import load_paths

        ds = load_paths(
            args.paths, text_column=args.column, label_column=args.label_column, has_header=not args.no_header
        )
        ds.val_fraction, ds.seed = args.val_fraction, args.seed
    report = run_checks(ds)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
        return 0
    print(f"{report.name}: {report.kind} dataset, {report.n_items:,} items, {len(report.skipped):,} skipped")
    if ds.meta.get("column"):
        print(f"   text from column {ds.meta['column']!r}")
    for c in report.checks:
        print(f" {_MARK[c.level]} [{c.level:5}] {c.code}: {c.message}")
        if c.items and c.level != "info":
            more = f" (+{c.n_affected - 10:,} more)" if c.n_affected > 10 else ""
            print(f"          items: {', '.join(map(str, c.items[:10]))}{more}")
    for s in report.skipped[:20]:
        print(f"   skipped {s['item']}: {s['reason']}")
    if len(report.skipped) > 20:
        print(f"   … and {len(report.skipped) - 20:,} more skipped")
    return 0
