"""Sanity checks: a trustworthy report on a dataset before anything trains on it.

`run_checks(ds)` returns a Report: counts, then one CheckResult per finding,
each with a level (info / warn / error), a stable code, a message in plain
words and the ids (indices) of the affected items, so the Data page can show
them and the CLI can print them as JSON. It never raises on odd data: a
check that cannot apply is left out.

Codes: counts, skipped, encoding, empty, whitespace_only, exact_duplicates,
near_duplicates, near_duplicates_partial, leakage, class_balance, lengths, sizes, modes, outliers,
blank_images, charset, non_printable.

Everything here is vectorised (numpy, scikit-learn) so the report for every
built-in dataset takes well under 2 s on 2 cores (bench/check_report.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import time
import unicodedata
from collections import Counter
from typing import Any, Literal

import numpy as np

from genaug_core.data.containers import Dataset, ImageDataset, TextDataset

Level = Literal["info", "warn", "error"]

NEAR_DUP_TEXT_COSINE = 0.9  # char 3-gram tf-idf cosine at or above which two texts count as near copies
NEAR_DUP_IMAGE_RMS = 4.0  # RMS pixel difference (0-255 scale, on 8x8 gray thumbnails) under which images are near copies
BLANK_IMAGE_STD = 2.0  # an image whose pixel standard deviation is below this is blank or constant
OUTLIER_IQR = 3.0  # lengths beyond Q1 - k*IQR or Q3 + k*IQR are outliers
IMBALANCE_RATIO = 3.0  # largest / smallest class size above which the balance is a warning
MAX_ITEM_IDS = 200  # ids listed per finding (the count is always exact)
_NORMALISE = re.compile(r"[\W_]+", re.UNICODE)


@dataclasses.dataclass(frozen=True)
class CheckResult:
    level: Level
    code: str
    message: str
    items: tuple[int, ...] = ()  # affected item indices (at most MAX_ITEM_IDS)
    n_affected: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "code": self.code,
            "message": self.message,
            "n_affected": self.n_affected,
            "items": list(self.items),
        }


def _result(level: Level, code: str, message: str, items=()) -> CheckResult:
    items = [int(i) for i in items]
    return CheckResult(level, code, message, tuple(items[:MAX_ITEM_IDS]), len(items))


@dataclasses.dataclass
class Report:
    kind: str
    name: str
    n_items: int
    n_train: int
    n_validation: int
    skipped: list[dict[str, str]]
    checks: list[CheckResult]
    stats: dict[str, Any]  # arrays and counts for the charts (not JSON-ready)
    seconds: float = 0.0

    @property
    def worst_level(self) -> Level:
        levels = {c.level for c in self.checks}
        return "error" if "error" in levels else "warn" if "warn" in levels else "info"

    def by_code(self, code: str) -> CheckResult | None:
        return next((c for c in self.checks if c.code == code), None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: what `python -m genaug_core check --json` prints."""
        return {
            "kind": self.kind,
            "name": self.name,
            "n_items": self.n_items,
            "n_train": self.n_train,
            "n_validation": self.n_validation,
            "n_skipped": len(self.skipped),
            "skipped": self.skipped,
            "checks": [c.to_dict() for c in self.checks],
            "summary": _summary(self.stats),
            "seconds": round(self.seconds, 4),
        }


def _summary(stats: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in stats.items():
        if isinstance(value, np.ndarray):
            if value.size:
                out[key] = {
                    "min": float(value.min()),
                    "median": float(np.median(value)),
                    "max": float(value.max()),
                    "mean": float(value.mean()),
                }
        else:
            out[key] = value
    return out


def run_checks(ds: Dataset) -> Report:
    start = time.perf_counter()
    split = ds.split
    checks: list[CheckResult] = []
    stats: dict[str, Any] = {}

    what = "texts" if ds.kind == "text" else "images"
    counts = f"{len(ds):,} {what}: {len(split.train):,} for training, {len(split.validation):,} held out for validation"
    if ds.class_names:
        counts += f"; {len(ds.class_names)} classes"
    checks.append(_result("error" if len(ds) == 0 else "info", "counts", counts))
    if ds.skipped:
        reasons = Counter(_reason_kind(s.reason) for s in ds.skipped)
        listed = "; ".join(f"{r} ({n})" for r, n in reasons.most_common(5))
        checks.append(_result("warn", "skipped", f"{len(ds.skipped):,} inputs were skipped while loading: {listed}"))

    if isinstance(ds, TextDataset):
        checks += _text_checks(ds, split, stats)
    else:
        checks += _image_checks(ds, split, stats)
    if ds.labels is not None and ds.class_names:
        checks += _balance(ds.labels, ds.class_names, stats)
    return Report(
        kind=ds.kind,
        name=ds.name,
        n_items=len(ds),
        n_train=len(split.train),
        n_validation=len(split.validation),
        skipped=[s.to_dict() for s in ds.skipped],
        checks=checks,
        stats=stats,
        seconds=time.perf_counter() - start,
    )


def _reason_kind(reason: str) -> str:
    """Group skip reasons by their first clause: "corrupt image (cannot identify…)" -> "corrupt image"."""
    return re.split(r"[(:;]", reason, maxsplit=1)[0].strip() or reason


# --- shared pieces -----------------------------------------------------------


def _duplicate_groups(keys: list[Any]) -> tuple[list[int], int]:
    """Indices of items whose key was seen before (later copies), and the number of groups."""
    first: dict[Any, int] = {}
    later: list[int] = []
    groups: set[Any] = set()
    for i, k in enumerate(keys):
        if k in first:
            later.append(i)
            groups.add(k)
        else:
            first[k] = i
    return later, len(groups)


def _leakage(keys: list[Any], split) -> list[int]:
    train_keys = {keys[i] for i in split.train}
    return [int(i) for i in split.validation if keys[i] in train_keys]


def _outliers(values: np.ndarray, what: str, unit: str) -> list[CheckResult]:
    if len(values) < 8:
        return []
    q1, q3 = np.percentile(values, [25, 75])
    iqr = max(q3 - q1, 1.0)
    lo, hi = q1 - OUTLIER_IQR * iqr, q3 + OUTLIER_IQR * iqr
    low, high = np.flatnonzero(values < lo), np.flatnonzero(values > hi)
    out = []
    if len(low):
        out.append(_result("warn", "outliers", f"{len(low):,} {what} unusually short (under {lo:.0f} {unit})", low))
    if len(high):
        out.append(_result("warn", "outliers", f"{len(high):,} {what} unusually long (over {hi:.0f} {unit})", high))
    return out


def _balance(labels: np.ndarray, class_names: list[str], stats: dict[str, Any]) -> list[CheckResult]:
    counts = np.bincount(labels, minlength=len(class_names))
    stats["class_counts"] = {name: int(n) for name, n in zip(class_names, counts, strict=True)}
    present = counts[counts > 0]
    missing = [class_names[i] for i in np.flatnonzero(counts == 0)]
    ratio = present.max() / present.min() if len(present) else 1.0
    msg = f"class sizes from {present.min() if len(present) else 0:,} to {present.max() if len(present) else 0:,} (ratio {ratio:.1f})"
    level: Level = "warn" if ratio > IMBALANCE_RATIO or missing else "info"
    if missing:
        msg += f"; classes with no items: {', '.join(missing[:10])}"
    return [_result(level, "class_balance", msg)]


# --- text --------------------------------------------------------------------


def _text_checks(ds: TextDataset, split, stats: dict[str, Any]) -> list[CheckResult]:
    texts = ds.texts
    out: list[CheckResult] = []
    meta = ds.meta
    if meta.get("undecodable_bytes"):
        out.append(
            _result(
                "warn",
                "encoding",
                f"{meta['undecodable_bytes']:,} bytes were not valid {meta.get('encoding', 'UTF-8')} "
                "and were replaced by U+FFFD",
            )
        )
    empty = [i for i, t in enumerate(texts) if t == ""]
    blank = [i for i, t in enumerate(texts) if t and not t.strip()]
    if empty:
        out.append(_result("warn", "empty", f"{len(empty):,} items are empty", empty))
    if blank:
        out.append(_result("warn", "whitespace_only", f"{len(blank):,} items contain only whitespace", blank))

    later, n_groups = _duplicate_groups(texts)
    if later:
        out.append(
            _result(
                "warn",
                "exact_duplicates",
                f"{len(later):,} items are exact copies of an earlier item ({n_groups:,} distinct texts repeated)",
                later,
            )
        )
    norm_keys = [_NORMALISE.sub(" ", t.casefold()).strip() for t in texts]
    out += _near_duplicate_texts(texts, norm_keys, set(later))

    leaked = _leakage(norm_keys, split)
    if leaked:
        out.append(
            _result(
                "warn",
                "leakage",
                f"{len(leaked):,} validation items also appear in the training part (after normalising case, "
                "spaces and punctuation): held-out scores will look better than they are",
                leaked,
            )
        )

    chars = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    words = np.fromiter((len(t.split()) for t in texts), dtype=np.int64, count=len(texts))
    stats["length_chars"], stats["length_words"] = chars, words
    if len(texts):
        out.append(
            _result(
                "info",
                "lengths",
                f"length {chars.min():,}-{chars.max():,} characters (median {np.median(chars):.0f}), "
                f"{words.min():,}-{words.max():,} words (median {np.median(words):.0f})",
            )
        )
    nonempty = np.flatnonzero(chars > 0)
    for r in _outliers(chars[nonempty], "items are", "characters"):
        out.append(dataclasses.replace(r, items=tuple(int(nonempty[i]) for i in r.items)))

    charset = Counter()
    for t in texts:
        charset.update(t)
    stats["char_counts"] = dict(charset.most_common())
    shown = "".join(sorted(c for c in charset if c.isprintable() and not c.isspace()))
    out.append(
        _result(
            "info",
            "charset",
            f"{len(charset):,} distinct characters: {shown[:80]}{'…' if len(shown) > 80 else ''}",
        )
    )
    bad_chars = {c for c in charset if _is_non_printable(c)}
    if bad_chars:
        affected = [i for i, t in enumerate(texts) if any(c in bad_chars for c in t)]
        names = ", ".join(f"U+{ord(c):04X}" for c in sorted(bad_chars)[:8])
        out.append(
            _result(
                "warn",
                "non_printable",
                f"{len(affected):,} items contain control, format or replacement characters ({names})",
                affected,
            )
        )
    return out


def _is_non_printable(c: str) -> bool:
    if c == "\t":
        return False
    return c == "\ufffd" or unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs", "Cn")


def _near_duplicate_texts(texts: list[str], norm_keys: list[str], exact: set[int]) -> list[CheckResult]:
    """Items equal after normalisation, or with char 3-gram cosine >= NEAR_DUP_TEXT_COSINE to an earlier item."""
    near: set[int] = set()
    seen: dict[str, int] = {}
    for i, k in enumerate(norm_keys):
        if k in seen and i not in exact:
            near.add(i)
        seen.setdefault(k, i)
    idx = [i for i, k in enumerate(norm_keys) if len(k) >= 4 and seen[k] == i]  # one per normalised key
    out: list[CheckResult] = []
    if len(idx) >= 2:
        from sklearn.feature_extraction.text import TfidfVectorizer

        from genaug_core.data.similar import similar_pairs

        vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), dtype=np.float32)
        try:
            x = vec.fit_transform([norm_keys[i] for i in idx])  # (n, vocab), rows L2-normalised
        except ValueError:  # empty vocabulary
            x = None
        if x is not None:
            later, _, done = similar_pairs(x, NEAR_DUP_TEXT_COSINE)  # later item of each close pair
            near.update(idx[r] for r in later.tolist())
            if done < len(idx):
                out.append(_result(
                    "info", "near_duplicates_partial",
                    f"the near-copy search stopped after {done:,} of {len(idx):,} distinct items: "
                    "too many similar items to compare them all quickly",
                    [],
                ))  # fmt: skip
    if near:
        out.insert(0, _result(
            "info",
            "near_duplicates",
            f"{len(near):,} items are near copies of an earlier item (same after normalising case and punctuation, "
            f"or character 3-gram similarity >= {NEAR_DUP_TEXT_COSINE})",
            sorted(near),
        ))  # fmt: skip
    return out


# --- images ------------------------------------------------------------------


CHUNK_BYTES = 32 * 1024**2  # float working memory per block of images: the checks never hold a float copy of all


def _blocks(n: int, item_values: int) -> list[slice]:
    """Slices of at most CHUNK_BYTES of float64 values (item_values per image), at least one image each."""
    step = max(1, CHUNK_BYTES // max(1, 8 * item_values))
    return [slice(i, i + step) for i in range(0, n, step)]


def thumbnails(images: np.ndarray, side: int = 8) -> np.ndarray:
    """(N, H, W, C) uint8 -> (N, side*side) float32 gray thumbnails by area averaging, a block at a time."""
    n, h, w, c = images.shape
    if n > 1 and len(blocks := _blocks(n, h * w * c)) > 1:
        return np.concatenate([_thumbnails(images[b], side) for b in blocks])
    return _thumbnails(images, side)


def _thumbnails(images: np.ndarray, side: int) -> np.ndarray:
    n, h, w, c = images.shape
    gray = images.astype(np.float32).mean(axis=-1) if c > 1 else images[..., 0].astype(np.float32)
    if (h, w) == (side, side):
        return gray.reshape(n, -1)
    if h % side == 0 and w % side == 0:  # exact block means: fast path for 16, 32, 64 ...
        return gray.reshape(n, side, h // side, side, w // side).mean(axis=(2, 4)).reshape(n, -1)
    from PIL import Image

    return np.stack(
        [np.asarray(Image.fromarray(g).resize((side, side), Image.Resampling.BOX), np.float32).ravel() for g in gray]
    ) if n else np.zeros((0, side * side), np.float32)


def _image_checks(ds: ImageDataset, split, stats: dict[str, Any]) -> list[CheckResult]:
    images = ds.images
    out: list[CheckResult] = []
    n = len(images)
    meta = ds.meta
    sizes = meta.get("original_sizes") or {f"{ds.width}x{ds.height}": n}
    modes = meta.get("original_modes") or {("L" if ds.channels == 1 else "RGB"): n}
    stats["original_sizes"], stats["original_modes"] = dict(sizes), dict(modes)
    size_text = ", ".join(f"{k} ({v:,})" for k, v in sorted(sizes.items(), key=lambda kv: -kv[1])[:6])
    out.append(
        _result(
            "info",
            "sizes",
            f"stored as {ds.height}x{ds.width} with {ds.channels} channel{'s' if ds.channels > 1 else ''}; "
            f"original sizes (WxH): {size_text}",
        )
    )
    if len(sizes) > 1:
        out.append(_result("warn", "sizes", f"{len(sizes)} different original sizes: all were resized to one size"))
    out.append(_result("info", "modes", "original modes: " + ", ".join(f"{k} ({v:,})" for k, v in modes.items())))
    if n == 0:
        return out

    flat = images.reshape(n, -1)
    blocks = _blocks(n, flat.shape[1])  # std() works on a float64 copy: one block at a time
    std = np.concatenate([flat[b].std(axis=1) for b in blocks])
    brightness = np.concatenate([flat[b].mean(axis=1) for b in blocks])
    stats["brightness"], stats["contrast"] = brightness, std
    blank = np.flatnonzero(std < BLANK_IMAGE_STD)
    if len(blank):
        out.append(_result("warn", "blank_images", f"{len(blank):,} images are blank or constant", blank))
    q1, q3 = np.percentile(brightness, [25, 75])
    iqr = max(q3 - q1, 1.0)
    odd = np.flatnonzero((brightness < q1 - OUTLIER_IQR * iqr) | (brightness > q3 + OUTLIER_IQR * iqr))
    odd = np.setdiff1d(odd, blank)
    if len(odd):
        out.append(_result("warn", "outliers", f"{len(odd):,} images are unusually dark or bright", odd))

    keys = [hashlib.blake2b(im.tobytes(), digest_size=16).digest() for im in images]
    later, n_groups = _duplicate_groups(keys)
    if later:
        out.append(
            _result(
                "warn",
                "exact_duplicates",
                f"{len(later):,} images are pixel-exact copies of an earlier image ({n_groups:,} images repeated)",
                later,
            )
        )
    leaked = _leakage(keys, split)
    if leaked:
        out.append(
            _result(
                "warn",
                "leakage",
                f"{len(leaked):,} validation images are pixel-exact copies of training images",
                leaked,
            )
        )
    out += _near_duplicate_images(images, set(later))
    return out


def _near_duplicate_images(images: np.ndarray, exact: set[int]) -> list[CheckResult]:
    if len(images) < 2 or len(images) > 100_000:
        return []
    from sklearn.neighbors import NearestNeighbors

    feats = thumbnails(images)  # (N, 64)
    nn = NearestNeighbors(n_neighbors=2).fit(feats)
    dist, idx = nn.kneighbors(feats)  # column 0 is the item itself (or an exact copy)
    rms = dist[:, 1] / np.sqrt(feats.shape[1])
    near = [
        i for i in range(len(images)) if rms[i] < NEAR_DUP_IMAGE_RMS and i not in exact and idx[i, 1] < i and idx[i, 1] not in exact
    ]
    if not near:
        return []
    return [
        _result(
            "info",
            "near_duplicates",
            f"{len(near):,} images are near copies of an earlier image (RMS difference under {NEAR_DUP_IMAGE_RMS:g} "
            "on 8x8 gray thumbnails)",
            near,
        )
    ]
