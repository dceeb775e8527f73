"""Time the offline metrics (genaug_core.metrics) on the sizes issue #6 names.

    python bench/evaluate.py [--repeat 3] [--quick]

- digits: 1,000 image samples (training digits with Gaussian noise, sigma 30)
  scored against the 1,797 digits (1,618 train / 179 validation), the feature
  network trained from scratch ("cold") and then again from the in-process cache
  ("warm");
- names: 1,000 text samples (a third copies of training names, a third with one
  letter added, a third with their letters shuffled) against the 5,163 names.

Without --quick it also times 32x32 RGB shapes and prose sentences (the
candidate-prefilter path of the text nearest-neighbour search). Prints the median
of --repeat runs. Target from the issue: under 10 s each on 2 cores, feature
network training included once.
"""

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from genaug_core.data import load_builtin  # noqa: E402

TARGET_S = 10.0


def image_case(name: str, params: dict, repeat: int) -> None:
    t0 = time.perf_counter()
    from genaug_core.metrics import features, image

    imports = time.perf_counter() - t0
    ds = load_builtin(name, **params)
    sp = ds.split
    tr, va = ds.images[sp.train], ds.images[sp.validation]
    rng = np.random.default_rng(0)
    base = tr[rng.choice(len(tr), 1000)].astype(np.float64)
    samples = np.clip(base + rng.normal(0, 30, base.shape), 0, 255).astype(np.uint8)
    kw = dict(train_labels=ds.labels[sp.train], val_labels=ds.labels[sp.validation], class_names=ds.class_names)
    cold, warm, train_s = [], [], []
    for _ in range(repeat):
        features.clear_cache()
        t = time.perf_counter()
        m = image.evaluate_images(samples, tr, va, **kw)
        cold.append(time.perf_counter() - t)
        train_s.append(next(iter(features._CACHE.values())).train_seconds)
        t = time.perf_counter()
        image.evaluate_images(samples, tr, va, **kw)
        warm.append(time.perf_counter() - t)
    label = f"{name} {ds.height}x{ds.width}x{ds.channels}: 1,000 samples vs {len(ds):,}"
    report(label, cold, warm, f"feature net {statistics.median(train_s):.2f} s, torch import {imports:.2f} s")
    print(f"    fd {m['fd']:.3f} (real {m['real_fd']:.3f})  kid {m['kid']:.4f}  precision {m['precision']:.3f}  "
          f"recall {m['recall']:.3f}  coverage {m['coverage']:.3f}  memorised(px) {m['memorised_share_pixel']:.3f}  "
          f"classifier val acc {m['classifier_val_accuracy']:.3f}")


def text_case(name: str, params: dict, repeat: int) -> None:
    from genaug_core.metrics import text

    ds = load_builtin(name, **params)
    train, val = ds.train_texts(), ds.validation_texts()
    rng = random.Random(0)
    samples = []
    for i in range(1000):
        s = rng.choice(train)
        if i % 3 == 1:
            s = s + rng.choice("aeiou")
        elif i % 3 == 2:
            s = "".join(rng.sample(s, len(s)))
        samples.append(s)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        m = text.evaluate_text(samples, train, val)
        times.append(time.perf_counter() - t)
    report(f"{name}: 1,000 samples vs {len(ds):,}", times, None, "")
    print(f"    novelty {m['novelty']:.3f}  memorised {m['memorised_share']:.3f}  nn dist {m['nn_distance_mean']:.3f} "
          f"(real {m.get('real_nn_distance_mean', float('nan')):.3f})  distinct-2 {m['distinct_2']:.3f}  "
          f"self-BLEU {m['self_bleu']:.3f}  length W1 {m['length_w1']:.2f}")


def report(label: str, cold: list[float], warm: list[float] | None, note: str) -> None:
    c = statistics.median(cold)
    w = f"  warm {statistics.median(warm):6.2f} s" if warm else " " * 17
    print(f"{label:44} {c:6.2f} s{w}  {'ok' if c < TARGET_S else 'SLOW'}  {note}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one repeat, digits and names only")
    args = ap.parse_args()
    repeat = 1 if args.quick else args.repeat
    print(f"target < {TARGET_S:.0f} s each (cold = feature network trained from scratch)")
    image_case("digits", {}, repeat)
    text_case("names", {}, repeat)
    if not args.quick:
        image_case("shapes", {}, repeat)
        text_case("prose", {}, repeat)


if __name__ == "__main__":
    main()
