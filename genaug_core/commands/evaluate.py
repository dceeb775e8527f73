"""`python -m genaug_core evaluate`: score a run's model against held-out real data.

    python -m genaug_core evaluate --run-dir runs/<id>                    # the final model -> evaluation.json
    python -m genaug_core evaluate --run-dir runs/<id> --checkpoint 500   # checkpoint-500 -> evaluation-500.json
    python -m genaug_core evaluate --run-dir runs/<id> -n 1000 --seed 1 --json

Draws -n samples (seed --seed), scores them with genaug_core.metrics against the
run's own split (memorisation and novelty against the items it trained on,
quality against the validation items it never saw) and writes the scores into
the run folder: the final model's to evaluation.json, a checkpoint's to
evaluation-<step>.json (so re-scoring a checkpoint never hides the final
numbers), each with <stem>-details.json (samples beside their nearest training
item) and, for images, <stem>-samples.npz. A finished training run is scored
like this automatically (TrainConfig.eval_samples samples, default 256).

Prints the headline numbers (or, with --json, the whole result as one JSON
object). A missing or damaged run exits with status 2 and one `error:` line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

# the numbers printed without --json, when present (in this order)
HEADLINE = (
    "val_bpc", "val_loss", "novelty", "memorised_share", "nn_distance_mean", "distinct_2", "self_bleu",
    "fd", "kid", "precision", "recall", "memorised_share_pixel", "class_kl_to_real",
)


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-dir", type=Path, required=True, help="the run folder")
    parser.add_argument("--checkpoint", help="a checkpoint step, 'latest' or 'final' (default: final, else latest)")
    parser.add_argument("-n", "--num", type=int, default=256, help="samples to draw and score (default 256)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the samples and of the metrics' subsets")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--no-write", action="store_true", help="print the scores only, write nothing")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")


def run(args: argparse.Namespace) -> int:
    from genaug_core.errors import ConfigError, RunError
    from genaug_core.evaluate import evaluate_run, evaluation_stem

    if args.num < 4 or args.num > 10_000:
        raise ConfigError(f"-n {args.num} is out of range; allowed: 4 to 10000")
    if not args.run_dir.is_dir():
        raise RunError(f"{args.run_dir}: no such run folder")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    result = evaluate_run(args.run_dir, n=args.num, seed=args.seed, checkpoint=args.checkpoint,
                          write=not args.no_write)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    step = None if result["checkpoint"] == "final" else result["step"]
    print(f"{args.run_dir}: {result['checkpoint']} (step {result['step']}), {result['n']} {result['kind']} samples")
    width = max(len(k) for k in HEADLINE)
    for key in HEADLINE:
        if isinstance(result.get(key), (int, float)):
            print(f"  {key:<{width}}  {result[key]:.4g}")
    if not args.no_write:
        print(f"wrote {args.run_dir / (evaluation_stem(step) + '.json')}")
    return 0
