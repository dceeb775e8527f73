"""Data: containers, built-in datasets, uploads, preprocessing and sanity checks.

`load_dataset(DataConfig)` is the one door every consumer (pages, CLI,
training child) uses: a built-in name loads from installed packages, a staged
upload (DataConfig.sha256 set) is read back as staged (genaug_core/data/staged.py),
anything else is treated as a path to a file the user supplied. `kind_of(source)` says
which kind of dataset ("text" or "image") a source gives, without loading it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from genaug_core.data.builtin import BUILTINS, load_builtin
from genaug_core.data.containers import Dataset, ImageDataset, SkippedItem, Split, TextDataset, make_split

if TYPE_CHECKING:
    from genaug_core.config import DataConfig

__all__ = [
    "BUILTINS",
    "Dataset",
    "ImageDataset",
    "SkippedItem",
    "Split",
    "TextDataset",
    "kind_of",
    "load_builtin",
    "load_dataset",
    "make_split",
]


def __getattr__(name: str):
    # kind_of lives with the upload loaders (it reuses their sniffing); imported on first use so that
    # `import genaug_core.data` does not load Pillow, csv and zipfile for pages that never touch an upload.
    if name == "kind_of":
        from genaug_core.data.uploads.formats import kind_of

        return kind_of
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_dataset(cfg: DataConfig) -> Dataset:
    """Load the dataset a DataConfig names, with its train/validation split settings."""
    if cfg.source in BUILTINS:
        ds = load_builtin(cfg.source, val_fraction=cfg.val_fraction, split_seed=cfg.seed, **cfg.params)
    elif cfg.sha256:  # a staged upload: read back exactly as the Data page showed it (no upload limits again)
        from genaug_core.data.staged import load as load_staged

        ds = load_staged(cfg.source, cfg.sha256, cfg.name)
        ds.val_fraction, ds.seed = cfg.val_fraction, cfg.seed
    else:
        from genaug_core.data.uploads import load_paths

        paths = [p for p in cfg.source.split("::") if p]  # several image files: "a.png::b.png"
        ds = load_paths(paths, text_column=cfg.text_column, label_column=cfg.label_column)
        ds.val_fraction, ds.seed = cfg.val_fraction, cfg.seed
    ds.max_train = cfg.max_train_items  # the split's training part is cut to this (validation stays whole)
    return ds

