"""Benchmark: the augmentation wrapper against the raw library calls, and preview latency.

    python bench/augment.py            # ~30 s
    python bench/augment.py --quick    # ~5 s

Prints images/s and sentences/s for the default 5-step pipelines, once through
`Pipeline.apply` and once calling the very same albumentations Compose /
nlpaug objects directly (same data, same run, interleaved repeats, median),
with the ratio (target >= 0.9). Then the median time to re-render the
16-item preview after a parameter change (target < 150 ms): a new pipeline
is built, its library objects are built, 16 items x 4 variants are augmented
with their drawn parameters, and the grid picture is tiled.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genaug_core.augment import pipeline as pl  # noqa: E402
from genaug_core.augment import preview  # noqa: E402
from genaug_core.augment.pipeline import default_pipeline  # noqa: E402
from genaug_core.data import load_builtin  # noqa: E402


def best_of(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def bench_images(images: np.ndarray, repeats: int) -> tuple[float, float]:
    pipe = default_pipeline("image")
    pipe.apply(images[:2])  # build and cache the Compose
    _, h, w, c = images.shape
    plan = pl._image_plan(pipe._key, h, w, c)
    compose = plan.compose

    def raw():
        compose.set_random_state(np.random.default_rng(0), random.Random(0))
        return np.stack([compose(image=img)["image"] for img in images])

    ours_t, raw_t = [], []
    for _ in range(repeats):  # interleaved, so machine noise hits both alike
        ours_t += best_of(lambda: pipe.apply(images, seed=0), 1)
        raw_t += best_of(raw, 1)
    n = len(images)
    return n / statistics.median(ours_t), n / statistics.median(raw_t)


def bench_texts(texts: list[str], repeats: int) -> tuple[float, float]:
    pipe = default_pipeline("text")
    pipe.apply(texts[:2])
    plan = pl._text_plan(pipe._key)
    steps = [(s.p, fn.aug) for s, fn in zip(plan.steps, plan.fns, strict=True)]

    def raw():
        random.seed(0)
        np.random.seed(0)
        out = []
        for t in texts:
            for p, aug in steps:
                if random.random() < p:
                    t = aug.augment(t)[0] if t else t
            out.append(t)
        return out

    ours_t, raw_t = [], []
    for _ in range(repeats):
        ours_t += best_of(lambda: pipe.apply(texts, seed=0), 1)
        raw_t += best_of(raw, 1)
    n = len(texts)
    return n / statistics.median(ours_t), n / statistics.median(raw_t)


def bench_preview(images: np.ndarray, repeats: int) -> float:
    base = default_pipeline("image")
    ids = list(range(16))
    times = []
    for i in range(repeats):
        t = time.perf_counter()
        # a slider moved: a new rotation range, never seen before, so nothing is cached
        pipe = base.replace_step(0, params={**base.steps[0].params, "rotate": [-10.0 - i * 0.01, 10.0]})
        grid, drawn = preview.image_variants(pipe, images[ids], ids, 4, seed=i)
        preview.tile(grid)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer items and repeats (~5 s)")
    args = ap.parse_args()
    n_img, n_txt, repeats = (300, 300, 3) if args.quick else (2000, 2000, 7)

    digits = load_builtin("digits").images[:n_img]  # (N, 8, 8, 1)
    shapes = load_builtin("shapes", n=n_img, size=32).images  # (N, 32, 32, 3)
    prose = load_builtin("prose").texts[:n_txt]

    rows = []
    for label, data in [("images 8x8x1 (digits)", digits), ("images 32x32x3 (shapes)", shapes)]:
        ours, raw = bench_images(data, repeats)
        rows.append((label, "images/s", ours, raw))
    ours, raw = bench_texts(prose, repeats)
    rows.append(("sentences (prose)", "sentences/s", ours, raw))

    print(f"{'data':26} {'unit':12} {'genaug_core':>12} {'raw library':>12} {'ratio':>6}")
    for label, unit, ours, raw in rows:
        flag = "" if ours / raw >= 0.9 else "  < 0.9!"
        print(f"{label:26} {unit:12} {ours:12,.0f} {raw:12,.0f} {ours / raw:6.2f}{flag}")
    ms = bench_preview(shapes, 5 if args.quick else 21)
    print(
        f"preview re-render after a parameter change (16 items x 4 variants, 32x32x3): median {ms:.1f} ms"
        f"{'' if ms < 150 else '  > 150 ms!'}"
    )


if __name__ == "__main__":
    main()
