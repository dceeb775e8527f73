"""NumPy uploads: an .npy image array, or an .npz with images, optional labels and class names.

Arrays are (N, H, W), (N, H, W, C) or channels-first (N, C, H, W) with
C = 1, 3 or 4; every header is checked before an array is built, and Python
pickles are never loaded (`np.load(..., allow_pickle=False)` always; object
arrays are rejected). Values become uint8 by the rule the notes in
`meta["notes"]` state (0..1 floats times 255, 0..255 integers as they are,
anything else min-max scaled); 4 channels are composited onto white. In an
.npz the images are "images", "x", "X" or "arr_0" (else the first 3-D or 4-D
array; several such arrays and none of those names is an error listing them),
the labels "labels", "y", "Y" or "arr_1" (one per image, else an error naming
both lengths), the class names "class_names" or "classes" (as GenAug's own
export writes them).
"""

from __future__ import annotations

import collections
import io
import itertools
from collections.abc import Callable

import numpy as np

from genaug_core.data import limits
from genaug_core.data.containers import ImageDataset
from genaug_core.data.uploads.common import fmt_bytes, safe
from genaug_core.data.uploads.context import LoadContext, SkipItem, TextOptions
from genaug_core.data.uploads.formats import NPZ, Format
from genaug_core.data.uploads.images import flatten_alpha, resize, stored_size
from genaug_core.data.uploads.safezip import open_zip, unsafe_entry, zip_reader
from genaug_core.errors import DataError

_NPZ_IMAGE_KEYS = ("images", "x", "X", "arr_0")
_NPZ_LABEL_KEYS = ("labels", "y", "Y", "arr_1")


def load(name: str, data: bytes, fmt: Format, options: TextOptions) -> ImageDataset:
    """An .npy or .npz file as an ImageDataset."""
    return load_npz(name, data) if fmt == NPZ else load_npy(name, data)


def _npy_header(where: str, data: bytes, kinds: str = "biuf") -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from an .npy header, checked before any array is built (no pickle, sizes consistent)."""
    fp = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except Exception as e:  # noqa: BLE001 - a hostile header can raise ValueError, SyntaxError, ...
        raise DataError(f"not a readable NumPy array ({safe(str(e), 120)})", where) from None
    if dtype.hasobject:
        raise DataError(
            "holds Python objects (dtype object); such arrays are never loaded because reading them "
            "would unpickle data, which can run code. Save plain numeric arrays",
            where,
        )
    if dtype.kind not in kinds:
        need = "strings" if kinds == "US" else "numbers: uint8, bool, int or float"
        raise DataError(f"unsupported dtype {dtype} (this array needs {need})", where)
    expected = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if expected > len(data) - fp.tell():
        raise DataError(f"truncated: the header promises {fmt_bytes(expected)} of data, the file holds less", where)
    return tuple(shape), dtype


def _npy_array(where: str, data: bytes, kinds: str = "biuf") -> np.ndarray:
    _npy_header(where, data, kinds)
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)  # never unpickle, whatever the header says
    except Exception as e:  # noqa: BLE001
        raise DataError(f"not a readable NumPy array ({type(e).__name__}: {safe(str(e), 120)})", where) from None


def _image_layout(where: str, shape: tuple[int, ...], notes: list[str]) -> tuple[bool, int]:
    """(channels-first?, channels) for an image array, or DataError naming the expected shapes."""
    if len(shape) == 3:
        return False, 1
    if len(shape) == 4:
        if shape[3] in (1, 3, 4):
            return False, shape[3]
        if shape[1] in (1, 3, 4):
            notes.append(f"channels-first array {shape} read as (N, C, H, W)")
            return True, shape[1]
    raise DataError(
        f"array of shape {shape}; images need (N, H, W) or (N, H, W, C) with C = 1, 3 or 4",
        where,
    )


def _array_to_uint8(where: str, a: np.ndarray, notes: list[str]) -> np.ndarray:
    """Whole-array conversion to uint8, processed in chunks so temporaries stay small."""
    if a.dtype == np.uint8:
        return a
    if a.dtype.kind == "b":
        notes.append("bool values mapped to 0 / 255")
        return a.astype(np.uint8) * 255
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise DataError("contains NaN or infinite values", where)
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if a.dtype.kind == "f" and 0.0 <= lo and hi <= 1.0:
        notes.append(f"{a.dtype} values in [0, 1] multiplied by 255")
        scale, offset = 255.0, 0.0
    elif a.dtype.kind in "iu" and 0 <= lo and hi <= 1:
        notes.append(f"{a.dtype} values 0 / 1 mapped to 0 / 255")
        scale, offset = 255.0, 0.0
    elif a.dtype.kind in "iu" and 0 <= lo and hi <= 255:
        notes.append(f"{a.dtype} values already in 0..255, used as they are")
        scale, offset = 1.0, 0.0
    elif hi > lo:
        notes.append(f"{a.dtype} values in [{lo:g}, {hi:g}] min-max scaled to 0..255")
        scale, offset = 255.0 / (hi - lo), lo
    else:
        notes.append(f"{a.dtype} array with the single value {lo:g}, clipped to 0..255")
        scale, offset = 1.0, 0.0
    out = np.empty(a.shape, np.uint8)
    step = max(1, 4_000_000 // max(1, int(np.prod(a.shape[1:]))))
    for i in range(0, len(a), step):
        chunk = (a[i : i + step].astype(np.float64) - offset) * scale
        out[i : i + step] = np.clip(np.rint(chunk), 0, 255)
    return out


def _images_from_array(
    name: str,
    fmt: str,
    where: str,
    a: np.ndarray,
    labels: np.ndarray | None,
    class_names: list[str] | None,
    ctx: LoadContext,
) -> ImageDataset:
    meta = ctx.meta
    notes: list[str] = meta.setdefault("notes", [])
    channels_first, channels = _image_layout(where, a.shape, notes)
    if channels_first:
        a = np.moveaxis(a, 1, 3)
    n, h, w = a.shape[0], a.shape[1], a.shape[2]
    if n == 0 or h == 0 or w == 0:
        raise DataError(f"the array holds no pixels (shape {a.shape})", where)
    if h * w > limits.MAX_IMAGE_PIXELS:
        raise DataError(
            f"images of {w}x{h} pixels, over the limit of {limits.MAX_IMAGE_PIXELS / 1e6:.1f}M (MAX_IMAGE_PIXELS)",
            where,
        )
    target = stored_size(collections.Counter({(w, h): n}))
    keep = min(n, limits.MAX_ITEMS, limits.MAX_TOTAL_PIXELS // (target[0] * target[1]))
    if keep < n:
        ctx.skip(
            f"{where}: images {keep}-{n - 1}",
            f"only the first {keep:,} of {n:,} images are loaded (MAX_ITEMS = {limits.MAX_ITEMS:,}, "
            f"MAX_TOTAL_PIXELS = {limits.MAX_TOTAL_PIXELS:,})",
            always=True,
        )
        a = a[:keep]
        labels = None if labels is None else labels[:keep]
    dtype = str(a.dtype)
    a = _array_to_uint8(where, a, notes)
    if a.ndim == 3:
        a = a[..., None]
    if a.shape[3] == 4:
        a = flatten_alpha(a)
        meta["alpha_flattened"] = len(a)
    resized = 0
    if target != (w, h):
        a = np.stack([resize(img, target) for img in a])
        resized = len(a)
    modes = {1: "L", 3: "RGB", 4: "RGBA"}
    meta.update(
        format=fmt,
        dtype=dtype,
        original_sizes={f"{w}x{h}": len(a)},
        original_modes={modes[channels]: len(a)},
        stored_size=f"{target[0]}x{target[1]}",
        channels=int(a.shape[3]),
        resized=resized,
        items=len(a),
    )
    meta.setdefault("alpha_flattened", 0)
    if labels is not None and class_names is None:
        values = np.unique(labels)
        class_names = [str(v) for v in values.tolist()]
        labels = np.searchsorted(values, labels)
    return ImageDataset(
        name=name,
        source=f"upload:{name}",
        images=a,
        labels=labels,
        class_names=class_names,
        skipped=ctx.finish(),
        meta=meta,
    )


def load_npy(name: str, data: bytes) -> ImageDataset:
    return _images_from_array(name, "npy", name, _npy_array(name, data), None, None, LoadContext())


def load_npz(name: str, data: bytes) -> ImageDataset:
    zf = open_zip(name, data)
    members = {
        info.filename[:-4]: info
        for info in zf.infolist()
        if info.filename.endswith(".npy") and not info.is_dir() and unsafe_entry(info) is None
    }
    if not members:
        raise DataError("no arrays in this .npz (no .npy members)", name)

    def header(key: str) -> tuple[tuple[int, ...], np.dtype] | None:
        try:
            with zf.open(members[key]) as f:
                head = f.read(16_384)  # an .npy header is at most ~10 KB; the data is not needed yet
            fp = io.BytesIO(head)
            version = np.lib.format.read_magic(fp)
            reader = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}[version]
            shape, _, dtype = reader(fp)
            return tuple(shape), dtype
        except Exception:  # noqa: BLE001 - an unreadable member simply is not a candidate
            return None

    def load(key: str, kinds: str = "biuf") -> np.ndarray:
        where = f"{name}:{safe(key)}"
        try:
            raw = zip_reader(zf, members[key])()
        except SkipItem as e:
            raise DataError(str(e), where) from None
        return _npy_array(where, raw, kinds)

    headers = {key: header(key) for key in members}
    image_key = next((k for k in _NPZ_IMAGE_KEYS if k in headers and headers[k] and len(headers[k][0]) in (3, 4)), None)
    if image_key is None:
        candidates = [k for k, h in headers.items() if h and len(h[0]) in (3, 4)]
        if len(candidates) > 1:  # which one is meant? Guessing could train on the wrong array
            found = ", ".join(f"{safe(k)!r} {headers[k][0]}" for k in candidates[:10])
            raise DataError(
                f"several image arrays and none named 'images', 'x' or 'arr_0': {found}; "
                "save the one to use as 'images'",
                name,
            )
        image_key = candidates[0] if candidates else None
    if image_key is None:
        shapes = ", ".join(
            f"{safe(k)} {h[0] if h else '(unreadable)'}" for k, h in itertools.islice(headers.items(), 10)
        )
        raise DataError(
            f"no image array: expected 'images', 'x' or 'arr_0' of shape (N, H, W) or (N, H, W, C); found {shapes}",
            name,
        )
    images = load(image_key)
    ctx = LoadContext({"npz_images_key": image_key, "notes": []})
    meta = ctx.meta

    labels = None
    label_key = next((k for k in _NPZ_LABEL_KEYS if k in headers and k != image_key), None)
    if label_key is not None:
        shape, dtype = headers[label_key] or ((), np.dtype("O"))
        if len(shape) != 1 or shape[0] != len(images):
            count = f"{shape[0]:,} labels" if len(shape) == 1 else f"labels of shape {shape}"
            raise DataError(
                f"{len(images):,} images in {safe(image_key)!r} but {count} in {safe(label_key)!r}; "
                "give one label per image",
                name,
            )
        problem = None
        if dtype.kind not in "iuf":
            problem = f"expected {len(images)} integers, found {dtype}"
        else:
            values = load(label_key)
            if values.dtype.kind == "f" and not (np.isfinite(values).all() and (values == np.round(values)).all()):
                problem = "the values are not whole numbers"
            else:
                labels = values.astype(np.int64)
        if problem:
            meta["notes"].append(f"labels {label_key!r} ignored: {problem}")
            meta["labels_ignored"] = problem
        else:
            meta["npz_labels_key"] = label_key
    class_names = _npz_class_names(headers, load, labels, ctx) if labels is not None else None
    return _images_from_array(name, "npz", f"{name}:{safe(image_key)}", images, labels, class_names, ctx)


def _npz_class_names(
    headers: dict, load: Callable[..., np.ndarray], labels: np.ndarray, ctx: LoadContext
) -> list[str] | None:
    """Names of classes 0..K-1 from a "class_names" (or "classes") string array, as GenAug's own export writes."""
    key = next((k for k in ("class_names", "classes") if headers.get(k)), None)
    if key is None:
        return None
    shape, dtype = headers[key]
    k = shape[0] if len(shape) == 1 else -1
    if dtype.kind not in "US" or k < 1 or labels.min() < 0 or labels.max() >= k:
        ctx.meta["notes"].append(f"{key!r} ignored: expected one string per class id 0..{int(labels.max())}")
        return None
    values = load(key, "US")
    return [safe(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v), 100) for v in values.tolist()]
