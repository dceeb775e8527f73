"""Job runner and Train/Sample page costs: concurrency, polling, start latency, sampling during a run.

    python bench/jobs.py [--quick]

1. Two runs started together: each keeps >= 40% of the speed of one run alone
   (tokens/s from metrics.jsonl; each child uses the cores the rest of the
   machine leaves free, re-measured every 2 s: train/cores.py).
2. Sampling in the app process while a run trains: under 2x its idle time.
3. The Train page's polling work with 100 runs in the folder: under 50 ms.
4. jobs.start() returns to the page in under 1 s.

Run it on a quiet machine: other processes distort every number here.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # this process plays the app, which sets it (genaug_core)
import genaug_core  # noqa: E402,F401
from genaug_core import kinds, runs, viz  # noqa: E402
from genaug_core.config import RunConfig  # noqa: E402
from genaug_core.train import jobs  # noqa: E402


def config(steps: int) -> RunConfig:
    cfg = RunConfig.load(ROOT / "configs" / "names_gpt2.toml")
    return cfg.replace(
        train=cfg.train.replace(steps=steps, eval_every=0, checkpoint_every=0, log_every=10, num_samples=0, threads=0)
    )


def wait_done(run_dirs, timeout=1800):
    deadline = time.time() + timeout
    while time.time() < deadline:
        jobs.tick(run_dirs[0].parent)
        if all(runs.inspect_run(d).state in runs.FINISHED for d in run_dirs):
            return
        time.sleep(0.5)
    raise TimeoutError("runs did not finish")


def speed(run_dir: Path) -> float:
    """Median training speed (tokens/s) over the run's logged steps, warm-up excluded."""
    return statistics.median(r["tokens_per_s"] for r in runs.read_metrics(run_dir, split="train") if r["step"] > 20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter runs")
    args = ap.parse_args()
    steps = 300 if args.quick else 1500  # long enough that the two runs overlap for most of their steps
    root = Path(tempfile.mkdtemp(prefix="genaug-bench-jobs-"))
    try:
        # 4. start latency (and 1: one run alone)
        t = time.perf_counter()
        alone = jobs.start(config(steps), root=root)
        start_s = time.perf_counter() - t
        wait_done([alone])
        s_alone = speed(alone)

        # 1. two runs started together
        pair = [jobs.start(config(steps), root=root) for _ in range(2)]
        wait_done(pair)
        s_pair = [speed(d) for d in pair]

        # 2. sampling in this process, idle vs during a run
        model = kinds.load_run_model(alone)
        import torch

        def sample_time() -> float:
            torch.set_num_threads(jobs.free_threads())
            times = []
            for seed in range(3):
                t = time.perf_counter()
                model.sample(n=32, seed=seed, max_new_tokens=32)
                times.append(time.perf_counter() - t)
            return statistics.median(times)

        idle = sample_time()
        busy_run = jobs.start(config(steps * 3), root=root)
        while runs.inspect_run(busy_run).state != "running":
            time.sleep(0.2)
        time.sleep(3)
        busy = sample_time()
        jobs.cancel(busy_run)
        wait_done([busy_run])

        # 3. polling with 100 runs
        for i in range(100 - len(runs.list_runs(root))):
            shutil.copytree(alone, root / f"20250101-000000-{i:06x}")
        runs.list_runs(root)  # the app's first poll fills the cache
        polls = []
        for _ in range(20):
            t = time.perf_counter()
            jobs.tick(root)
            records = runs.list_runs(root)
            rec = records[0]
            viz.loss_curves({rec.id: runs.read_metrics(rec.path)}, metric="bpc")
            runs.list_samples(rec.path)
            polls.append(time.perf_counter() - t)
        poll = statistics.median(polls)

        print(f"{'measure':52} {'value':>12}  target")
        print(f"{'start() returns after':52} {start_s:>10.3f} s  < 1 s")
        print(f"{'one run alone (tokens/s)':52} {s_alone:>12,.0f}")
        for i, s in enumerate(s_pair):
            print(f"{f'run {i + 1} of two together (tokens/s)':52} {s:>12,.0f}  {s / s_alone:.0%} of alone (>= 40%)")
        print(f"{'sampling 32 names, idle':52} {idle:>10.3f} s")
        print(f"{'sampling 32 names, a run training':52} {busy:>10.3f} s  {busy / idle:.2f}x idle (< 2x)")
        print(f"{'polling work, 100 runs in the folder (median)':52} {poll * 1000:>9.1f} ms  < 50 ms")
    finally:
        for rec in runs.list_runs(root):
            if rec.state in ("running", "queued"):
                jobs.cancel(rec.path)
        time.sleep(1)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
