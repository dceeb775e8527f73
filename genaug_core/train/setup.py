"""Turn "the dataset on screen + the settings on the Train page" into a RunConfig.

A built-in dataset is named in the config (the child loads it again, with
the same parameters, split and preprocessing). An uploaded dataset exists
only in the app's memory, so it is staged first: written once, after
preprocessing, to a content-addressed file in a temp folder (JSONL for text,
NPZ for images; never pickle) that the training child loads like any upload.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from genaug_core.config import DataConfig, PreprocessConfig, RunConfig
from genaug_core.data import BUILTINS, Dataset
from genaug_core.data.export import images_to_npz, text_to_jsonl

STAGE_ENV = "GENAUG_STAGE_DIR"


def stage_dir() -> Path:
    """Where staged uploads go: $GENAUG_STAGE_DIR, else <system temp>/genaug-data."""
    return Path(os.environ.get(STAGE_ENV) or Path(tempfile.gettempdir()) / "genaug-data")


def stage_dataset(ds: Dataset) -> Path:
    """Write `ds` to a file named by its content hash (written once; atomic) and return the path."""
    data, ext = (text_to_jsonl(ds), "jsonl") if ds.kind == "text" else (images_to_npz(ds), "npz")
    folder = stage_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:24]}.{ext}"
    if not path.exists():
        tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return path


def merge_overrides(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`base` (a config as a dict) with the nested sections of `extra` merged in, key by key; a dataset's
    `params` and an augmentation `pipeline` are replaced whole (their keys belong together). Inputs stay as they are."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key not in ("params", "pipeline"):
            out[key] = merge_overrides(out[key], value)
        else:
            out[key] = value
    return out


def run_config_for(spec: dict[str, Any], ds: Dataset, overrides: dict[str, Any] | None = None) -> RunConfig:
    """The RunConfig for dataset `ds` (loaded as `spec` says) with the page's settings in `overrides`.

    spec: {"source": built-in name or "upload", "params": {...}, "val_fraction", "seed", "preprocess": {...}}
    overrides: nested sections of RunConfig, e.g. {"train": {"steps": 500}, "regularization": {...}}.
    """
    source = spec.get("source", "")
    split = {"val_fraction": float(spec.get("val_fraction", 0.1)), "seed": int(spec.get("seed", 0))}
    if source in BUILTINS:
        data = DataConfig(source=source, params=dict(spec.get("params", {})), **split)
        preprocess = PreprocessConfig.from_dict(spec.get("preprocess") or {})
    else:  # an upload: stage the cleaned data; preprocessing is already applied
        data = DataConfig(source=str(stage_dataset(ds)), **split)
        preprocess = PreprocessConfig(normalize_whitespace=False)
    base = RunConfig(data=data, preprocess=preprocess).to_dict()
    return RunConfig.from_dict(merge_overrides(base, overrides or {}))
