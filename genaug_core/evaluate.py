"""Score a run: draw samples from its model and measure them against held-out real data.

    score_samples(ds, samples)          -> flat dict of metrics (text or image)
    evaluate_run(run_dir, n=..., seed=...) -> the same, plus the held-out loss from
                                          metrics.jsonl, written to evaluation.json

The dataset is loaded and preprocessed exactly as the training child did
(same config, same split), so "held-out" means the same real items the model
never trained on. Writes are atomic (runs.write_json_atomic).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from genaug_core import runs
from genaug_core.data import Dataset, load_dataset

EVALUATION_FILE = "evaluation.json"


def run_dataset(run_dir: str | Path) -> Dataset:
    """The run's dataset, loaded and preprocessed as its training child saw it."""
    from genaug_core.data.preprocess import preprocess

    cfg = runs.read_config(run_dir)
    ds, _ = preprocess(load_dataset(cfg.data), cfg.preprocess)
    return ds


def score_samples(ds: Dataset, samples, seed: int = 0) -> dict[str, float]:
    """Metrics of `samples` against the training part (memorisation, novelty) and the validation part (quality)."""
    from genaug_core.metrics import evaluate_images, evaluate_text

    split = ds.split
    if ds.kind == "text":
        train = [ds.texts[i] for i in split.train]
        val = [ds.texts[i] for i in split.validation]
        return evaluate_text(list(samples), train, val, seed=seed)
    labels = ds.labels
    return evaluate_images(
        np.asarray(samples),
        ds.images[split.train],
        ds.images[split.validation],
        train_labels=None if labels is None else labels[split.train],
        val_labels=None if labels is None else labels[split.validation],
        class_names=ds.class_names,
        seed=seed,
    )


def held_out_loss(run_dir: str | Path) -> dict[str, float]:
    """The last validation record of metrics.jsonl (loss, and bits per character for text)."""
    val = runs.read_metrics(run_dir, split="val")
    if not val:
        return {}
    last = val[-1]
    return {f"val_{k}": float(last[k]) for k in ("loss", "bpc") if isinstance(last.get(k), (int, float))} | {
        "val_step": int(last.get("step", 0))
    }


def evaluate_run(run_dir: str | Path, n: int = 256, seed: int = 0, checkpoint: int | str | None = None,
                 write: bool = True, **sample_options: Any) -> dict[str, Any]:
    """Sample n items from the run's model, score them, and (by default) write evaluation.json."""
    run_dir = Path(run_dir)
    model = runs.load_run_model(run_dir, checkpoint)
    ds = run_dataset(run_dir)
    samples = model.sample(n=n, seed=seed, **sample_options)
    result: dict[str, Any] = {
        "step": model.step if model.step is not None else runs.read_status(run_dir).get("step"),
        "checkpoint": "final" if model.step is None else f"checkpoint-{model.step}",
        "n": n,
        "seed": seed,
        "kind": ds.kind,
        **held_out_loss(run_dir),
        **score_samples(ds, samples, seed=seed),
    }
    if write:
        runs.write_json_atomic(run_dir / EVALUATION_FILE, result)
    return result


def read_evaluation(run_dir: str | Path) -> dict[str, Any] | None:
    """evaluation.json of a run, or None if it is missing or unreadable."""
    import json

    try:
        data = json.loads((Path(run_dir) / EVALUATION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
