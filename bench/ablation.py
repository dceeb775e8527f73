"""A real ablation on a reduced training set: does augmentation (or an L1/L2 setting) help?

    python bench/ablation.py [--dataset digits|names|both] [--kind augmentation|penalty|noise]
                             [--train-items 300] [--steps N] [--quick]

Launches one ablation group per dataset through the job runner (the same
path as the Compare page's button), waits, and prints each run's held-out
loss and sample metrics from its evaluation.json. Scores are deterministic
for the seeds in the configs; wall time depends on the machine's load.
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from genaug_core import runs  # noqa: E402
from genaug_core.ablation import ablation_configs  # noqa: E402
from genaug_core.augment.pipeline import Pipeline, Step, default_pipeline  # noqa: E402
from genaug_core.config import RunConfig, read_run_config  # noqa: E402
from genaug_core.evaluate import read_evaluation  # noqa: E402
from genaug_core.train import jobs  # noqa: E402

SETUPS = {
    # dataset: (config file, default steps, pipeline, metrics to print)
    "digits": ("digits_ddpm.toml", 1200, default_pipeline("image"),
               ["val_loss", "fd", "kid", "precision", "recall", "coverage", "memorised_share_pixel"]),
    "names": ("names_gpt2.toml", 1500,
              # character edits that keep the alphabet of lower-case names (keyboard/OCR noise would not)
              Pipeline("text", (Step("char_edit", {"op": "any", "rate": 0.1}, p=1.0),)),
              ["val_loss", "val_bpc", "novelty", "distinct_2", "memorised_share", "nn_distance_mean", "length_w1"]),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", choices=["digits", "names", "both"], default="both")
    ap.add_argument("--kind", choices=["augmentation", "penalty", "noise"], default="augmentation")
    ap.add_argument("--train-items", type=int, default=300)
    ap.add_argument("--steps", type=int, default=0, help="0 = the dataset's default above")
    ap.add_argument("--quick", action="store_true", help="a few hundred steps: checks the plumbing, not the science")
    ap.add_argument("--runs-dir", default="", help="where the runs go (default: the runs root)")
    args = ap.parse_args()
    names = ["digits", "names"] if args.dataset == "both" else [args.dataset]
    started: dict[str, list[Path]] = {}
    for name in names:
        file, steps, pipeline, _ = SETUPS[name]
        base = RunConfig.load(ROOT / "configs" / file)
        steps = 150 if args.quick else (args.steps or steps)
        base = base.replace(
            train=base.train.replace(steps=steps, eval_every=max(50, steps // 6), checkpoint_every=0),
            augment=base.augment.replace(pipeline=pipeline.to_dict(), p=0.5),
        )
        cfgs = ablation_configs(base, args.kind, max_train_items=args.train_items,
                                data_kind="image" if name == "digits" else "text")
        started[name] = [jobs.start(c, root=args.runs_dir or None) for c in cfgs]
        print(f"{name}: group {cfgs[0].group}, {len(cfgs)} runs of {steps} steps on {args.train_items} training items")
    t0 = time.time()
    all_dirs = [d for ds in started.values() for d in ds]
    while True:
        jobs.tick(all_dirs[0].parent)
        recs = [runs.inspect_run(d) for d in all_dirs]
        scoring = [runs.read_status(d).get("evaluating") for d in all_dirs]
        if all(r.state in runs.FINISHED for r in recs) and not any(scoring):
            break
        time.sleep(2)
    print(f"all runs finished in {time.time() - t0:.0f} s\n")
    for name, dirs in started.items():
        keys = SETUPS[name][3]
        print(f"== {name}")
        print(f"{'run':58}" + "".join(f"{k:>14}" for k in keys))
        for d in dirs:
            ev = read_evaluation(d) or {}
            label = read_run_config(d).name.removeprefix("ablation: ")
            cells = "".join(f"{ev[k]:>14.4f}" if isinstance(ev.get(k), (int, float)) else f"{'-':>14}" for k in keys)
            print(f"{label:58}{cells}   {runs.inspect_run(d).state}")
        print()


if __name__ == "__main__":
    main()
