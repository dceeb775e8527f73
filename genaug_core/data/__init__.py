"""Data: containers, built-in datasets, uploads, preprocessing and sanity checks.

`load_dataset(DataConfig)` is the one door every consumer (pages, CLI,
training child) uses: a built-in name loads from installed packages, anything
else is treated as a path to a file the user supplied.
"""

from __future__ import annotations

from genaug_core.config import DataConfig
from genaug_core.data.builtin import BUILTINS, load_builtin
from genaug_core.data.containers import Dataset, ImageDataset, SkippedItem, Split, TextDataset, make_split

__all__ = [
    "BUILTINS",
    "Dataset",
    "ImageDataset",
    "SkippedItem",
    "Split",
    "TextDataset",
    "load_builtin",
    "load_dataset",
    "make_split",
]


def load_dataset(cfg: DataConfig) -> Dataset:
    """Load the dataset a DataConfig names, with its train/validation split settings."""
    if cfg.source in BUILTINS:
        ds = load_builtin(cfg.source, val_fraction=cfg.val_fraction, split_seed=cfg.seed, **cfg.params)
    else:
        from genaug_core.data.uploads import load_paths

        paths = [p for p in cfg.source.split("::") if p]  # several image files: "a.png::b.png"
        ds = load_paths(paths, text_column=cfg.text_column, label_column=cfg.label_column)
        ds.val_fraction, ds.seed = cfg.val_fraction, cfg.seed
    ds.max_train = cfg.max_train_items  # the split's training part is cut to this (validation stays whole)
    return ds
