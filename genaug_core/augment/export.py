"""Take a pipeline away: augmented copies of a dataset, files to download, a Python snippet.

- `augment_copies(ds, pipeline, copies, seed)`: K augmented variants of every
  item (copy k is seeded from (seed, k), so copy 0 is the same whatever K is).
- `to_bytes(aug, fmt)`: images as a zip of PNGs (one folder per class, so it
  loads back into GenAug with its labels) or .npz; text as JSONL, CSV (cells
  that a spreadsheet would run as a formula get a leading apostrophe) or TXT.
- `write(aug, path)`: the same, to a file (format from the suffix; a folder
  for PNGs), written to a temporary name and renamed into place.
- `python_snippet(pipeline)`: runnable code that rebuilds the pipeline with
  genaug_core and applies it.
"""

from __future__ import annotations

import dataclasses
import io
import json
import pprint
import re
import zipfile
from pathlib import Path

import numpy as np

from genaug_core import runs
from genaug_core.augment.pipeline import Pipeline, check_seed
from genaug_core.budgets import check_op_bytes
from genaug_core.data.containers import Dataset, ImageDataset
from genaug_core.data.export import csv_bytes, png_bytes
from genaug_core.errors import ConfigError, DataError

LIBRARY_BYTES = 1024**2  # working memory of zipfile, PNG encoding, json and the augmenters beyond the items
MAX_COPIES = 100  # per item; more is rarely useful and a 1,797-digit x 100 zip is already 7 MB

# format -> (file suffix, MIME type), per kind
IMAGE_FORMATS = {"zip": (".zip", "application/zip"), "npz": (".npz", "application/octet-stream")}
TEXT_FORMATS = {"jsonl": (".jsonl", "application/jsonl"), "csv": (".csv", "text/csv"), "txt": (".txt", "text/plain")}


@dataclasses.dataclass
class AugmentedCopies:
    """K variants of N items, item-major: rows item 0 copy 0..K-1, item 1 copy 0..K-1, ..."""

    kind: str  # "image" or "text"
    items: np.ndarray | list[str]  # (N*K, H, W, C) uint8, or N*K strings
    item: np.ndarray  # (N*K,) index of the source item
    copy: np.ndarray  # (N*K,) copy number, 0..K-1 (-1 = the original, when included; "original" in CSV/JSONL)
    labels: np.ndarray | None  # (N*K,) class ids or None
    class_names: list[str] | None
    pipeline: Pipeline
    seed: int

    def __len__(self) -> int:
        return len(self.item)


def copy_seed(seed: int, k: int) -> int:
    """The seed of copy k: independent streams per copy, stable whatever the number of copies."""
    return int(np.random.SeedSequence([int(seed), int(k)]).generate_state(1)[0])


def export_bytes(ds: Dataset, copies: int, include_original: bool = False) -> int:
    """About the most memory an export of `copies` augmented copies of `ds` holds at once, from sizes
    alone: images: the K variant arrays and their item-major stack, one float32 working copy of the
    dataset (an augmenter's), and the file being built (its buffer and the bytes returned, each at most
    about the raw size); texts: the K lists of strings and the file (its lines, their join, the UTF-8
    bytes). Text augmenters that lengthen a text are counted at twice its length; 1 MiB more for the
    libraries' own working memory."""
    k = copies + (1 if include_original else 0)
    if isinstance(ds, ImageDataset):
        raw = len(ds) * int(np.prod(ds.images.shape[1:], dtype=np.int64))  # one uint8 copy of the dataset
        return 2 * k * raw + 4 * raw + 2 * k * raw + 1024 * k * len(ds) + LIBRARY_BYTES  # a zip entry: ~550 B measured
    chars = sum(2 * len(t) * (1 if t.isascii() else 4) for t in ds.texts)  # UTF-8 / str bytes, lengthened
    return k * (chars + 49 * len(ds)) + 3 * k * (chars + 64 * len(ds)) + 3 * 8 * k * len(ds) + LIBRARY_BYTES


def check_export(ds: Dataset, copies: int, include_original: bool = False) -> None:
    """ConfigError when exporting `copies` copies of `ds` would take more than the budget per operation."""
    what = f"{len(ds):,} items x {copies} copies" + (" + the originals" if include_original else "")
    check_op_bytes("augmented export", export_bytes(ds, copies, include_original), what)


def augment_copies(ds: Dataset, pipeline: Pipeline, copies: int = 1, seed: int = 0,
                   include_original: bool = False) -> AugmentedCopies:
    """Apply `pipeline` `copies` times to every item of `ds`; ConfigError first when the copies and their
    file would take more memory than the budget per operation (genaug_core.budgets)."""
    if not isinstance(copies, int) or isinstance(copies, bool) or not 1 <= copies <= MAX_COPIES:
        raise ConfigError(f"copies = {copies!r} is out of range; allowed: 1 to {MAX_COPIES}")
    check_export(ds, copies, include_original)
    seed = check_seed(seed, "seed")
    if pipeline.kind != ds.kind:
        raise ConfigError(f"the pipeline is for {pipeline.kind}s but the dataset {ds.name!r} holds {ds.kind}s")
    n = len(ds)
    source = ds.images if isinstance(ds, ImageDataset) else ds.texts
    variants = [source] if include_original else []
    variants += [pipeline.apply(source, seed=copy_seed(seed, k)) for k in range(copies)]
    k_total = len(variants)
    copy_ids = np.tile(np.arange(k_total) - (1 if include_original else 0), n)
    item_ids = np.repeat(np.arange(n), k_total)
    if isinstance(ds, ImageDataset):
        items: np.ndarray | list[str] = np.stack(variants, axis=1).reshape(n * k_total, *ds.images.shape[1:])
    else:
        items = [variants[k][i] for i in range(n) for k in range(k_total)]
    labels = None if ds.labels is None else np.repeat(ds.labels, k_total)
    return AugmentedCopies(ds.kind, items, item_ids, copy_ids, labels, ds.class_names, pipeline, seed)


def _label_name(aug: AugmentedCopies, row: int) -> str | None:
    if aug.labels is None:
        return None
    names = aug.class_names or []
    label = int(aug.labels[row])
    return names[label] if label < len(names) else str(label)


def _copy_label(aug: AugmentedCopies, row: int) -> int | str:
    return "original" if aug.copy[row] < 0 else int(aug.copy[row])


def _file_name(aug: AugmentedCopies, row: int) -> str:
    copy = "orig" if aug.copy[row] < 0 else f"aug{aug.copy[row]}"
    return f"item{aug.item[row]:05d}_{copy}.png"


def _folder(name: str | None) -> str:
    if name is None:
        return ""
    return (re.sub(r"[^\w.-]+", "_", name).strip("._") or "class") + "/"


def to_bytes(aug: AugmentedCopies, fmt: str) -> bytes:
    """The copies as one downloadable file: images zip/npz, text jsonl/csv/txt."""
    formats = IMAGE_FORMATS if aug.kind == "image" else TEXT_FORMATS
    if fmt not in formats:
        raise ConfigError(f"format {fmt!r} is not available for {aug.kind}s; choose one of: {', '.join(formats)}")
    rows = range(len(aug))
    if fmt == "zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for r in rows:
                zf.writestr(_folder(_label_name(aug, r)) + _file_name(aug, r), png_bytes(aug.items[r]))
            zf.writestr("pipeline.json", aug.pipeline.to_json())
        return buf.getvalue()
    if fmt == "npz":
        buf = io.BytesIO()
        arrays = {"images": aug.items, "item": aug.item, "copy": aug.copy}
        if aug.labels is not None:
            arrays["labels"] = aug.labels
            arrays["class_names"] = np.array(aug.class_names or [], dtype=str)
        np.savez_compressed(buf, **arrays)  # no object arrays: loads with allow_pickle=False
        return buf.getvalue()
    has_labels = aug.labels is not None
    if fmt == "csv":
        header = ["item", "copy", "text"] + (["label"] if has_labels else [])
        return csv_bytes(header, ([int(aug.item[r]), _copy_label(aug, r), aug.items[r]]
                                  + ([_label_name(aug, r)] if has_labels else []) for r in rows))
    if fmt == "jsonl":
        lines = []
        for r in rows:
            rec = {"item": int(aug.item[r]), "copy": _copy_label(aug, r), "text": aug.items[r]}
            if has_labels:
                rec["label"] = _label_name(aug, r)
            lines.append(json.dumps(rec, ensure_ascii=False))
        return ("\n".join(lines) + "\n").encode("utf-8")
    # txt: one item per line; line breaks inside an item become spaces
    return "".join(re.sub(r"[\r\n]+", " ", aug.items[r]) + "\n" for r in rows).encode("utf-8")


def write(aug: AugmentedCopies, path: str | Path) -> str:
    """Write the copies to `path` (format from its suffix; images without a suffix: a folder of PNGs).

    Returns a one-line summary. Files are written under a temporary name and renamed into place.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    formats = IMAGE_FORMATS if aug.kind == "image" else TEXT_FORMATS
    by_suffix = {s: name for name, (s, _) in formats.items()}
    what = f"{len(aug):,} {aug.kind}s ({len(set(aug.item.tolist())):,} items x {len(set(aug.copy.tolist()))} versions)"
    if aug.kind == "image" and suffix == "":
        for r in range(len(aug)):
            target = path / _folder(_label_name(aug, r)) / _file_name(aug, r)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(png_bytes(aug.items[r]))
        (path / "pipeline.json").write_text(aug.pipeline.to_json(), encoding="utf-8")
        return f"wrote {what} as PNGs under {path}/"
    if suffix not in by_suffix:
        allowed = ", ".join(by_suffix) + (", or a folder name without a suffix" if aug.kind == "image" else "")
        raise ConfigError(f"--out {path}: cannot tell the format from {suffix or 'no suffix'!r}; use {allowed}")
    data = to_bytes(aug, by_suffix[suffix])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        runs.write_bytes_atomic(path, data)
    except OSError as exc:
        raise DataError(f"cannot write ({exc.strerror or exc})", str(path)) from None
    return f"wrote {what} to {path} ({len(data):,} bytes)"


def python_snippet(pipeline: Pipeline, builtin: str | None = None) -> str:
    """Runnable Python that rebuilds `pipeline` with genaug_core and applies it."""
    body = pprint.pformat(pipeline.to_dict(), indent=1, width=100, sort_dicts=False)
    if pipeline.kind == "image":
        data = (f'items = load_builtin("{builtin}").images[:16]  # uint8 (N, H, W, C)' if builtin else
                "items = np.zeros((16, 8, 8, 1), dtype=np.uint8)  # your uint8 images (N, H, W, C)")
        show = "print(augmented.shape, augmented.dtype)"
    else:
        data = (f'items = load_builtin("{builtin}").texts[:16]  # a list of strings' if builtin else
                'items = ["The quick brown fox jumps over the lazy dog."]  # your texts')
        show = "print(*augmented, sep='\\n')"
    return "\n".join([
        '"""Rebuild the augmentation pipeline exported from GenAug Studio and apply it."""',
        "import numpy as np",
        "",
        "from genaug_core.augment.pipeline import Pipeline",
        "from genaug_core.data import load_builtin",
        "",
        f"PIPELINE = {body}",
        "",
        "pipeline = Pipeline.from_dict(PIPELINE)",
        data,
        "augmented = pipeline.apply(items, seed=0)  # same seed, same result; the input is not changed",
        show,
        "",
        "# the same from the command line (K augmented copies of every item):",
        "#   python -m genaug_core augment INPUT --pipeline pipeline.json --copies 4 --seed 0 --out OUT",
        "",
    ])  # fmt: skip


__all__ = [
    "AugmentedCopies", "IMAGE_FORMATS", "MAX_COPIES", "TEXT_FORMATS", "augment_copies", "check_export",
    "copy_seed", "export_bytes", "python_snippet", "to_bytes", "write",
]  # fmt: skip
