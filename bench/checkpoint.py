"""Benchmark: what a checkpoint costs the training loop, per default model, against the time-aware cadence.

    .venv/bin/python bench/checkpoint.py [--repeats N]

The loop writes checkpoint-<step>/ every `train.checkpoint_every` steps and,
so that the Sample page has weights from a running run within about a minute,
also every `train.checkpoint_every_s` seconds (default 60). Each row saves a
real checkpoint (save_pretrained weights, AdamW state after one step, the EMA
weights, state.json; written to a temp folder, fsynced, renamed; older ones
pruned) of the model a user gets by default for that data, and reports the
median seconds and that time as a share of the default cadence: the slow-down
a run pays for early samples. Other processes on the machine change every
number here.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# isort: off
import genaug_core  # noqa: E402,F401  (offline defaults before torch loads)
import torch  # noqa: E402

# isort: on

from compile import CASES  # noqa: E402  (bench/compile.py: the same default configs)


def main() -> None:
    from genaug_core import kinds
    from genaug_core.config import RunConfig, TrainConfig
    from genaug_core.data import load_dataset
    from genaug_core.data.preprocess import preprocess
    from genaug_core.train.checkpoint import save_checkpoint
    from genaug_core.train.ema import EMA
    from genaug_core.train.loop import build_optimizer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cadence = TrainConfig().checkpoint_every_s
    print(f"\n| model | parameters | checkpoint size MB | seconds per checkpoint (median of {args.repeats}) "
          f"| share of a {cadence:g} s cadence |")  # fmt: skip
    print("|---|---:|---:|---:|---:|")
    for what, overrides in CASES.values():
        cfg = RunConfig.from_dict({**overrides, "train": {"device": "cpu", "ema_decay": 0.995}})
        ds, _ = preprocess(load_dataset(cfg.data), cfg.preprocess)
        kind = kinds.for_run_config(cfg, ds.kind)
        task = kind.make_task(cfg, ds, torch.device("cpu"), 0, None)
        opt = build_optimizer(task.model, cfg.train.resolved(kind), torch.device("cpu"))
        task.loss(task.model, 0)[0].backward()
        opt.step()
        ema = EMA(task.model, 0.995)
        times = []
        with tempfile.TemporaryDirectory() as tmp:
            run = Path(tmp)
            for i in range(args.repeats):
                t = time.perf_counter()
                path = save_checkpoint(run, i + 1, lambda f, task=task: task.save(task.model, f), opt, ema, {"total": 1}, keep=2)
                times.append(time.perf_counter() - t)
            size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20
        n = sum(p.numel() for p in task.model.parameters())
        med = statistics.median(times)
        print(f"| {what} ({kind.name}) | {n / 1e6:.2f}M | {size:.1f} | {med:.3f} | {med / cadence:.2%} |", flush=True)


if __name__ == "__main__":
    main()
