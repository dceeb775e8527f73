"""Benchmark: what torch.compile costs and gains per model kind, hence its break-even step count.

    .venv/bin/python bench/compile.py [--cases text,digits,image32] [--steps N] [--precision auto|no]

For each case the training step is the loop's (genaug_core/train/loop.py): the
kind's Task and loss on its real batches, the loop's fused AdamW, gradient
clipping, under the precision the loop picks here ("auto") or forced fp32
("no"). It is timed twice from the same initial weights:

  eager     N steps after 3 warm-up steps: seconds per step;
  compiled  torch.compile(model) (inductor, what Accelerate's dynamo_backend
            does): the wall time of the first 3 steps (compiling happens there,
            including the recompile a second call shape may trigger), then N
            steps: seconds per step.

    break-even steps = (compiled first 3 steps - 3 x eager step) / (eager step - compiled step)

A run with more planned steps than this gains from compiling (its wall time,
compile included, is lower). The kinds' `compile_break_even` numbers
(genaug_core/kinds/*.py) come from this table. Compile times here are cold in
a fresh process only for the first case (inductor caches kernels on disk
between processes: run each case alone, `--cases text`, for cold figures).
Other processes on the machine change every number here: run it alone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# isort: off
import genaug_core  # noqa: E402,F401  (offline defaults before torch loads)
import torch  # noqa: E402

# isort: on

from machine import describe  # noqa: E402  (bench/machine.py)

# case -> (what, RunConfig overrides): the defaults a user gets for that data
CASES = {
    "text": ("GPT-2 default (small preset) on prose", {"data": {"source": "prose"}}),
    "digits": ("DDPM default on 8x8 digits", {"data": {"source": "digits"}}),
    "image32": ("DDPM default on 32x32 RGB shapes", {"data": {"source": "shapes", "params": {"n": 300, "size": 32}}}),
}
FIRST = 3  # compiled steps whose wall time includes the compiling


def build(overrides: dict, precision: str):
    """(kind, task, step function, description) exactly as the loop builds them for this config."""
    from genaug_core import kinds
    from genaug_core.config import RunConfig
    from genaug_core.data import load_dataset
    from genaug_core.data.preprocess import preprocess
    from genaug_core.train.loop import build_optimizer, lr_at, resolve_precision

    cfg = RunConfig.from_dict(
        {**overrides, "train": {"device": "cpu", "num_samples": 0, "mixed_precision": precision}}
    )
    ds, _ = preprocess(load_dataset(cfg.data), cfg.preprocess)
    kind = kinds.for_run_config(cfg, ds.kind)
    bf16 = resolve_precision(precision, kind.bf16_autocast, "cpu") == "bf16"
    tc = cfg.train.resolved(kind)

    def make(compiled: bool):
        torch.manual_seed(tc.seed)
        task = kind.make_task(cfg, ds, torch.device("cpu"), 0, None)
        model = task.model.train()
        opt = build_optimizer(model, tc, torch.device("cpu"))
        fwd = torch.compile(model) if compiled else model

        def step(i: int) -> None:
            for g in opt.param_groups:
                g["lr"] = lr_at(i, tc)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss, _ = task.loss(fwd, i)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
            opt.step()
            opt.zero_grad(set_to_none=True)

        return task, step

    return kind, make, "bf16 autocast" if bf16 else "fp32"


def timed(step, start: int, n: int) -> float:
    t = time.perf_counter()
    for i in range(start, start + n):
        step(i)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated: {', '.join(CASES)}")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per arm (after warm-up / compiling)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (median taken)")
    parser.add_argument("--precision", default="auto", choices=("auto", "no"), help="no = force fp32")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = all cores)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; machine: {describe()}")
    print("\n| case | precision | eager s/step | compiled s/step | speed-up | compile overhead s | break-even steps |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name in args.cases.split(","):
        what, overrides = CASES[name]
        kind, make, prec = build(overrides, args.precision)
        task, eager = make(False)
        _, comp = make(True)
        timed(eager, 0, FIRST)  # warm-up, the same steps the compiled arm compiles on
        first = timed(comp, 0, FIRST)
        e, c = [], []
        for r in range(args.rounds):  # interleaved: drifting load hits both arms alike
            start = 100 + r * args.steps
            e.append(timed(eager, start, args.steps) / args.steps)
            c.append(timed(comp, start, args.steps) / args.steps)
        es, cs = statistics.median(e), statistics.median(c)
        overhead = first - FIRST * es
        gain = es - cs
        even = f"{overhead / gain:,.0f}" if gain > 0 else "never (not faster)"
        print(f"| {what} ({kind.name}; {task.describe()}) | {prec} | {es:.4f} | {cs:.4f} | {es / cs:.2f}x "
              f"| {overhead:.1f} | {even} |", flush=True)


if __name__ == "__main__":
    main()
