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

    .venv/bin/python bench/train_image.py --dataset photos --minutes 6 [--size 64] --out /tmp/grids

Photos (issue 13): 300 training and 200 held-out images cut from scikit-learn's two
`load_sample_images()` photographs (china.jpg and flower.jpg, one class each: random square crops
resized to --size), built here, never written to the repository. Two arms train in the same run,
each through the real loop for a wall-time budget (--minutes, or per arm: --minutes pixel=30,latent=8; a
STOP file at the deadline, which the loop answers with a checkpoint): (a) `pixel`, the pixel-space DDPM,
which was the default before issue 13, and (b) `latent`, today's default (`model.kind = "auto"`, which
picks the ldm kind above 16x16; the autoencoder phase is included in its wall time).
Each arm checkpoints regularly; up to --points checkpoints spread over its wall time are scored:
FD in the project's learnt feature space (genaug_core.metrics, the feature network trained on the
300 training photos) of --n class-conditional samples against the 200 held-out photos. Printed:
FD against wall time per arm, the wall time each arm needs to reach each FD level, images/s, and
a sample grid PNG per arm (the last checkpoint) in --out.
Target: the latent arm reaches the FD the pixel arm reaches after 30 minutes in <= 5 minutes.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402  (bench/machine.py)

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
    "ema_warmup_epsilon": {
        "model": {"image": {"prediction_type": "epsilon", "guidance_scale": 1.0}},
        "train": {"ema_power": 2 / 3},
    },  # fmt: skip
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


# --- photos: pixel vs latent diffusion against wall time (issue 13) ---------------------------------

# arm -> config overrides. "pixel" is the pixel-space DDPM, which `model.kind = "auto"` picked for every image
# size before issue 13; "latent" is today's default, `auto`, which picks the ldm kind above 16x16 (the log's
# model line, printed per arm, names what it resolved to).
PHOTO_ARMS: dict[str, dict] = {
    "pixel": {"model": {"kind": "ddpm"}},
    "latent": {"model": {"kind": "auto"}},
    # recipes measured against it (issue 13): an EMA of the weights, then also the digits' v-prediction +
    # guidance 2
    "latent_ema": {"model": {"kind": "auto"}, "train": {"ema_decay": 0.995}},
    "latent_v_g2_ema": {
        "model": {"kind": "auto", "latent": {"prediction_type": "v_prediction", "guidance_scale": 2.0}},
        "train": {"ema_decay": 0.995},
    },
}
PHOTO_EVERY = {
    "pixel": 25,
    "latent": 100,
    "latent_ema": 100,
    "latent_v_g2_ema": 100,
}  # checkpoint every N steps (the latent arm runs many more steps/s)


def photos_dataset(size: int, n_train: int = 300, n_val: int = 200, seed: int = 0):
    """(n_train + n_val) random square crops of china.jpg (class 0) and flower.jpg (class 1), resized to
    size x size, as an ImageDataset whose split holds out n_val of them (stratified)."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    from genaug_core.data.containers import ImageDataset

    photos = load_sample_images()
    rng = np.random.default_rng(seed)
    n = n_train + n_val
    images, labels = [], []
    for cls, picture in enumerate(photos.images):  # (427, 640, 3) each
        h, w, _ = picture.shape
        for _ in range(n // 2):
            side = int(rng.integers(h // 6, h // 2))  # crops of 71-213 px: textures and objects, not the whole scene
            y, x = int(rng.integers(0, h - side)), int(rng.integers(0, w - side))
            crop = Image.fromarray(picture[y : y + side, x : x + side]).resize((size, size), Image.BICUBIC)
            images.append(np.asarray(crop))
            labels.append(cls)
    names = [Path(f).stem for f in photos.filenames]
    return ImageDataset(name=f"photos {size}x{size}", source="bench:photos", images=np.stack(images),
                        labels=np.array(labels), class_names=names, val_fraction=n_val / n, seed=seed)  # fmt: skip


def train_arm(name: str, ds, minutes: float, tmp: Path, every: int, threads: int, clock: str):
    """Train one arm for `minutes` on `clock` ("wall" seconds, or "cpu": this process's CPU seconds, a
    stand-in for a quiet machine's wall time when other work shares the cores and threads = 1), counted from
    the arm's start (the autoencoder phase included); a STOP file at the deadline, answered by the loop with
    a checkpoint. Returns (run folder, {step: {"wall": s, "cpu": s}} when each checkpoint appeared)."""
    import threading

    from genaug_core import kinds, runs
    from genaug_core.config import RunConfig
    from genaug_core.train.loop import train

    d = merge(PHOTO_ARMS[name], {
        "name": f"photos {name}", "data": {"source": "digits"},  # the run trains on `ds`, passed in below
        "train": {"steps": 1_000_000, "checkpoint_every": every, "keep_checkpoints": 100,
                  "eval_every": 0, "num_samples": 0, "eval_samples": 0, "log_every": 50, "threads": threads},
    })  # fmt: skip
    cfg = RunConfig.from_dict(d)
    run = runs.create_run(cfg, run_dir=tmp / name)
    seen: dict[int, dict[str, float]] = {}
    done = threading.Event()
    t0, c0 = time.perf_counter(), time.process_time()

    def watch() -> None:  # every 0.5 s: stamp new checkpoints, stop at the deadline
        while not done.wait(0.5):
            now = {"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0}
            for step, _ in runs.list_checkpoints(run):
                seen.setdefault(step, now)
            if now[clock] >= minutes * 60 and not runs.stop_requested(run):
                (run / runs.STOP_FILE).write_text("bench deadline")

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        train(cfg, run, progress=False, dataset=ds)
    finally:
        done.set()
        watcher.join()
    now = {"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0}
    for step, _ in runs.list_checkpoints(run):
        seen.setdefault(step, now)
    print(f"{name}: {now['wall']:.0f}s wall, {now['cpu']:.0f} CPU s, stopped at step {runs.read_status(run)['step']}")
    stamps = sorted(seen.items())
    if len(stamps) >= 2:  # the diffusion phase's speed between the first and the last checkpoint, per clock
        (s0, t0_), (s1, t1_) = stamps[0], stamps[-1]
        batch = cfg.train.resolved(kinds.for_run_config(cfg, "image")).batch_size
        per = {c: (s1 - s0) * batch / max(t1_[c] - t0_[c], 1e-9) for c in ("wall", "cpu")}
        print(
            f"{name}: diffusion steps {s0}-{s1}: {per['wall']:,.0f} images per wall second, "
            f"{per['cpu']:,.0f} per CPU second (batch {batch})"
        )
    return run, seen


def score_checkpoint(run: Path, step: int, ds, n: int, cache: Path) -> tuple[dict, np.ndarray]:
    """(metrics, images): n class-conditional samples (classes in turn) of a run's checkpoint, scored against ds's
    held-out images in the learnt features (the image family's scoring, the same for every image kind)."""
    from genaug_core import kinds

    loaded = kinds.load_run_model(run, step)
    k = len(loaded.meta.get("class_names") or [])
    images = loaded.sample(n, seed=0, class_ids=[i % k for i in range(n)] if k else None)
    metrics, _ = kinds.get_kind("ddpm").score(ds, images, seed=0, cache_dir=cache)
    return metrics, images


def score_arm(name: str, run: Path, seen: dict, clock: str, ds, points: int, n: int, cache: Path) -> list[dict]:
    """FD (learnt features) of n class-conditional samples at up to `points` checkpoints spread over the arm's
    time on `clock` (autoencoder phase included)."""
    from genaug_core import runs

    states = [(step, seen[step][clock]) for step, _ in runs.list_checkpoints(run) if step in seen]
    if not states:
        return []
    targets = np.linspace(states[-1][1] / points, states[-1][1], points)
    picked = sorted({min(states, key=lambda s: abs(s[1] - t))[0] for t in targets})
    rows = []
    for step, at in (s for s in states if s[0] in picked):
        metrics, images = score_checkpoint(run, step, ds, n, cache)
        rows.append({"arm": name, "step": step, "time_s": at, "fd": metrics["fd"],
                     "recall": metrics.get("recall"), "images": images})  # fmt: skip
    return rows


def arm_minutes(spec: str, arms: list[str]) -> dict[str, float]:
    """--minutes: one number for every arm, or "pixel=30,latent=8" (an arm left out gets the first figure)."""
    if "=" not in spec:
        return dict.fromkeys(arms, float(spec))
    given = {k.strip(): float(v) for k, v in (part.split("=", 1) for part in spec.split(","))}
    unknown = set(given) - set(arms)
    if unknown:
        raise SystemExit(f"--minutes names arms not in --arms: {', '.join(sorted(unknown))}")
    first = next(iter(given.values()))
    return {a: given.get(a, first) for a in arms}


def bench_photos(
    size: int,
    minutes: dict[str, float],
    arms: list[str],
    points: int,
    n: int,
    out: Path | None,
    threads: int = 0,
    clock: str = "wall",
) -> None:
    from genaug_core import runs

    ds = photos_dataset(size)
    split = ds.split
    print(
        f"\n## photos {size}x{size} ({clock} clock): {len(split.train)} training, {len(split.validation)} held-out images, "
        f"2 classes ({', '.join(ds.class_names)}); minutes per arm {minutes}; FD of {n} class-conditional samples"
    )
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in arms:
            every = max(1, PHOTO_EVERY[name] // (5 if minutes[name] < 1 else 1))
            run, seen = train_arm(name, ds, minutes[name], tmp, every, threads, clock)
            train_recs = runs.read_metrics(run, "train")
            speed = float(np.median([r["images_per_s"] for r in train_recs])) if train_recs else float("nan")
            log = (run / runs.LOG_FILE).read_text(encoding="utf-8")
            model_line = next((ln for ln in log.splitlines() if "] model: " in ln), "")
            print(f"{name}: {model_line.split('] ', 1)[-1]}; ~{speed:,.0f} images/s (median of the log lines)")
            results[name] = score_arm(name, run, seen, clock, ds, points, n, tmp / "features")
            if out is not None and results[name]:
                from genaug_core.models.image import make_grid

                out.mkdir(parents=True, exist_ok=True)
                last = results[name][-1]
                path = out / f"photos{size}-{name}-step{last['step']}.png"
                runs.write_png(path, make_grid(last["images"][:32], ncols=8), scale=max(1, 64 // size))
                print(f"{name}: sample grid {path}")
        print(f"\n| arm | step | {clock} s | FD | recall |")
        print("|---|---:|---:|---:|---:|")
        for name in arms:
            for r in results[name]:
                print(f"| {name} | {r['step']} | {r['time_s']:.0f} | {r['fd']:.3f} | {r['recall']:.3f} |")
        # the FD levels: each new best FD of the pixel arm, so the table reads "the latent arm reaches
        # the FD the pixel arm had after X s in Y s"
        ref = "pixel" if "pixel" in arms else arms[0]
        levels, best = [], float("inf")
        for r in results[ref]:
            if r["fd"] < best:
                best = r["fd"]
                levels.append(best)
        print(f"\n{clock} time to reach each FD level {ref} reached (first scored checkpoint at or below it):")
        print("| FD level | " + " | ".join(arms) + " |")
        print("|---:|" + "---:|" * len(arms))
        for level in levels:
            cells = []
            for name in arms:
                hit = next((r for r in results[name] if r["fd"] <= level), None)
                cells.append(f"{hit['time_s']:.0f} s" if hit else "not reached")
            print(f"| {level:.3f} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the default variant only, 400 steps")
    parser.add_argument("--variants", default="default", help=f"comma-separated: {', '.join(VARIANTS)}, or all")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--every", type=int, default=200, help="checkpoint (and judge) every N steps")
    parser.add_argument("-n", type=int, default=256, help="samples judged per checkpoint")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads (photos: train.threads of each arm; 0 = auto)"
    )
    parser.add_argument("--sample-only", type=Path, help="only time sampling from this run folder")
    parser.add_argument(
        "--guidance",
        default="",
        help="judge each checkpoint at these comma-separated "
        "classifier-free guidance scales too (default: only the run's own)",
    )
    parser.add_argument("--judge-only", type=Path, help="only judge the checkpoints of this run folder")
    parser.add_argument("--dataset", choices=("digits", "photos"), default="digits")
    parser.add_argument("--size", type=int, default=32, help="photos: image side in pixels")
    parser.add_argument(
        "--minutes", default="6", help="photos: wall-time budget of each arm, or per arm: pixel=30,latent=8"
    )
    parser.add_argument("--arms", default="pixel,latent", help=f"photos: comma-separated from {', '.join(PHOTO_ARMS)}")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="photos: budget and times in wall seconds, or this process's CPU seconds (shared cores)",
    )
    parser.add_argument(
        "--ae-steps", type=int, default=0, help="photos: the latent arm's autoencoder_steps (0 = the kind's default)"
    )
    parser.add_argument("--points", type=int, default=6, help="photos: checkpoints scored per arm")
    parser.add_argument("--out", type=Path, help="photos: folder for the sample grid PNG of each arm")
    args = parser.parse_args()
    torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}"
    )
    print(f"machine: {describe()}")
    if args.dataset == "photos":
        arms = args.arms.split(",")
        minutes = arm_minutes("0.75" if args.quick else args.minutes, arms)
        points, n = (2, 32) if args.quick else (args.points, args.n)
        if args.ae_steps:
            PHOTO_ARMS["latent"] = merge(
                PHOTO_ARMS["latent"], {"model": {"latent": {"autoencoder_steps": args.ae_steps}}}
            )
        print(f"arms: {json.dumps({a: PHOTO_ARMS[a] for a in arms})}")
        bench_photos(args.size, minutes, arms, points, n, args.out, args.threads, args.clock)
        return
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
