"""Filters before synthetic data is reused for training (the article's "security hardening").

    filter_text(samples, training_texts, cfg, ...)   -> FilterResult(kept indices, dropped per filter)
    filter_images(samples, training_images, cfg, ...) -> the same for uint8 (N, H, W, C) images

Pure functions of their inputs: what a model of each data kind sampled, what it trained on,
and the SelfTrainConfig thresholds. The model kinds call them (genaug_core/kinds/families.py);
self-training reports how many items each filter dropped.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np

BLANK_STD = 2.0  # images whose pixel standard deviation (uint8 units) is below this are blank / constant
FILTERS_TEXT = ("empty", "too_short", "too_long", "alphabet", "duplicate", "copy", "low_quality")
FILTERS_IMAGE = ("blank", "low_confidence", "duplicate", "copy", "low_quality")


@dataclasses.dataclass
class FilterResult:
    """kept: indices of the items that passed, in order; dropped: filter name -> items it dropped.
    Each item is counted under the first filter that drops it (in the order of `dropped`)."""

    kept: np.ndarray
    dropped: dict[str, int]

    @property
    def n_kept(self) -> int:
        return len(self.kept)


def text_alphabet(texts: list[str]) -> set[str]:
    return set("".join(texts))


def bigram_quality(samples: list[str], real_texts: list[str]) -> np.ndarray:
    """Per sample, the geometric-mean probability per character (0-1) under a character-bigram model
    of `real_texts` (add-one smoothing; start and end of an item count as characters)."""
    chars = sorted(text_alphabet(real_texts))
    index = {c: i + 1 for i, c in enumerate(chars)}  # 0 = start / end of an item
    v = len(chars) + 1
    counts = np.ones((v, v))  # add-one smoothing
    for t in real_texts:
        ids = [0, *(index[c] for c in t), 0]
        np.add.at(counts, (ids[:-1], ids[1:]), 1)
    logp = np.log(counts / counts.sum(1, keepdims=True))
    out = np.zeros(len(samples))
    for n, s in enumerate(samples):
        if any(c not in index for c in s):
            continue  # unknown characters: quality 0
        ids = [0, *(index[c] for c in s), 0]
        out[n] = float(np.exp(logp[ids[:-1], ids[1:]].mean()))
    return out


def filter_text(
    samples: list[str],
    training_texts: list[str],
    cfg,
    alphabet: set[str] | None = None,
    max_length: int | None = None,
    quality: np.ndarray | None = None,
) -> FilterResult:
    """Which text samples may be reused for training.

    training_texts: what the model trained on (copies of these are dropped); alphabet: the allowed
    characters (default: those of training_texts); max_length: default cfg.max_length, or when that
    is 0 the longest training text; quality: a score per sample for cfg.quality_threshold.
    """
    alphabet = text_alphabet(training_texts) if alphabet is None else alphabet
    longest = cfg.max_length or max_length or max((len(t) for t in training_texts), default=0)
    seen_train = set(training_texts) if cfg.drop_copies else set()
    dropped = dict.fromkeys(FILTERS_TEXT, 0)
    kept, seen = [], set()
    for i, s in enumerate(samples):
        if not s.strip():
            reason = "empty"
        elif len(s) < cfg.min_length:
            reason = "too_short"
        elif longest and len(s) > longest:
            reason = "too_long"
        elif not set(s) <= alphabet:
            reason = "alphabet"
        elif cfg.drop_duplicates and s in seen:
            reason = "duplicate"
        elif s in seen_train:
            reason = "copy"
        elif cfg.quality_threshold > 0 and quality is not None and quality[i] < cfg.quality_threshold:
            reason = "low_quality"
        else:
            reason = None
        if reason:
            dropped[reason] += 1
        else:
            kept.append(i)
        seen.add(s)
    return FilterResult(np.asarray(kept, dtype=np.int64), dropped)


def _rms_to_nearest(samples: np.ndarray, reference: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """RMS pixel distance (pixels scaled to 0-1) of each sample to its nearest reference image."""
    a = samples.reshape(len(samples), -1).astype(np.float32) / 255.0
    b = reference.reshape(len(reference), -1).astype(np.float32) / 255.0
    if len(b) == 0:
        return np.full(len(a), np.inf)
    b2 = (b * b).sum(1)
    out = np.empty(len(a))
    for s in range(0, len(a), chunk):
        x = a[s : s + chunk]
        d2 = (x * x).sum(1)[:, None] + b2[None, :] - 2.0 * x @ b.T  # (n, m) squared distances
        out[s : s + chunk] = np.sqrt(np.maximum(d2.min(1), 0.0) / a.shape[1])
    return out


def filter_images(
    samples: np.ndarray,
    training_images: np.ndarray,
    cfg,
    confidence: np.ndarray | None = None,
) -> FilterResult:
    """Which image samples (uint8 (N, H, W, C)) may be reused for training.

    training_images: what the model trained on (samples within cfg.copy_distance of one are copies);
    confidence: the real-data classifier's probability of each sample's class (None: no classifier),
    used by cfg.min_confidence and, as the quality score, by cfg.quality_threshold.
    """
    n = len(samples)
    reasons: list[str | None] = [None] * n
    blank = samples.reshape(n, -1).astype(np.float32).std(1) < BLANK_STD
    copies = np.zeros(n, dtype=bool)
    if cfg.drop_copies and len(training_images):
        copies = _rms_to_nearest(samples, training_images) <= cfg.copy_distance
    seen: set[bytes] = set()
    for i in range(n):
        key = samples[i].tobytes()
        if blank[i]:
            reasons[i] = "blank"
        elif confidence is not None and cfg.min_confidence > 0 and confidence[i] < cfg.min_confidence:
            reasons[i] = "low_confidence"
        elif cfg.drop_duplicates and key in seen:
            reasons[i] = "duplicate"
        elif copies[i]:
            reasons[i] = "copy"
        elif confidence is not None and cfg.quality_threshold > 0 and confidence[i] < cfg.quality_threshold:
            reasons[i] = "low_quality"
        seen.add(key)
    counts = Counter(r for r in reasons if r)
    return FilterResult(
        np.asarray([i for i, r in enumerate(reasons) if r is None], dtype=np.int64),
        {name: counts.get(name, 0) for name in FILTERS_IMAGE},
    )
