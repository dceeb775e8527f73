"""Preprocessing, the article's first step of "regularization augmentation".

Before a model sees the data: empty or missing items are dropped or filled,
texts are cut or padded to a fixed length, images are brought to one size
and channel count, and optionally each image is rescaled to the dataset's
mean L1 or L2 norm (equal "energy" per item). Every function returns a new
dataset plus a list of plain-language notes on what it changed; the input is
never modified.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from genaug_core.budgets import check_op_bytes
from genaug_core.config import PreprocessConfig
from genaug_core.data.containers import Dataset, ImageDataset, SkippedItem, TextDataset
from genaug_core.errors import DataError

_SPACES = re.compile(r"[ \t\u00a0]+")


def preprocess(ds: Dataset, cfg: PreprocessConfig) -> tuple[Dataset, list[str]]:
    """Apply `cfg` to a text or image dataset; returns (new dataset, notes)."""
    if isinstance(ds, TextDataset):
        return preprocess_text(ds, cfg)
    return preprocess_images(ds, cfg)


STR_OVERHEAD = 49  # bytes of a CPython str object beyond its characters (sys.getsizeof(""))


def _str_bytes(length: int, wide: bool) -> int:
    """Bytes of a str of `length` characters: 1 per character when ASCII, at most 4 otherwise."""
    return STR_OVERHEAD + length * (4 if wide else 1)


def text_peak_bytes(texts: list[str], cfg: PreprocessConfig) -> int:
    """The most new memory preprocess_text allocates for `texts`: the normalised copy, the cut copies and
    the padded copies (each list holds new strings while the next is built), from lengths alone; an
    upper bound (a str that is not ASCII is counted at 4 bytes a character)."""
    pad_wide = bool(cfg.pad_to) and not cfg.pad_char.isascii()
    total = 0
    for t in texts:
        n, wide = len(t), not t.isascii()
        if cfg.normalize_whitespace:
            total += _str_bytes(n, wide)
        if cfg.max_chars and n > cfg.max_chars:  # a str that fits is kept as it is, not copied
            n = cfg.max_chars
            total += _str_bytes(n, wide)
        if cfg.pad_to and n < cfg.pad_to:
            total += _str_bytes(cfg.pad_to, wide or pad_wide)
    return total + 3 * 8 * len(texts)  # the lists' pointers


def preprocess_text(ds: TextDataset, cfg: PreprocessConfig) -> tuple[TextDataset, list[str]]:
    """Normalise, fill or drop empties, cut and pad the texts; ConfigError first when that would take
    more memory than the budget per operation (genaug_core.budgets)."""
    parts = [f"cut to {cfg.max_chars:,}"] if cfg.max_chars else []
    parts += [f"padded to {cfg.pad_to:,} characters"] if cfg.pad_to else []
    parts += ["whitespace normalised"] if cfg.normalize_whitespace else []
    check_op_bytes("preprocessing", text_peak_bytes(ds.texts, cfg),
                   f"{len(ds.texts):,} texts" + (", " + ", ".join(parts) if parts else ""))
    notes: list[str] = []
    texts = list(ds.texts)
    if cfg.normalize_whitespace:
        new = [_SPACES.sub(" ", t).strip() for t in texts]
        changed = sum(a != b for a, b in zip(texts, new, strict=True))
        if changed:
            notes.append(f"normalised whitespace in {changed:,} items")
        texts = new

    empty = [i for i, t in enumerate(texts) if not t.strip()]
    keep = np.arange(len(texts))
    skipped = list(ds.skipped)
    if empty and cfg.missing == "drop":
        keep = np.setdiff1d(keep, empty)
        skipped += [SkippedItem(f"item {i}", "empty or whitespace-only (dropped by preprocessing)") for i in empty]
        notes.append(f"dropped {len(empty):,} empty items")
    elif empty and cfg.missing == "fill":
        for i in empty:
            texts[i] = cfg.fill_value
        notes.append(f"filled {len(empty):,} empty items with {cfg.fill_value!r}")

    if cfg.max_chars:
        long = sum(len(texts[i]) > cfg.max_chars for i in keep)
        if long:
            texts = [t[: cfg.max_chars] for t in texts]
            notes.append(f"cut {long:,} items to {cfg.max_chars} characters")
    if cfg.pad_to:
        short = sum(len(texts[i]) < cfg.pad_to for i in keep)
        if short:
            texts = [t.ljust(cfg.pad_to, cfg.pad_char) for t in texts]
            notes.append(f"padded {short:,} items to {cfg.pad_to} characters with {cfg.pad_char!r}")

    if len(keep) == 0:
        raise DataError("preprocessing left no items (all were empty); choose missing = 'fill'", ds.name)
    out = dataclasses.replace(
        ds,
        texts=[texts[i] for i in keep],
        labels=None if ds.labels is None else ds.labels[keep],
        skipped=skipped,
        meta=dict(ds.meta),
    )
    return out, notes


def fit_image(img: np.ndarray, size: int, fit: str) -> np.ndarray:
    """One (H, W, C) uint8 image to (size, size, C) by resize, centre crop or letterbox pad."""
    from PIL import Image

    h, w, c = img.shape
    if (h, w) == (size, size):
        return img
    pil = Image.fromarray(img[..., 0] if c == 1 else img)
    if fit == "resize":
        shrink = size < max(h, w)
        pil = pil.resize((size, size), Image.Resampling.BOX if shrink else Image.Resampling.BICUBIC)
    elif fit == "crop":  # scale the short side to `size`, then cut the centre
        s = size / min(h, w)
        nw, nh = max(size, round(w * s)), max(size, round(h * s))
        pil = pil.resize((nw, nh), Image.Resampling.BICUBIC if s > 1 else Image.Resampling.BOX)
        left, top = (nw - size) // 2, (nh - size) // 2
        pil = pil.crop((left, top, left + size, top + size))
    else:  # pad: scale the long side to `size`, then centre on a black square
        s = size / max(h, w)
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        pil = pil.resize((nw, nh), Image.Resampling.BICUBIC if s > 1 else Image.Resampling.BOX)
        canvas = Image.new(pil.mode, (size, size), 0)
        canvas.paste(pil, ((size - nw) // 2, (size - nh) // 2))
        pil = canvas
    out = np.asarray(pil, dtype=np.uint8)
    return out[..., None] if out.ndim == 2 else out


def to_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """(N, H, W, C) uint8 to C = 1 (ITU-R 601 luma, as Pillow's "L") or C = 3 (gray repeated)."""
    c = images.shape[-1]
    if channels in (0, c):
        return images
    if channels == 3:
        return np.repeat(images, 3, axis=-1)
    luma = images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.clip(np.rint(luma), 0, 255).astype(np.uint8)[..., None]


def normalize_features(x: np.ndarray, norm: str) -> np.ndarray:
    """Rescale each row of a (N, D) array to unit L1 or L2 norm (zero rows stay zero)."""
    from sklearn.preprocessing import normalize

    return normalize(np.asarray(x, dtype=np.float64), norm=norm)


def peak_bytes(n: int, height: int, width: int, channels: int, cfg: PreprocessConfig) -> int:
    """The most memory preprocess_images holds at once for n images of height x width x channels: the
    resized and converted uint8 arrays, and for a norm the three float64 copies it works on."""
    size = cfg.image_size or None
    h, w = (size, size) if size else (height, width)
    c = cfg.channels or channels
    peak = n * height * width * channels + n * h * w * channels  # input + fitted
    if c != channels:
        peak = max(peak, n * h * w * (channels * (4 if c == 1 else 1) + c))  # (float32 luma) + converted
    if cfg.feature_norm != "none":
        peak = max(peak, n * h * w * c * (1 + 3 * 8))  # uint8 + flat, unit and clipped float64 copies
    return peak


def preprocess_images(ds: ImageDataset, cfg: PreprocessConfig) -> tuple[ImageDataset, list[str]]:
    """Fit, convert and normalise the images; ConfigError first when that would take more memory than
    the budget per operation (genaug_core.budgets)."""
    n, c = len(ds.images), ds.channels
    size = f"{cfg.image_size}x{cfg.image_size}" if cfg.image_size else f"{ds.height}x{ds.width}"
    check_op_bytes("preprocessing", peak_bytes(n, ds.height, ds.width, c, cfg),
                   f"{n:,} images to {size}x{cfg.channels or c}" + (f", {cfg.feature_norm} norm" if cfg.feature_norm != "none" else ""))
    notes: list[str] = []
    images = ds.images
    if cfg.image_size and (ds.height, ds.width) != (cfg.image_size, cfg.image_size):
        images = np.stack([fit_image(im, cfg.image_size, cfg.fit) for im in images]) if len(images) else images
        notes.append(f"{cfg.fit} {ds.height}x{ds.width} -> {cfg.image_size}x{cfg.image_size}")
    if cfg.channels and cfg.channels != images.shape[-1]:
        images = to_channels(images, cfg.channels)
        notes.append(f"converted to {'grayscale' if cfg.channels == 1 else 'RGB'}")
    if cfg.feature_norm != "none" and len(images):
        flat = images.reshape(len(images), -1).astype(np.float64)
        order = 1 if cfg.feature_norm == "l1" else 2
        norms = np.linalg.norm(flat, ord=order, axis=1)
        target = norms[norms > 0].mean() if (norms > 0).any() else 0.0
        unit = normalize_features(flat, cfg.feature_norm)
        clipped = unit * target
        n_clip = int((clipped > 255.5).any(axis=1).sum())
        images = np.clip(np.rint(clipped), 0, 255).astype(np.uint8).reshape(images.shape)
        notes.append(
            f"rescaled every image to the mean {cfg.feature_norm.upper()} norm {target:,.0f}"
            + (f" ({n_clip:,} images clipped at 255)" if n_clip else "")
        )
    if images is ds.images:
        images = images.copy()
    return dataclasses.replace(ds, images=images, skipped=list(ds.skipped), meta=dict(ds.meta)), notes
