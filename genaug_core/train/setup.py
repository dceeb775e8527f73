"""Turn "the dataset on screen + the settings on the Train page" into a RunConfig.

A built-in dataset is named in the config (the child loads it again, with
the same parameters, split and preprocessing). An uploaded dataset exists
only in the app's memory, so it is staged first (genaug_core/data/staged.py):
the dataset exactly as the Data page shows it, after preprocessing, written
once to its owner's stage folder; the config records the file, its SHA-256
and the upload's name, and the child reads it back without applying the
upload limits or any preprocessing again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genaug_core.config import DataConfig, PreprocessConfig, RunConfig, merge_settings
from genaug_core.data import BUILTINS, Dataset, staged

STAGE_ENV = staged.STAGE_ENV


def stage_dir(owner: str | None = None) -> Path:
    """Where `owner`'s staged uploads go: $GENAUG_STAGE_DIR/<owner>, else <system temp>/genaug-data/<owner>."""
    return staged.owner_dir(owner)


def stage_dataset(ds: Dataset, owner: str | None = None) -> Path:
    """Stage `ds` (written once, named by its content hash, atomic) and return the path."""
    return staged.stage(ds, owner)[0]


def upload_name(spec: dict[str, Any], ds: Dataset) -> str:
    """How the user knows an uploaded dataset: its file name(s), as uploaded."""
    files = [str(f) for f in spec.get("files") or []]
    name = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "") if files else ds.name
    return name[:200]


def run_config_for(
    spec: dict[str, Any], ds: Dataset, overrides: dict[str, Any] | None = None, owner: str | None = None
) -> RunConfig:
    """The RunConfig for dataset `ds` (loaded as `spec` says) with the page's settings in `overrides`.

    spec: {"source": built-in name or "upload", "params": {...}, "val_fraction", "seed", "preprocess": {...},
           "files": [uploaded file names]}
    overrides: nested sections of RunConfig, e.g. {"train": {"steps": 500}, "regularization": {...}}.
    owner: the workspace id whose stage folder an upload goes to (None: single-user mode).
    """
    source = spec.get("source", "")
    split = {"val_fraction": float(spec.get("val_fraction", 0.1)), "seed": int(spec.get("seed", 0))}
    if source in BUILTINS:
        data = DataConfig(source=source, params=dict(spec.get("params", {})), **split)
        preprocess = PreprocessConfig.from_dict(spec.get("preprocess") or {})
    else:  # an upload: stage the cleaned data as shown; nothing is cleaned again
        path, sha = staged.stage(ds, owner)
        data = DataConfig(source=str(path), name=upload_name(spec, ds), sha256=sha, **split)
        preprocess = PreprocessConfig(missing="keep", normalize_whitespace=False)
    base = RunConfig(data=data, preprocess=preprocess).to_dict()
    return RunConfig.from_dict(merge_settings(base, overrides or {}))
