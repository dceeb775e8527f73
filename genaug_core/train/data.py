"""Feeding the training loop: random batches of token windows or images, augmented on the fly.

nanoGPT's `get_batch`, not a DataLoader: the data is small and already in
memory. Every batch is drawn from its own seed (run seed, process rank, step),
so a resumed run draws exactly the batches it would have drawn, with no
random-generator state to save, and each data-parallel process draws
different batches.

Text: all training items are joined into one token stream
    <eot> item0 <eot> item1 <eot> ... itemN <eot>
and a batch is B random windows of T+1 tokens (inputs = first T, targets =
last T). With augmentation on, each item a window touches is augmented with
probability p and the window is rebuilt from the augmented items.

Images: a batch is B random training images (N, C, H, W) in [-1, 1] with
their labels; with augmentation on, each is augmented with probability p
(on its uint8 pixels, before conversion). For non-leaking augmentation
(`augment_dim` > 0) `get_with_vectors` also returns each image's describing
vector (B, D): what the pipeline did to it, zeros for an image it left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch


def step_rng(seed: int, rank: int, step: int, stream: int = 0) -> np.random.Generator:
    """The generator of one step's randomness; `stream` separates independent uses."""
    return np.random.default_rng([seed, rank, step, stream])


def step_seed(seed: int, rank: int, step: int, stream: int = 0) -> int:
    """A 63-bit integer seed for torch generators, derived like step_rng."""
    return int(step_rng(seed, rank, step, stream).integers(0, 2**63 - 1))


def load_pipeline(pipeline: dict[str, Any], p: float, kind: str):
    """The augmentation Pipeline for `pipeline` (a dict), or None when augmentation is off."""
    if not pipeline or p == 0:
        return None
    from genaug_core.augment.pipeline import Pipeline  # imported only when used (it loads the libraries)
    from genaug_core.errors import ConfigError

    pipe = Pipeline.from_dict(pipeline)
    if pipe.kind != kind:
        raise ConfigError(f"the augmentation pipeline is for {pipe.kind} data, but this dataset is {kind} data")
    return pipe


class TextBatches:
    """Random (B, T) windows of a token stream, as (inputs, targets) LongTensors."""

    def __init__(
        self,
        items: list[np.ndarray],  # token ids of each item, without special tokens
        eot: int,  # the <|endoftext|> id that separates items
        block_size: int,  # T
        batch_size: int,  # B
        seed: int = 0,
        rank: int = 0,
        texts: list[str] | None = None,  # the raw items, needed only for augmentation
        encode=None,  # list[str] -> list[np.ndarray], needed only for augmentation
        pipeline=None,  # an augmentation Pipeline or None
        p: float = 0.0,  # probability that an item a window touches is augmented
    ):
        if not items:
            raise ValueError("no training text")
        self.items, self.eot, self.T, self.B = items, eot, block_size, batch_size
        self.seed, self.rank = seed, rank
        self.texts, self.encode, self.pipeline, self.p = texts, encode, pipeline, p
        # segment i = [eot] + item i; the stream is all segments plus a closing eot
        self.seg_len = np.array([len(x) + 1 for x in items], dtype=np.int64)
        self.seg_start = np.concatenate([[0], np.cumsum(self.seg_len)[:-1]])
        stream = np.concatenate([np.concatenate([[eot], x]) for x in items] + [np.array([eot])]).astype(np.int64)
        # a stream shorter than one window is repeated (tiny datasets in tests)
        reps = -(-(block_size + 2) // len(stream))
        self.stream = np.tile(stream, reps)

    def __len__(self) -> int:
        return len(self.stream)

    def get(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        rng = step_rng(self.seed, self.rank, step)
        offsets = rng.integers(0, len(self.stream) - self.T - 1, self.B)  # (B,)
        if self.pipeline is None or self.p == 0:
            idx = offsets[:, None] + np.arange(self.T + 1)  # (B, T+1)
            windows = self.stream[idx]
        else:
            windows = self._augmented_windows(offsets, rng, step)
        w = torch.from_numpy(windows)
        return w[:, :-1].contiguous(), w[:, 1:].contiguous()  # inputs (B, T), targets (B, T)

    def _augmented_windows(self, offsets: np.ndarray, rng: np.random.Generator, step: int) -> np.ndarray:
        n = len(self.items)
        plans = []  # per row: (offset inside the first segment, item indices the window spans)
        for o in offsets:
            o = int(o) % int(self.seg_start[-1] + self.seg_len[-1])  # position in one copy of the stream
            first = int(np.searchsorted(self.seg_start, o, side="right") - 1)
            inside, covered, span = o - int(self.seg_start[first]), 0, []
            i = first
            while covered < inside + self.T + 1:
                span.append(i % n)
                covered += int(self.seg_len[i % n])
                i += 1
            plans.append((inside, span))
        # draw which items get augmented, then augment them all in one call
        touched = sorted({i for _, span in plans for i in span})
        chosen = [i for i in touched if rng.random() < self.p]
        new_ids = {}
        if chosen:
            aug_seed = int(rng.integers(0, 2**31 - 1))
            augmented = self.pipeline.apply([self.texts[i] for i in chosen], seed=aug_seed)
            new_ids = dict(zip(chosen, self.encode(list(augmented)), strict=True))
        rows = np.empty((self.B, self.T + 1), dtype=np.int64)
        for r, (inside, span) in enumerate(plans):
            segs = [np.concatenate([[self.eot], new_ids.get(i, self.items[i])]) for i in span]
            inside = min(inside, len(segs[0]) - 1)  # the first item may have shrunk
            row = np.concatenate(segs)[inside:]
            k = span[-1] + 1
            while len(row) < self.T + 1:  # augmented items came out shorter: take following items
                row = np.concatenate([row, [self.eot], self.items[k % n]])
                k += 1
            rows[r] = row[: self.T + 1]
        return rows


def eval_windows(items: list[np.ndarray], eot: int, block_size: int, max_windows: int) -> np.ndarray:
    """Fixed, evenly spaced (K, T+1) windows of the validation stream: the same every evaluation."""
    stream = np.concatenate([np.concatenate([[eot], x]) for x in items] + [np.array([eot])]).astype(np.int64)
    reps = -(-(block_size + 2) // len(stream))
    stream = np.tile(stream, reps)
    last = len(stream) - block_size - 1
    # non-overlapping windows when the stream is long enough, evenly spread otherwise
    k = max(1, min(max_windows, last // block_size + 1))
    starts = np.linspace(0, last, k).round().astype(np.int64)
    return stream[starts[:, None] + np.arange(block_size + 1)]


class ImageBatches:
    """Random batches of images (B, C, S, S) in [-1, 1] and labels (B,) (or None)."""

    def __init__(
        self,
        images: np.ndarray,  # uint8 (N, H, W, C) training images
        labels: np.ndarray | None,  # (N,) int64, or None
        image_size: int,  # S: the size the model trains at
        batch_size: int,  # B
        seed: int = 0,
        rank: int = 0,
        pipeline=None,
        p: float = 0.0,
        augment_dim: int = 0,  # D: the describing vector's length when the model is conditioned on it (0 = not)
    ):
        from genaug_core.models.image import resize, to_model_units

        if len(images) == 0:
            raise ValueError("no training images")
        if augment_dim and pipeline is not None and pipeline.augment_dim != augment_dim:
            raise ValueError(f"augment_dim {augment_dim} is not the pipeline's {pipeline.augment_dim}")
        self.raw, self.labels, self.size, self.B = images, labels, image_size, batch_size
        self.seed, self.rank, self.pipeline, self.p = seed, rank, pipeline, p
        self.augment_dim = augment_dim
        self.x = resize(to_model_units(images), image_size)  # (N, C, S, S), converted once

    def __len__(self) -> int:
        return len(self.raw)

    def get(self, step: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(images (B, C, S, S), labels (B,) or None)."""
        x, y, _ = self.get_with_vectors(step)
        return x, y

    def get_with_vectors(self, step: int) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """(images (B, C, S, S), labels (B,) or None, describing vectors (B, D) or None when augment_dim is 0).

        The same images as get(step): the vectors are read from what the pipeline drew, not drawn anew.
        """
        import torch

        from genaug_core.models.image import resize, to_model_units

        rng = step_rng(self.seed, self.rank, step)
        idx = rng.integers(0, len(self.raw), self.B)  # (B,)
        x = self.x[torch.from_numpy(idx)]  # (B, C, S, S)
        vectors = torch.zeros(self.B, self.augment_dim) if self.augment_dim else None  # un-augmented: zeros
        if self.pipeline is not None and self.p > 0:
            mask = rng.random(self.B) < self.p
            if mask.any():
                chosen, seed = self.raw[idx[mask]], int(rng.integers(0, 2**31 - 1))
                if vectors is None:
                    aug = self.pipeline.apply(chosen, seed=seed)
                else:
                    aug, vec = self.pipeline.apply_with_vectors(chosen, seed=seed)  # vec (b, D)
                    vectors[torch.from_numpy(mask)] = torch.from_numpy(vec)
                x[torch.from_numpy(mask)] = resize(to_model_units(np.asarray(aug)), self.size)
        y = None if self.labels is None else torch.from_numpy(self.labels[idx])
        return x, y, vectors
