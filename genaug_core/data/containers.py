"""Dataset containers shared by every part of GenAug.

A TextDataset is a list of strings; an ImageDataset a uint8 array
(N, H, W, C). Both may carry integer labels with class names, remember where
they came from, list the items that were skipped while loading (with the
reason), and split themselves into train and validation parts with a fixed
seed (stratified by label when labels exist), so every page, the CLI and the
training loop see the same split.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from genaug_core.errors import DataError


@dataclasses.dataclass(frozen=True)
class SkippedItem:
    item: str  # which input: "photos.zip:cats/01.png", "names.csv line 12"
    reason: str  # why it was left out, in plain words

    def to_dict(self) -> dict[str, str]:
        return {"item": self.item, "reason": self.reason}


@dataclasses.dataclass(frozen=True)
class Split:
    """Indices of the training and validation items (disjoint, sorted)."""

    train: np.ndarray  # (N_train,) int64
    validation: np.ndarray  # (N_val,) int64
    seed: int
    val_fraction: float


def make_split(n: int, val_fraction: float = 0.1, seed: int = 0, labels: np.ndarray | None = None) -> Split:
    """Seeded split of range(n); stratified by label, so every class is in both parts when it can be.

    With n >= 2 both parts are non-empty; with n < 2 everything is training data.
    """
    rng = np.random.default_rng(seed)
    if n < 2:
        return Split(np.arange(n, dtype=np.int64), np.zeros(0, dtype=np.int64), seed, val_fraction)
    val: list[np.ndarray] = []
    if labels is not None and len(labels) == n:
        for cls in np.unique(labels):
            idx = np.flatnonzero(labels == cls)
            rng.shuffle(idx)
            k = int(round(len(idx) * val_fraction))
            if len(idx) >= 2:  # a class with a single item stays in training
                val.append(idx[: max(1, k)])
        val_idx = np.concatenate(val) if val else np.zeros(0, dtype=np.int64)
    else:
        perm = rng.permutation(n)
        val_idx = perm[: max(1, int(round(n * val_fraction)))]
    if len(val_idx) == 0 or len(val_idx) >= n:
        perm = rng.permutation(n)
        val_idx = perm[: max(1, min(n - 1, int(round(n * val_fraction))))]
    mask = np.zeros(n, dtype=bool)
    mask[val_idx] = True
    return Split(np.flatnonzero(~mask).astype(np.int64), np.flatnonzero(mask).astype(np.int64), seed, val_fraction)


@dataclasses.dataclass
class _Base:
    name: str  # shown in the UI: "digits", "my_photos.zip"
    source: str  # "builtin:digits", "upload:my_photos.zip"
    labels: np.ndarray | None = None  # (N,) int64 class ids, or None
    class_names: list[str] | None = None  # name of class i, when labels exist
    skipped: list[SkippedItem] = dataclasses.field(default_factory=list)
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)  # loader facts the checks report
    val_fraction: float = 0.1
    seed: int = 0
    max_train: int = 0  # keep at most this many training items, a seeded subset (0 = all); validation stays whole

    def _check_labels(self, n: int) -> None:
        if self.labels is None:
            return
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if self.labels.shape != (n,):
            raise DataError(f"{n} items but {len(self.labels)} labels", self.name)
        if self.class_names is None:
            self.class_names = [str(i) for i in range(int(self.labels.max(initial=-1)) + 1)]
        if n and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise DataError(f"labels must lie in 0..{len(self.class_names) - 1}", self.name)

    @property
    def split(self) -> Split:
        split = make_split(len(self), self.val_fraction, self.seed, self.labels)
        if 0 < self.max_train < len(split.train):  # a reduced training set (DataConfig.max_train_items)
            keep = np.random.default_rng([self.seed, 1]).choice(split.train, self.max_train, replace=False)
            split = dataclasses.replace(split, train=np.sort(keep).astype(np.int64))
        return split

    def __len__(self) -> int:  # pragma: no cover - overridden
        raise NotImplementedError


@dataclasses.dataclass
class TextDataset(_Base):
    texts: list[str] = dataclasses.field(default_factory=list)

    kind = "text"

    def __post_init__(self) -> None:
        self.texts = [str(t) for t in self.texts]
        self._check_labels(len(self.texts))

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, idx: np.ndarray | list[int], name: str | None = None) -> TextDataset:
        idx = np.asarray(idx, dtype=np.int64)
        return dataclasses.replace(
            self,
            name=name or self.name,
            texts=[self.texts[i] for i in idx],
            labels=None if self.labels is None else self.labels[idx],
            skipped=list(self.skipped),
            meta=dict(self.meta),
        )

    def train_texts(self) -> list[str]:
        return [self.texts[i] for i in self.split.train]

    def validation_texts(self) -> list[str]:
        return [self.texts[i] for i in self.split.validation]


@dataclasses.dataclass
class ImageDataset(_Base):
    images: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 1, 1, 1), np.uint8))

    kind = "image"

    def __post_init__(self) -> None:
        images = np.asarray(self.images)
        if images.ndim == 3:
            images = images[..., None]
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise DataError(f"images must have shape (N, H, W, 1 or 3), got {images.shape}", self.name)
        if images.dtype != np.uint8:
            raise DataError(f"images must be uint8, got {images.dtype}", self.name)
        self.images = images
        self._check_labels(len(images))

    def __len__(self) -> int:
        return len(self.images)

    @property
    def height(self) -> int:
        return int(self.images.shape[1])

    @property
    def width(self) -> int:
        return int(self.images.shape[2])

    @property
    def channels(self) -> int:
        return int(self.images.shape[3])

    def subset(self, idx: np.ndarray | list[int], name: str | None = None) -> ImageDataset:
        idx = np.asarray(idx, dtype=np.int64)
        return dataclasses.replace(
            self,
            name=name or self.name,
            images=self.images[idx],
            labels=None if self.labels is None else self.labels[idx],
            skipped=list(self.skipped),
            meta=dict(self.meta),
        )


Dataset = TextDataset | ImageDataset
