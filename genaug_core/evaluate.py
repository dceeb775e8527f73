"""Score a run: draw samples from its model and measure them against held-out real data.

    score_samples(ds, samples)          -> flat dict of metrics (text or image)
    evaluate_run(run_dir, n=..., seed=...) -> the same, plus the held-out loss from
                                          metrics.jsonl, written to evaluation.json
                                          (a checkpoint's: evaluation-<step>.json)
    read_evaluation(run_dir)            -> that dict back, or None
    read_evaluation_details(run_dir)    -> samples with their nearest training items

The dataset is loaded and preprocessed exactly as the training child did
(same config, same split), so "held-out" means the same real items the model
never trained on. Writes are atomic (runs.write_json_atomic).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from genaug_core import kinds, runs
from genaug_core.config import read_run_config
from genaug_core.data import Dataset, load_dataset
from genaug_core.errors import ConfigError
from genaug_core.kinds import families

EVALUATION_FILE = runs.EVALUATION_FILE
MAX_DETAILS = families.MAX_DETAILS


def run_dataset(run_dir: str | Path) -> Dataset:
    """The run's dataset, loaded and preprocessed as its training child saw it."""
    from genaug_core.data.preprocess import preprocess

    cfg = read_run_config(run_dir)
    ds, _ = preprocess(load_dataset(cfg.data), cfg.preprocess)
    return ds


def score_samples(ds: Dataset, samples, seed: int = 0, cache_dir: str | Path | None = None) -> dict[str, float]:
    """Metrics of `samples` against the training part (memorisation, novelty) and the validation part (quality)."""
    return score_samples_detailed(ds, samples, seed=seed, cache_dir=cache_dir)[0]


def score_samples_detailed(ds: Dataset, samples, seed: int = 0, cache_dir: str | Path | None = None,
                           max_details: int = MAX_DETAILS) -> tuple[dict[str, float], dict[str, Any]]:
    """(metrics, details): details pair each of the first `max_details` samples with its nearest training item
    (the data kind's family decides the metrics and the details' form: genaug_core/kinds/families.py).
    Memorisation is measured against the items the model trained on (a reduced training part when
    DataConfig.max_train_items is set)."""
    family = kinds.kinds_for(ds.kind)[0]  # every kind of a data type scores its samples the same way
    return family.score(ds, samples, seed=seed, cache_dir=cache_dir, max_details=max_details)


def held_out_loss(run_dir: str | Path, step: int | None = None) -> dict[str, float]:
    """The last validation record of metrics.jsonl (at or before `step` if given): loss, and bpc for text."""
    val = runs.read_metrics(run_dir, split="val")
    if step is not None:
        val = [r for r in val if isinstance(r.get("step"), int) and r["step"] <= step]
    if not val:
        return {}
    last = val[-1]
    return {f"val_{k}": float(last[k]) for k in ("loss", "bpc") if isinstance(last.get(k), (int, float))} | {
        "val_step": int(last.get("step", 0))
    }


def evaluation_stem(step: int | None = None) -> str:
    """File stem of a scoring: "evaluation" for the final model, "evaluation-<step>" for a checkpoint."""
    return "evaluation" if step is None else f"evaluation-{int(step)}"


def features_cache_dir(run_dir: str | Path) -> Path:
    """Where image feature networks are cached on disk: <runs root>/.features (a dot folder is no run)."""
    return Path(run_dir).resolve().parent / ".features"


def evaluate_run(run_dir: str | Path, n: int = 256, seed: int = 0, checkpoint: int | str | None = None,
                 write: bool = True, **sample_options: Any) -> dict[str, Any]:
    """Sample n items from the run's model, score them, and (by default) write the result into the run folder.

    The final model's scores go to evaluation.json, a checkpoint's to evaluation-<step>.json, so
    scoring a checkpoint never hides the final numbers. Beside each: <stem>-details.json (each of
    the first samples with its nearest training item and the distance) and, for images,
    <stem>-samples.npz (the samples and their nearest training images, uint8; no pickle).
    """
    run_dir = Path(run_dir)
    if n < 4 or n > 10_000:
        raise ConfigError(f"n = {n} samples is out of range; allowed: 4 to 10000")
    t0 = time.perf_counter()
    model = kinds.load_run_model(run_dir, checkpoint)
    ds = run_dataset(run_dir)
    samples = model.sample(n=n, seed=seed, **sample_options)
    t_sample = time.perf_counter() - t0
    metrics, details = score_samples_detailed(ds, samples, seed=seed, cache_dir=features_cache_dir(run_dir))
    step = model.step
    result: dict[str, Any] = {
        "step": step if step is not None else runs.read_status(run_dir).get("step"),
        "checkpoint": "final" if step is None else f"checkpoint-{step}",
        "n": n,
        "seed": seed,
        "kind": ds.kind,
        "model_kind": model.model_kind.name,
        "n_train": int(len(ds.split.train)),
        **held_out_loss(run_dir, step),
        **metrics,
        "seconds_sampling": round(t_sample, 2),
        "seconds_total": round(time.perf_counter() - t0, 2),
    }
    if write:
        stem = evaluation_stem(step)
        model.model_kind.write_details(run_dir, stem, details)
        runs.write_json_atomic(run_dir / f"{stem}.json", result)
    return result


def list_evaluations(run_dir: str | Path) -> list[int | None]:
    """Steps of the checkpoint scorings in the run folder, oldest first, then None for the final one if present."""
    steps: list[int | None] = []
    for p in Path(run_dir).glob("evaluation-*.json"):
        m = re.match(r"^evaluation-([0-9]+)\.json$", p.name)
        if m:
            steps.append(int(m.group(1)))
    out: list[int | None] = sorted(steps)  # type: ignore[arg-type]
    if (Path(run_dir) / EVALUATION_FILE).exists():
        out.append(None)
    return out


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_evaluation_details(run_dir: str | Path, step: int | None = None) -> dict[str, Any] | None:
    """The per-sample details of a scoring (images with their arrays loaded), or None if missing or unreadable."""
    run_dir = Path(run_dir)
    stem = evaluation_stem(step)
    details = _read_json(run_dir / f"{stem}-details.json")
    family = kinds.kinds_for(details.get("kind", "")) if details is not None else []
    return family[0].read_details(run_dir, stem, details) if family else None


def read_evaluation(run_dir: str | Path, step: int | None = None) -> dict[str, Any] | None:
    """A run's scores: evaluation.json, or evaluation-<step>.json; None if missing or unreadable.

    With step None and no final scoring, the newest checkpoint scoring is returned (a cancelled run).
    """
    run_dir = Path(run_dir)
    if step is not None:
        return _read_json(run_dir / f"{evaluation_stem(step)}.json")
    data = _read_json(run_dir / EVALUATION_FILE)
    if data is None:
        steps = [s for s in list_evaluations(run_dir) if s is not None]
        data = _read_json(run_dir / f"{evaluation_stem(steps[-1])}.json") if steps else None
    return data


def evaluate_after_training(run_dir: str | Path, n: int) -> dict[str, Any] | None:
    """Score a run that just finished training (the training child calls this); never raises.

    status.json says `evaluating: true` meanwhile (the job runner keeps the run's slot, so the
    next queued run does not start on the same cores), then `evaluated: true`, or
    `evaluation_error` with the message; the traceback goes to log.txt. A scoring failure
    never fails the run: the model is saved and the run stays done.
    """
    run_dir = Path(run_dir)
    log = runs.RunLog(run_dir, enabled=True)
    try:
        runs.write_status(run_dir, evaluating=True)
        log(f"evaluation: scoring {n} samples against the held-out real data")
        result = evaluate_run(run_dir, n=n, seed=0)
        runs.write_status(run_dir, evaluating=False, evaluated=True, evaluation_error=None)
        log(f"evaluation: written to {EVALUATION_FILE} in {result['seconds_total']:.1f} s")
        return result
    except Exception as exc:  # noqa: BLE001 - scoring is a bonus; the trained model must stay "done"
        message = f"{type(exc).__name__}: {exc}"
        log.traceback()
        log(f"evaluation failed (the run stays done): {message}")
        try:
            runs.write_status(run_dir, evaluating=False, evaluated=False, evaluation_error=message)
        except OSError:
            pass
        return None
    finally:
        log.close()
