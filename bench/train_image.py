"""Benchmark: how fast the tiny DDPM learns recognisable digits, and how fast it samples.

    .venv/bin/python bench/train_image.py [--quick] [--variants default,no_ema,...] [--steps N]
    .venv/bin/python bench/train_image.py --sample-only runs/<id>     # only the sampling table
    .venv/bin/python bench/train_image.py --variants default --guidance 1,2,3   # each checkpoint at 3 guidance scales
    .venv/bin/python bench/train_image.py --judge-only runs/<id> --guidance 1,2  # judge an existing run's checkpoints

Each variant trains through the real loop (genaug_core.train) on the
built-in digits, writing a checkpoint every `--every` steps. Every
checkpoint is then judged like the issue asks: 256 samples (class ids
cycling 0-9 when the model is conditional) are downsampled to 8x8 and
classified by a logistic regression trained on real 8x8 digits; the score is
the mean top-class probability, and all ten classes must be predicted. The
mean distance to the nearest real training digit guards against a classifier
fooled by stripes (ENVIRONMENT.md). The ceiling is the same score on
held-out real digits.

Target: score >= 0.75 with all ten classes within 180 s of training on 2
cores, and (issue 13) class-conditional samples >= 0.95x the held-out real
score within 120 s; sampling 64 digits with the default sampler in under 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# isort: off
import genaug_core  # noqa: E402,F401  (offline defaults before torch loads)
import numpy as np  # noqa: E402
import torch  # noqa: E402

# isort: on

ROOT = Path(__file__).resolve().parents[1]

# variant name -> overrides of configs/digits_ddpm.toml (the default)
VARIANTS: dict[str, dict] = {
    "default": {},
    "no_ema": {"train": {"ema_decay": 0.0}},
    "unconditional": {"model": {"image": {"class_conditional": False}}},
    "16x16": {"model": {"image": {"image_size": 16}}},
    "cosine_250": {"model": {"image": {"beta_schedule": "squaredcos_cap_v2", "num_train_timesteps": 250}}},
    "lr_2e-3": {"train": {"lr": 2e-3}},
    # issue 13: faster-converging recipes and classifier-free guidance. The config's default is v-prediction,
    # sampled with guidance 2; "epsilon" is the recipe before it. A guidance variant trains the same model
    # as its base and samples it otherwise; --guidance 1,2 judges every checkpoint at both without retraining.
    "epsilon": {"model": {"image": {"prediction_type": "epsilon", "guidance_scale": 1.0}}},
    "min_snr_5_epsilon": {"model": {"image": {"prediction_type": "epsilon", "guidance_scale": 1.0, "snr_gamma": 5.0}}},
    "ema_warmup_epsilon": {"model": {"image": {"prediction_type": "epsilon", "guidance_scale": 1.0}},
                           "train": {"ema_power": 2 / 3}},  # fmt: skip
    "min_snr_5": {"model": {"image": {"snr_gamma": 5.0}}},
    "ema_warmup": {"train": {"ema_power": 2 / 3}},  # diffusers' use_ema_warmup power
    "ema_warmup_0.5": {"train": {"ema_power": 0.5}},
    "guidance_1": {"model": {"image": {"guidance_scale": 1.0}}},
    "guidance_1.5": {"model": {"image": {"guidance_scale": 1.5}}},
    "guidance_3": {"model": {"image": {"guidance_scale": 3.0}}},
}


def merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = merge(out.get(k, {}), v) if isinstance(v, dict) else v
    return out


class Judge:
    """Logistic regression (sklearn defaults) on real 8x8 digits in [0, 1], trained on the run's training split."""

    def __init__(self):
        from sklearn.linear_model import LogisticRegression

        from genaug_core.config import DataConfig
        from genaug_core.data import load_dataset

        ds = load_dataset(DataConfig(source="digits"))
        split = ds.split
        self.train_x = self.features(ds.images[split.train])
        self.clf = LogisticRegression(max_iter=2000).fit(self.train_x, ds.labels[split.train])
        self.real_val = ds.images[split.validation]
        self.ceiling = self.score(self.real_val)

    @staticmethod
    def features(images: np.ndarray) -> np.ndarray:
        """uint8 (N, S, S, 1) -> (N, 64) pixels in [0, 1], area-downsampled to 8x8."""
        x = images[..., 0].astype(np.float32)
        s = x.shape[1] // 8
        x = x.reshape(len(x), 8, s, 8, s).mean(axis=(2, 4))
        return (x / 255.0).reshape(len(x), 64)

    def score(self, images: np.ndarray) -> dict:
        f = self.features(images)
        proba = self.clf.predict_proba(f)
        d2 = ((f[:, None, :] - self.train_x[None, :, :]) ** 2).sum(-1)
        return {
            "score": float(proba.max(1).mean()),
            "classes": len(set(proba.argmax(1).tolist())),
            "nn_dist": float(np.sqrt(d2.min(1)).mean()),
        }


def run_variant(name: str, overrides: dict, steps: int, every: int, judge: Judge, n: int, tmp: Path,
                guidance: tuple[float | None, ...] = (None,)):  # fmt: skip
    import tomllib

    from genaug_core import runs
    from genaug_core.config import RunConfig
    from genaug_core.train.loop import train

    base = tomllib.loads((ROOT / "configs" / "digits_ddpm.toml").read_text())
    d = merge(base, overrides)
    d = merge(d, {"train": {"steps": steps, "checkpoint_every": every, "keep_checkpoints": 100, "eval_every": 0,
                            "num_samples": 0}})  # fmt: skip
    cfg = RunConfig.from_dict(d)
    run = runs.create_run(cfg, run_dir=tmp / name)
    t0 = time.perf_counter()
    train(cfg, run, progress=False)
    wall = time.perf_counter() - t0
    return judge_checkpoints(run, name, judge, n, guidance, f"{steps} steps, {wall:.0f}s wall (incl. checkpoints)")


def judge_checkpoints(run: Path, name: str, judge: Judge, n: int, guidance: tuple[float | None, ...] = (None,),
                      title: str = ""):  # fmt: skip
    """Judge every checkpoint of a run folder, once per classifier-free guidance scale (None = the run's own)."""
    from genaug_core import kinds, runs

    rows = []
    for step, path in runs.list_checkpoints(run):
        elapsed = json.loads((path / "state.json").read_text())["elapsed_s"]
        loaded = kinds.load_run_model(run, step)
        k = len(loaded.meta.get("class_names") or [])
        class_ids = [i % k for i in range(n)] if k else None
        for g in guidance:
            opts = {} if g is None else {"guidance_scale": g}
            images = loaded.sample(n, seed=0, class_ids=class_ids, **opts)
            scale = loaded.meta.get("guidance_scale", 1.0) if g is None else g
            rows.append({"variant": name, "step": step, "seconds": elapsed, "guidance": scale, **judge.score(images)})
    speed = runs.read_metrics(run, "train")[-1]["images_per_s"]
    print(f"\n### {name}: {title or run}, ~{speed:,.0f} images/s")
    print("| step | train s | guidance | score | / real | classes | nn dist |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        ratio = r["score"] / judge.ceiling["score"]
        print(f"| {r['step']} | {r['seconds']:.0f} | {r['guidance']:g} | {r['score']:.3f} | {ratio:.2f} | "
              f"{r['classes']} | {r['nn_dist']:.2f} |")  # fmt: skip
    hit = next((r for r in rows if r["score"] >= 0.75 and r["classes"] == 10), None)
    reached = f"{hit['seconds']:.0f}s (step {hit['step']})" if hit else "not reached"
    print(f"time to >= 0.75 with all 10 classes: {reached}")
    return rows, run


def bench_sampling(run_dir: Path, n: int = 64) -> None:
    from genaug_core import kinds

    loaded = kinds.load_run_model(run_dir)
    print(f"\n## Sampling {n} images ({loaded.model.config.sample_size}x{loaded.model.config.sample_size}), "
          f"default: {loaded.meta.get('sampler')} {loaded.meta.get('sample_steps')} steps")  # fmt: skip
    print("| sampler | steps | seconds (best of 3) |")
    print("|---|---:|---:|")
    for sampler, steps in (("ddim", 25), ("ddim", 50), ("dpm", 20), ("dpm", 10)):
        times = []
        for _ in range(3):
            t = time.perf_counter()
            loaded.sample(n, seed=0, sampler=sampler, steps=steps)
            times.append(time.perf_counter() - t)
        print(f"| {sampler} | {steps} | {min(times):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the default variant only, 400 steps")
    parser.add_argument("--variants", default="default", help=f"comma-separated: {', '.join(VARIANTS)}, or all")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--every", type=int, default=200, help="checkpoint (and judge) every N steps")
    parser.add_argument("-n", type=int, default=256, help="samples judged per checkpoint")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--sample-only", type=Path, help="only time sampling from this run folder")
    parser.add_argument("--guidance", default="", help="judge each checkpoint at these comma-separated "
                        "classifier-free guidance scales too (default: only the run's own)")
    parser.add_argument("--judge-only", type=Path, help="only judge the checkpoints of this run folder")
    args = parser.parse_args()
    torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}"
    )
    if args.sample_only:
        bench_sampling(args.sample_only)
        return
    judge = Judge()
    guidance = tuple(float(g) for g in args.guidance.split(",")) if args.guidance else (None,)
    ceiling = judge.ceiling
    print(f"ceiling: held-out real digits score {ceiling['score']:.3f}, {ceiling['classes']} classes, "
          f"nn dist {ceiling['nn_dist']:.2f}")  # fmt: skip
    if args.judge_only:
        judge_checkpoints(args.judge_only, args.judge_only.name, judge, args.n, guidance)
        return
    names = list(VARIANTS) if args.variants == "all" else args.variants.split(",")
    steps, every = (400, 100) if args.quick else (args.steps, args.every)
    with tempfile.TemporaryDirectory() as tmp:
        last_run = None
        for name in names:
            _, run = run_variant(name, VARIANTS[name], steps, every, judge, args.n, Path(tmp), guidance)
            last_run = last_run or run
        bench_sampling(last_run)


if __name__ == "__main__":
    main()
