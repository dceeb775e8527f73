"""`python -m genaug_core augment INPUT --pipeline PIPELINE.json --copies K --seed S --out OUT`.

Writes K augmented copies of every item of INPUT (a data file, several image
files, or a built-in dataset as builtin:NAME or just NAME), using the pipeline
saved from the Augment page. The output format follows OUT's suffix: images
.zip (PNGs in class folders), .npz, or a folder without a suffix; text .jsonl,
.csv or .txt. Exit 0 with a summary line; 2 with one `error: ...` line for a
bad pipeline, input or output.
"""

from __future__ import annotations

import argparse
import os


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="data file(s), or builtin:NAME / NAME of a built-in dataset")
    p.add_argument("--pipeline", required=True, metavar="PIPELINE.json", help="pipeline exported from the Augment page")
    p.add_argument("--copies", type=int, default=1, metavar="K", help="augmented copies of every item (default 1)")
    p.add_argument("--seed", type=int, default=None, metavar="S", help="seed (default: the pipeline's own seed)")
    p.add_argument("--out", required=True, metavar="OUT",
                   help="output file (.zip/.npz for images, .jsonl/.csv/.txt for text) or a folder for PNGs")
    p.add_argument("--include-original", action="store_true", help="also write each original item (copy -1)")
    p.add_argument("--limit", type=int, default=0, metavar="N", help="use only the first N items (0 = all)")
    p.add_argument("--column", default="", help="text column or field of a .csv/.tsv/.jsonl input")
    p.add_argument("--label-column", default="", help="optional column or field with class labels")


def _load(inputs: list[str], column: str, label_column: str):
    from genaug_core.data import BUILTINS, load_builtin
    from genaug_core.errors import DataError

    if len(inputs) == 1:
        name = inputs[0].removeprefix("builtin:")
        if inputs[0].startswith("builtin:") or (name in BUILTINS and not os.path.exists(inputs[0])):
            if name not in BUILTINS:
                raise DataError(f"no built-in dataset of that name; known: {', '.join(BUILTINS)}", inputs[0])
            return load_builtin(name)
    from genaug_core.data.uploads import load_paths

    return load_paths(inputs, text_column=column, label_column=label_column)


def run(args: argparse.Namespace) -> int:
    from genaug_core.augment.export import augment_copies, write
    from genaug_core.augment.pipeline import Pipeline
    from genaug_core.errors import ConfigError

    pipeline = Pipeline.load(args.pipeline)
    if args.limit < 0:
        raise ConfigError(f"--limit = {args.limit} must be 0 (all) or more")
    ds = _load(args.inputs, args.column, args.label_column)
    if args.limit and args.limit < len(ds):
        ds = ds.subset(list(range(args.limit)))
    seed = pipeline.seed if args.seed is None else args.seed
    aug = augment_copies(ds, pipeline, copies=args.copies, seed=seed, include_original=args.include_original)
    print(write(aug, args.out))
    return 0
