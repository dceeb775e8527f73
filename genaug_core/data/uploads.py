"""Upload loaders: turn files a user supplies into a TextDataset or ImageDataset.

This module owns everything between "bytes the user gave us" and a dataset:
format detection, text decoding, CSV/JSONL parsing, image decoding and mode
conversion, zip and NumPy reading, and every safety check on the way. Input is
hostile by assumption (the app runs on shared class servers): a bad file ends
in a `DataError` that names the file and the problem, never in another
exception, and every size is bounded by a constant in `limits.py`.

Public API (the app's uploader, the CLI's `check` and the training child):

- `load_files([(filename, bytes), ...])`: one text file -> TextDataset; one or
  several image files, one .zip, one .npy/.npz -> ImageDataset.
- `load_paths([path, ...])`: the same from disk (size checked before reading);
  a folder is read like a zip (see below).
- `table_columns(name, bytes)`: the column names of a .csv/.tsv, or the field
  names of a .jsonl, for the Data page's column picker.

Rules (the README repeats them):

- Content wins over the extension: a PNG named notes.txt loads as an image; a
  text file named x.png is "not an image: looks like text"; an unknown
  extension with text content reads as .txt; binary content that is neither an
  image, a zip, nor a NumPy array is rejected. Python pickles are never loaded
  (`np.load(..., allow_pickle=False)` always; object arrays are rejected).
- Text: .txt is one item per line (empty lines are kept as empty items; the
  sanity checks report them); .csv/.tsv pick a column; .jsonl picks a field.
  UTF-8 with or without BOM and UTF-16 with BOM are read; invalid UTF-8 bytes
  become U+FFFD and are counted in `meta["undecodable_bytes"]`.
- Images are stored as uint8 (N, H, W, C), C = 1 when every image is
  grayscale, else 3 (grayscale images are replicated). Transparent pixels are
  composited onto a WHITE background (RGBA, LA, PA, palette or gray/RGB images
  with a transparent colour, 4-channel arrays). 16-bit images are divided by
  257; 32-bit integer and float images are scaled by their own min/max (counted
  in `meta["minmax_scaled"]`). EXIF orientation is applied; animated images
  give their first frame. Images of other sizes are resized (stretched, Lanczos)
  to the most common size, capped at MAX_STORED_SIDE on the longer side.
- Zip archives and folders: the first folder level (below one top-level folder
  that every entry shares, if any) names the class. With no folders the images
  are unlabelled. Files at the root beside class folders have no class and are
  skipped with a reason. Unsafe entries (absolute paths, `..`, backslashes,
  symbolic links, encrypted entries) are skipped with a reason; folders and OS
  junk (__MACOSX/, hidden files, Thumbs.db, desktop.ini) are ignored silently
  and counted in `meta["junk_ignored"]`. Nothing is ever extracted: entries are
  read into memory with bounded reads. A folder given to `load_paths` is read
  the same way; symbolic links inside it are never followed.
- Past MAX_ITEMS (for images also MAX_TOTAL_PIXELS stored, MAX_DECODED_PIXELS
  decoded) the first items are kept and one skipped entry says what was left out. Only the first MAX_SKIPPED_LISTED
  skipped items are listed; `meta["skipped_total"]` has the full count.
"""

from __future__ import annotations

import codecs
import collections
import csv
import io
import itertools
import json
import os
import re
import stat
import struct
import threading
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from genaug_core.data import limits
from genaug_core.data.containers import ImageDataset, SkippedItem, TextDataset
from genaug_core.errors import DataError

__all__ = ["load_files", "load_paths", "table_columns"]

TEXT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
IMAGE_EXTENSIONS = {
    ".png", ".apng", ".jpg", ".jpeg", ".jpe", ".jfif", ".gif", ".bmp", ".dib", ".webp", ".tif", ".tiff",
    ".ico", ".ppm", ".pgm", ".pbm", ".pnm", ".tga", ".pcx", ".qoi", ".avif",
}  # fmt: skip
# Pillow plugins we let decode uploads. Deliberately short: EPS would run
# Ghostscript, and rarely used parsers are a needless attack surface.
_PILLOW_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "DIB", "WEBP", "TIFF", "ICO", "PPM", "TGA", "PCX", "QOI", "AVIF")
_IMAGE_MAGIC = {"png", "jpeg", "gif", "webp", "tiff", "bmp"}
_GRAY_MODES = {"1", "L", "LA", "La", "I", "F"}  # plus every "I;16..." mode
_JUNK_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}
_NPZ_IMAGE_KEYS = ("images", "x", "X", "arr_0")
_NPZ_LABEL_KEYS = ("labels", "y", "Y", "arr_1")


# ---------------------------------------------------------------- public API


def load_files(
    files: Sequence[tuple[str, bytes]],
    *,
    text_column: str = "",
    label_column: str = "",
    has_header: bool = True,
) -> TextDataset | ImageDataset:
    """Load (filename, bytes) pairs, as Streamlit's uploader gives them, into one dataset.

    One text file gives a TextDataset; one or several images, one .zip or one
    .npy/.npz give an ImageDataset. Raises DataError for anything unusable.
    """
    files = [(_display_name(name), bytes(data)) for name, data in files]
    if not files:
        raise DataError("no files given")
    kinds = []
    for name, data in files:
        _check_size(name, len(data))
        kinds.append(_classify(name, data))

    if len(files) == 1:
        (name, data), kind = files[0], kinds[0]
        if kind == "text":
            return _load_text(name, data, text_column, label_column, has_header)
        if kind == "image":
            fmt = _magic(data) or _ext(name).lstrip(".")
            return _load_images(name, [_Source(name, _const(data))], fmt, _Log(), {})
        if kind == "zip":
            return _load_zip(name, data)
        if kind == "npz":
            return _load_npz(name, data)
        return _load_npy(name, data)

    # Several files at once: only a multi-file image upload makes sense.
    by_kind: dict[str, list[str]] = {}
    for (name, _), kind in zip(files, kinds, strict=True):
        by_kind.setdefault(kind, []).append(name)
    group = f"{len(files)} files"
    texts = by_kind.get("text", [])
    if texts and len(by_kind) > 1:
        raise DataError(
            f"mixes text files ({_list(texts)}) with other files ({_list(_others(by_kind, 'text'))}); "
            "upload one text file, or image files only",
            group,
        )
    if texts:
        raise DataError(f"several text files ({_list(texts)}); upload one text file at a time", group)
    archives = [n for kind in ("zip", "npz", "npy") for n in by_kind.get(kind, [])]
    if archives:
        raise DataError(f"{_list(archives)} must be uploaded on its own, not together with other files", group)
    total = sum(len(data) for _, data in files)
    if total > limits.MAX_ZIP_UNCOMPRESSED_BYTES:
        raise DataError(
            f"{_fmt_bytes(total)} in all, over the limit of {_fmt_bytes(limits.MAX_ZIP_UNCOMPRESSED_BYTES)} "
            "(MAX_ZIP_UNCOMPRESSED_BYTES)",
            group,
        )
    name = f"{len(files)} images"
    sources = [_Source(n, _const(d)) for n, d in files]
    return _load_images(name, sources, "files", _Log(), {})


def load_paths(
    paths: Sequence[str | os.PathLike],
    *,
    text_column: str = "",
    label_column: str = "",
    has_header: bool = True,
) -> TextDataset | ImageDataset:
    """Load files from disk like `load_files`; each size is checked with os.stat before reading.

    A single folder loads like a zip archive: class subfolders become labels,
    symbolic links inside it are skipped and never followed.
    """
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise DataError("no files given")
    folders = [p for p in paths if os.path.isdir(p)]
    if folders:
        if len(paths) > 1:
            raise DataError("a folder must be given on its own, not with other paths", folders[0])
        return _load_folder(folders[0])
    files = []
    total = 0
    for path in paths:
        st = _stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise DataError("not a regular file", path)
        _check_size(path, st.st_size)
        total += st.st_size
        if total > limits.MAX_ZIP_UNCOMPRESSED_BYTES:
            raise DataError(
                f"the files add up to more than {_fmt_bytes(limits.MAX_ZIP_UNCOMPRESSED_BYTES)} "
                "(MAX_ZIP_UNCOMPRESSED_BYTES)",
                path,
            )
        files.append((os.path.basename(path), _read_file(path, limits.MAX_UPLOAD_BYTES)))
    return load_files(files, text_column=text_column, label_column=label_column, has_header=has_header)


def table_columns(name: str, data: bytes, has_header: bool = True) -> list[str]:
    """Column names of a .csv/.tsv (indices "0", "1", ... without a header) or field names of a .jsonl.

    Anything that is not a table (plain text, images, archives) has no columns: [].
    """
    name = _display_name(name)
    if not data or len(data) > limits.MAX_UPLOAD_BYTES or _magic(data) or not _looks_like_text(data):
        return []
    fmt = _text_format(name)
    if fmt == "txt":
        return []
    text = _decode(data)[0]
    if fmt == "jsonl":
        seen: dict[str, None] = {}
        for _, obj in itertools.islice(_jsonl_objects(name, text, _Log(), {}), 50):
            seen.update(dict.fromkeys(obj))
        return list(seen)
    text = _normalise_newlines(text)
    rows = list(itertools.islice(_csv_rows(name, text, _delimiter(text, fmt), _Log(), {}), 50))
    if not rows:
        return []
    if has_header:
        return _header_names(rows[0][1])
    return [str(i) for i in range(max(len(row) for _, row in rows))]


# ---------------------------------------------------------------- shared helpers


class _SkipItem(Exception):
    """One item cannot be used; the message is the reason shown to the user."""


class _Log:
    """The items skipped during one load: the first MAX_SKIPPED_LISTED are listed, all are counted."""

    def __init__(self) -> None:
        self.items: list[SkippedItem] = []
        self.total = 0

    def skip(self, item: str, reason: str, *, always: bool = False) -> None:
        self.total += 1
        if always or len(self.items) < limits.MAX_SKIPPED_LISTED:
            self.items.append(SkippedItem(item, reason))

    def finish(self, meta: dict[str, Any]) -> list[SkippedItem]:
        meta["skipped_total"] = self.total
        listed = list(self.items)
        if self.total > len(listed):
            listed.append(
                SkippedItem(
                    "…",
                    f"{self.total - len(listed):,} more items were skipped; only the first "
                    f"{limits.MAX_SKIPPED_LISTED:,} are listed (MAX_SKIPPED_LISTED)",
                )
            )
        return listed

    def nothing_kept(self, name: str) -> DataError:
        if not self.items:
            return DataError("no usable items", name)
        first = self.items[0]
        item = first.item[len(name) :].lstrip(": /") if first.item.startswith(name) else first.item
        where = f"{item}: " if item and not first.reason.startswith(item) else ""  # "line 3: line 3: ..." reads badly
        return DataError(f"no usable items: {self.total:,} skipped (first: {where}{first.reason})", name)


def _display_name(name: str) -> str:
    """The file's own name (no folders), safe to print: control characters replaced, length capped."""
    base = re.split(r"[\\/]", str(name))[-1].strip()
    return _safe(base) or "upload"


def _safe(text: str, cap: int = 200) -> str:
    """Text from an upload (a name, a field) made safe to show: no control characters, bounded length."""
    text = re.sub(r"[\x00-\x1f\x7f]", "?", text)
    return text if len(text) <= cap else text[: cap - 1] + "…"


def _ext(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def _fmt_bytes(n: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}".replace(".0 ", " ")
    return f"{n} bytes"


def _list(names: Sequence[str], cap: int = 3) -> str:
    shown = ", ".join(names[:cap])
    return shown + (f" and {len(names) - cap} more" if len(names) > cap else "")


def _others(by_kind: dict[str, list[str]], kind: str) -> list[str]:
    return [n for k, names in by_kind.items() if k != kind for n in names]


def _const(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def _check_size(name: str, n: int) -> None:
    if n > limits.MAX_UPLOAD_BYTES:
        raise DataError(
            f"{_fmt_bytes(n)} is over the upload limit of {_fmt_bytes(limits.MAX_UPLOAD_BYTES)} (MAX_UPLOAD_BYTES)",
            name,
        )
    if n == 0:
        raise DataError("empty file (0 bytes)", name)


def _stat(path: str) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise DataError("no such file", path) from None
    except OSError as e:
        raise DataError(f"cannot read it ({e.strerror or e})", path) from None


def _read_file(path: str, limit: int, *, follow_symlinks: bool = True) -> bytes:
    """Read a regular file, at most `limit` bytes (it may have grown since it was stat'ed)."""
    flags = os.O_RDONLY | (0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise DataError(f"cannot read it ({e.strerror or e})", path) from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise DataError("not a regular file", path)
        data = f.read(limit + 1)
    if len(data) > limit:
        raise DataError(f"larger than {_fmt_bytes(limit)}", path)
    return data


def _sorted_classes(values: set[str]) -> list[str]:
    """Class names in a natural order: numerically when every name is an integer, else alphabetically."""
    try:
        return sorted(values, key=lambda v: (int(v), v))
    except ValueError:
        return sorted(values)


# ---------------------------------------------------------------- content sniffing


def _magic(data: bytes) -> str | None:
    """The known binary format the bytes start with, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    # "BM" alone also starts ordinary text ("BMW ..."): require a plausible DIB header size too
    if (
        data[:2] == b"BM"
        and len(data) >= 26
        and struct.unpack_from("<I", data, 14)[0] in (12, 16, 40, 52, 56, 64, 108, 124)
    ):
        return "bmp"
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if data.startswith(b"\x93NUMPY"):
        return "npy"
    if len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5:
        return "pickle"
    for prefix, kind in (
        (b"\x1f\x8b", "gzip"),
        (b"%PDF", "pdf"),
        (b"7z\xbc\xaf", "7z"),
        (b"Rar!", "rar"),
        (b"\x7fELF", "executable"),
    ):
        if data.startswith(prefix):
            return kind
    return None


_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
)
# Bytes that never occur in text (tab, newlines, form feed and escape are allowed).
_CONTROL = bytes([*range(0, 8), 11, *range(14, 27), *range(28, 32), 127])
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL)


def _looks_like_text(data: bytes) -> bool:
    """True unless the start of the data has NUL bytes or many control bytes (text with a BOM always counts)."""
    if any(data.startswith(bom) for bom, _, _ in _BOMS):
        return True
    sample = data[:8192]
    if b"\x00" in sample:
        return False
    controls = len(sample.translate(None, _NOT_CONTROL))
    return controls <= len(sample) * 0.05


def _describe(data: bytes) -> str:
    magic = _magic(data)
    if magic in _IMAGE_MAGIC:
        return f"looks like a {magic.upper()} image"
    if magic == "npy":
        return "looks like a NumPy .npy array"
    if magic:
        return f"looks like a {magic} file"
    if _looks_like_text(data):
        return "looks like text"
    sample = data[:8192]
    if len(sample) >= 16 and max(sample[0::2].count(0), sample[1::2].count(0)) > len(sample) * 0.4:
        return "looks like UTF-16 text without a byte-order mark (save it as UTF-8)"
    return "unrecognised binary content"


def _classify(name: str, data: bytes) -> str:
    """What to load the file as: "text", "image", "zip", "npz" or "npy"; DataError for anything else.

    The content decides when it disagrees with the extension.
    """
    magic, ext = _magic(data), _ext(name)
    if magic in _IMAGE_MAGIC:
        return "image"
    if magic == "zip":
        return "npz" if ext == ".npz" else "zip"
    if magic == "npy":
        return "npy"
    if magic == "pickle":
        raise DataError(
            "Python pickle data; pickles are never loaded because they can run code "
            "(save arrays with numpy.save or numpy.savez instead)",
            name,
        )
    if ext in IMAGE_EXTENSIONS:
        return "image"  # formats without a magic we check (ICO, TGA, PPM...): Pillow decides, per item
    if ext in (".npy", ".npz", ".zip"):
        raise DataError(f"not a {ext} file: {_describe(data)}", name)
    if magic is None and _looks_like_text(data):
        return "text"
    if magic is None and _probe_pillow(data):
        return "image"
    what = f"a {magic} file" if magic else _describe(data)
    raise DataError(f"unsupported or binary content ({what}); expected text, images, a .zip, .npy or .npz", name)


def _probe_pillow(data: bytes) -> bool:
    try:
        with _bomb_errors():
            Image.open(io.BytesIO(data), formats=_pillow_formats())
        return True
    except Exception:  # noqa: BLE001 - any failure just means "not an image Pillow knows"
        return False


# ---------------------------------------------------------------- text


_count = threading.local()  # undecodable bytes of the current decode, per thread


def _count_and_replace(exc: UnicodeDecodeError) -> tuple[str, int]:
    _count.n = getattr(_count, "n", 0) + (exc.end - exc.start)
    return "\ufffd", exc.end


codecs.register_error("genaug.count_replace", _count_and_replace)


def _decode(data: bytes) -> tuple[str, str, int]:
    """(text, encoding name, number of undecodable bytes replaced by U+FFFD)."""
    encoding, codec, body = "utf-8", "utf-8", data
    for bom, name, bom_codec in _BOMS:
        if data.startswith(bom):
            encoding, codec, body = name, bom_codec, data[len(bom) :]
            break
    _count.n = 0
    text = body.decode(codec, errors="genaug.count_replace")
    return text, encoding, _count.n


def _text_format(name: str) -> str:
    return TEXT_FORMATS.get(_ext(name), "txt")


def _normalise_newlines(text: str) -> str:
    # Old Mac files end lines with a bare CR; everything else has LF (with or without CR).
    return text.replace("\r", "\n") if "\n" not in text and "\r" in text else text


def _iter_lines(text: str) -> Iterator[str]:
    """Lines with their "\\n", like a file opened with newline="" (no copy of the whole text)."""
    start, n = 0, len(text)
    while start < n:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start : end + 1]
        start = end + 1


def _load_text(name: str, data: bytes, text_column: str, label_column: str, has_header: bool) -> TextDataset:
    text, encoding, bad = _decode(data)
    fmt = _text_format(name)
    meta: dict[str, Any] = {"format": fmt, "encoding": encoding, "undecodable_bytes": bad}
    log = _Log()
    if fmt == "txt":
        texts, labels = _read_txt(name, text, log, meta), None
    elif fmt == "jsonl":
        texts, labels = _read_jsonl(name, text, text_column, label_column, log, meta)
    else:
        texts, labels = _read_table(name, text, fmt, text_column, label_column, has_header, log, meta)
    if not texts:
        raise log.nothing_kept(name)
    class_names = None
    label_ids = None
    if labels is not None:
        class_names = _sorted_classes(set(labels))
        index = {c: i for i, c in enumerate(class_names)}
        label_ids = np.array([index[v] for v in labels], dtype=np.int64)
    meta["items"] = len(texts)
    return TextDataset(
        name=name,
        source=f"upload:{name}",
        texts=texts,
        labels=label_ids,
        class_names=class_names,
        skipped=log.finish(meta),
        meta=meta,
    )


def _over_limit(name: str, line: int, log: _Log, meta: dict[str, Any]) -> None:
    meta["truncated_at_line"] = line - 1
    log.skip(
        f"{name} line {line}-",
        f"only the first {limits.MAX_ITEMS:,} items are loaded (MAX_ITEMS); the file from line {line} on was not read",
        always=True,
    )


def _too_long(line: int, n: int) -> str:
    return f"line {line}: {n:,} characters, over the limit of {limits.MAX_LINE_CHARS:,} (MAX_LINE_CHARS)"


def _read_txt(name: str, text: str, log: _Log, meta: dict[str, Any]) -> list[str]:
    """One item per line; empty lines are kept (the sanity checks report them), line ends are dropped."""
    texts: list[str] = []
    for i, line in enumerate(_iter_lines(_normalise_newlines(text)), 1):
        if len(texts) >= limits.MAX_ITEMS:
            _over_limit(name, i, log, meta)
            break
        line = line[:-1] if line.endswith("\n") else line
        line = line[:-1] if line.endswith("\r") else line
        if len(line) > limits.MAX_LINE_CHARS:
            log.skip(f"{name} line {i}", _too_long(i, len(line)))
            continue
        texts.append(line)
    meta["empty_lines"] = sum(1 for t in texts if not t.strip())
    return texts


class _RowTooLong(Exception):
    pass


class _LineFeed:
    """Feeds csv.reader one line at a time and stops a row that grows past MAX_LINE_CHARS.

    The csv module's field limit bounds one field, not a row of many fields, so
    a hostile file could otherwise build a row with millions of fields.
    """

    def __init__(self, text: str):
        self.lines = _iter_lines(text)
        self.line = 0  # number of the last line handed out
        self.row_chars = 0

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.line += 1
        self.row_chars += len(line)
        if self.row_chars > limits.MAX_LINE_CHARS + 2:  # + the line end
            raise _RowTooLong
        return line


def _csv_rows(name: str, text: str, delimiter: str, log: _Log, meta: dict[str, Any]) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each non-blank row; rows that cannot be parsed are skipped with a reason."""
    feed = _LineFeed(text)
    reader = csv.reader(feed, delimiter=delimiter)  # csv's default field limit (131,072 characters) stays in force
    while True:
        feed.row_chars = 0
        try:
            row = next(reader)
        except StopIteration:
            return
        except _RowTooLong:
            log.skip(
                f"{name} line {feed.line}",
                f"line {feed.line}: row longer than {limits.MAX_LINE_CHARS:,} characters (MAX_LINE_CHARS)",
            )
            continue
        except csv.Error as e:
            log.skip(f"{name} line {feed.line}", f"line {feed.line}: {e}")
            continue
        if not row:
            meta["blank_rows"] = meta.get("blank_rows", 0) + 1
            continue
        yield feed.line, row


def _delimiter(text: str, fmt: str) -> str:
    """Sniff the delimiter among , tab ; | from the first lines (a .tsv with tabs stays tab-separated)."""
    sample = "".join(itertools.islice(_iter_lines(text), 20))
    if fmt == "tsv" and "\t" in sample.split("\n", 1)[0]:
        return "\t"
    # Sniffer's regexes are slow on long input: give it at most 4 KiB, cut at a line end.
    if len(sample) > 4096:
        cut = sample.rfind("\n", 0, 4096)
        sample = sample[: cut + 1 if cut > 0 else 4096]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        pass
    # Sniffer gives up when one row is short; fall back to the delimiter found in the
    # first line that most other lines share the same count of.
    lines = [ln for ln in sample.split("\n") if ln.strip()]
    best, best_score = "\t" if fmt == "tsv" else ",", 0.0
    for d in ",\t;|":
        counts = [ln.count(d) for ln in lines]
        if counts and counts[0] > 0:
            score = counts.count(counts[0]) / len(counts)
            if score > best_score:
                best, best_score = d, score
    return best


def _header_names(header: list[str]) -> list[str]:
    # An empty header cell is named by its index, which _pick_column also accepts.
    return [h.strip() or str(i) for i, h in enumerate(header)]


def _pick_column(name: str, wanted: str, names: list[str], what: str) -> int:
    """Index of a column given by name (exact, then case-insensitive) or by 0-based index."""
    if wanted in names:
        return names.index(wanted)
    lowered = [n.strip().lower() for n in names]
    if wanted.strip().lower() in lowered:
        return lowered.index(wanted.strip().lower())
    if wanted.strip().isdigit() and int(wanted) < len(names):
        return int(wanted)
    raise DataError(f"no {what} {_safe(wanted)!r}; the columns are: {_list([repr(n) for n in names], 20)}", name)


def _is_number(value: str) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return False


def _default_text_column(rows: list[tuple[int, list[str]]], names: list[str], exclude: int | None) -> int | None:
    """The first column whose sampled values are mostly non-numeric text (else the first column)."""
    candidates = [j for j in range(len(names)) if j != exclude]
    for j in candidates:
        values = [row[j].strip() for _, row in rows if j < len(row) and row[j].strip()]
        if values and sum(not _is_number(v) for v in values) > len(values) / 2:
            return j
    return candidates[0] if candidates else None


def _read_table(
    name: str,
    text: str,
    fmt: str,
    text_column: str,
    label_column: str,
    has_header: bool,
    log: _Log,
    meta: dict[str, Any],
) -> tuple[list[str], list[str] | None]:
    text = _normalise_newlines(text)
    delimiter = _delimiter(text, fmt)
    rows = _csv_rows(name, text, delimiter, log, meta)
    head = list(itertools.islice(rows, 201))  # a sample for the column guess; the rest streams
    if not head:
        raise log.nothing_kept(name) if log.items else DataError("no rows", name)
    if has_header:
        names = _header_names(head.pop(0)[1])
        if not head:
            raise log.nothing_kept(name) if log.items else DataError("a header row but no data rows", name)
    else:
        names = [str(i) for i in range(max(len(row) for _, row in head))]
    lcol = _pick_column(name, label_column, names, "label column") if label_column else None
    if text_column:
        tcol = _pick_column(name, text_column, names, "column")
    else:
        tcol = _default_text_column(head, names, lcol)
        if tcol is None:
            raise DataError("no column left for the text besides the label column", name)
    if tcol == lcol:
        raise DataError(f"the text and label columns are the same ({names[tcol]!r})", name)
    meta.update(delimiter=delimiter, has_header=has_header, columns=names, column=names[tcol])
    if lcol is not None:
        meta["label_column"] = names[lcol]

    texts: list[str] = []
    labels: list[str] | None = [] if lcol is not None else None
    for line, row in itertools.chain(head, rows):
        if len(texts) >= limits.MAX_ITEMS:
            _over_limit(name, line, log, meta)
            break
        if tcol >= len(row):
            log.skip(f"{name} line {line}", f"line {line}: no column {names[tcol]!r} (the row has {len(row)} fields)")
            continue
        if lcol is not None and lcol >= len(row):
            log.skip(f"{name} line {line}", f"line {line}: no column {names[lcol]!r} (the row has {len(row)} fields)")
            continue
        value = row[tcol]
        if len(value) > limits.MAX_LINE_CHARS:
            log.skip(f"{name} line {line}", _too_long(line, len(value)))
            continue
        if labels is not None:
            label = row[lcol].strip()
            if not label:
                log.skip(f"{name} line {line}", f"line {line}: empty label in column {names[lcol]!r}")
                continue
            labels.append(label)
        texts.append(value)
    return texts, labels


def _jsonl_objects(name: str, text: str, log: _Log, meta: dict[str, Any]) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each line holding a JSON object; other lines are skipped with a reason."""
    for i, line in enumerate(_iter_lines(text), 1):
        line = line.strip()
        if not line:
            meta["blank_lines"] = meta.get("blank_lines", 0) + 1
            continue
        if len(line) > limits.MAX_LINE_CHARS:
            log.skip(f"{name} line {i}", _too_long(i, len(line)))
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            log.skip(f"{name} line {i}", f"line {i}: invalid JSON ({e.msg} at column {e.colno})")
            continue
        except (ValueError, RecursionError) as e:  # e.g. nesting too deep, an integer too long
            log.skip(f"{name} line {i}", f"line {i}: invalid JSON ({type(e).__name__})")
            continue
        if not isinstance(obj, dict):
            log.skip(f"{name} line {i}", f"line {i}: a JSON {_json_type(obj)}, not an object")
            continue
        yield i, obj


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _read_jsonl(
    name: str, text: str, text_column: str, label_column: str, log: _Log, meta: dict[str, Any]
) -> tuple[list[str], list[str] | None]:
    # A pretty-printed JSON document starts with a line holding only "[" or "{": no JSON Lines file does.
    first = next((ln.strip() for ln in _iter_lines(text) if ln.strip()), "")
    if first in ("[", "{"):
        raise DataError(
            "not JSON Lines: this looks like one pretty-printed JSON document; write one JSON object per line", name
        )
    objects = _jsonl_objects(name, text, log, meta)
    head = list(itertools.islice(objects, 200))
    field = text_column
    if not field:
        if label_column != "text" and any(isinstance(obj.get("text"), str) for _, obj in head):
            field = "text"
        else:
            field = next((k for _, obj in head for k, v in obj.items() if isinstance(v, str) and k != label_column), "")
    if not field:
        if head:
            seen = list(dict.fromkeys(k for _, obj in head for k in obj))
            raise DataError(f"no field with text in the first lines; the fields are: {_list(seen, 20)}", name)
        raise log.nothing_kept(name)
    if field == label_column:
        raise DataError(f"the text and label fields are the same ({field!r})", name)
    meta["column"] = field
    if label_column:
        meta["label_column"] = label_column

    texts: list[str] = []
    labels: list[str] | None = [] if label_column else None
    for i, obj in itertools.chain(head, objects):
        if len(texts) >= limits.MAX_ITEMS:
            _over_limit(name, i, log, meta)
            break
        if field not in obj:
            log.skip(f"{name} line {i}", f"line {i}: no field {_safe(field)!r}")
            continue
        value = obj[field]
        if not isinstance(value, str):
            log.skip(f"{name} line {i}", f"line {i}: field {_safe(field)!r} is a {_json_type(value)}, not a string")
            continue
        if len(value) > limits.MAX_LINE_CHARS:
            log.skip(f"{name} line {i}", _too_long(i, len(value)))
            continue
        if labels is not None:
            if label_column not in obj:
                log.skip(f"{name} line {i}", f"line {i}: no field {_safe(label_column)!r}")
                continue
            label = obj[label_column]
            if not isinstance(label, str | int | bool) or (isinstance(label, str) and not label.strip()):
                log.skip(
                    f"{name} line {i}",
                    f"line {i}: label {_safe(label_column)!r} must be a non-empty string or an integer, got a {_json_type(label)}",
                )
                continue
            labels.append(label.strip() if isinstance(label, str) else json.dumps(label))
        texts.append(value)
    return texts, labels


# ---------------------------------------------------------------- images


@dataclass
class _Source:
    """One image to load: its name in messages and how to (re)read its bytes."""

    item: str  # "photos.zip:cats/01.png"
    read: Callable[[], bytes]  # may raise _SkipItem
    label: str | None = None


@dataclass
class _Probe:
    """What an image's header says, before any pixel is decoded."""

    source: _Source
    size: tuple[int, int]  # (width, height) after EXIF orientation
    mode: str
    orientation: int
    animated: bool


class _bomb_errors(warnings.catch_warnings):
    """Turn Pillow's DecompressionBombWarning into an error (and silence its UserWarnings) while decoding.

    (catch_warnings changes process-wide filters; the window is one image open.)
    """

    def __enter__(self):
        result = super().__enter__()
        warnings.simplefilter("ignore", UserWarning)  # Pillow's "corrupt EXIF" chatter: the item is judged anyway
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return result


_formats: tuple[str, ...] | None = None


def _pillow_formats() -> tuple[str, ...]:
    global _formats
    if _formats is None:
        Image.init()
        _formats = tuple(f for f in _PILLOW_FORMATS if f in Image.OPEN)  # a plugin missing here would KeyError
    return _formats


def _open(data: bytes) -> Image.Image:
    """Open an image lazily (header only) with our list of formats."""
    return Image.open(io.BytesIO(data), formats=_pillow_formats())


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block just means "no orientation"
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _probe(source: _Source, data: bytes) -> _Probe:
    """Check an image from its header: readable, not too large. Raises _SkipItem with the reason."""
    magic = _magic(data)
    if not data:
        raise _SkipItem("empty file")
    if magic not in _IMAGE_MAGIC and (magic or _looks_like_text(data)):
        raise _SkipItem(f"not an image: {_describe(data)}")
    try:
        with _bomb_errors():
            img = _open(data)
            width, height = img.size
            mode = img.mode
            orientation = _orientation(img)
            animated = bool(getattr(img, "is_animated", False))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise _SkipItem(f"too many pixels, refused as a decompression bomb ({e})") from None
    except Image.UnidentifiedImageError:
        what = (
            f"corrupt {magic.upper()} image (unreadable header)" if magic else "not an image (content not recognised)"
        )
        raise _SkipItem(what) from None
    except Exception as e:  # noqa: BLE001 - Pillow's parsers raise many types on hostile input
        raise _SkipItem(f"corrupt or truncated image ({type(e).__name__}: {_safe(str(e), 120)})") from None
    if width < 1 or height < 1:
        raise _SkipItem(f"empty image ({width}x{height})")
    if width * height > limits.MAX_IMAGE_PIXELS:
        raise _SkipItem(
            f"{width}x{height} = {width * height / 1e6:.1f}M pixels, over the limit of "
            f"{limits.MAX_IMAGE_PIXELS / 1e6:.1f}M per image (MAX_IMAGE_PIXELS)"
        )
    if orientation in (5, 6, 7, 8):  # these EXIF orientations turn the image by 90 degrees
        width, height = height, width
    return _Probe(source, (width, height), mode, orientation, animated)


def _flatten_alpha(a: np.ndarray) -> np.ndarray:
    """Composite colour + alpha (last channel) onto WHITE: out = c * a/255 + 255 * (1 - a/255), rounded."""
    color = a[..., :-1].astype(np.uint32)
    alpha = a[..., -1:].astype(np.uint32)
    return ((color * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)


def _minmax(a: np.ndarray) -> np.ndarray:
    """Scale an image to 0..255 by its own finite min and max (NaN -> min, inf -> max); a flat image is clipped."""
    a = a.astype(np.float64)
    finite = np.isfinite(a)
    if not finite.any():
        return np.zeros(a.shape, np.uint8)
    lo, hi = float(a[finite].min()), float(a[finite].max())
    a = np.nan_to_num(a, nan=lo, posinf=hi, neginf=lo)
    if hi > lo:
        return np.rint((a - lo) * (255.0 / (hi - lo))).astype(np.uint8)
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def _to_uint8(img: Image.Image, facts: collections.Counter) -> np.ndarray:
    """Pixels of a decoded image as uint8 (H, W, 1) for grayscale or (H, W, 3) for colour."""
    mode = img.mode
    has_key = img.info.get("transparency") is not None
    if mode in ("P", "PA"):
        img = img.convert("RGBA" if mode == "PA" or has_key else "RGB")
    elif mode in ("L", "RGB") and has_key:  # a transparent colour key becomes an alpha channel
        img = img.convert("LA" if mode == "L" else "RGBA")
    elif mode == "1":
        img = img.convert("L")
    elif mode == "La":
        img = img.convert("LA")
    elif mode == "RGBa":
        img = img.convert("RGBA")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        img = img.convert("RGB")
    mode = img.mode

    if mode.startswith("I;16"):
        facts["scaled_16bit"] += 1
        a = np.asarray(img).astype(np.uint32)
        return ((a + 128) // 257).astype(np.uint8)[..., None]  # 65535 -> 255, rounded
    if mode in ("I", "F") or mode.startswith("I;"):
        facts["minmax_scaled"] += 1
        return _minmax(np.asarray(img))[..., None]
    if mode == "L":
        return np.asarray(img, dtype=np.uint8)[..., None]
    if mode in ("LA", "RGBA"):
        facts["alpha_flattened"] += 1
        return _flatten_alpha(np.asarray(img, dtype=np.uint8))
    if mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8)


def _decode_image(probe: _Probe, data: bytes, facts: collections.Counter) -> np.ndarray:
    """Decode the first frame, apply EXIF orientation, convert to uint8. Raises _SkipItem."""
    try:
        with _bomb_errors():
            img = _open(data)
            img.load()
            if probe.orientation != 1:
                img = ImageOps.exif_transpose(img)
                facts["exif_transposed"] += 1
            arr = _to_uint8(img, facts)
    except Exception as e:  # noqa: BLE001 - Pillow raises OSError, ValueError, SyntaxError, struct.error, ...
        raise _SkipItem(f"corrupt or truncated image ({type(e).__name__}: {_safe(str(e), 120)})") from None
    if (arr.shape[1], arr.shape[0]) != probe.size:
        raise _SkipItem(
            f"decoded size {arr.shape[1]}x{arr.shape[0]} differs from the header's {probe.size[0]}x{probe.size[1]}"
        )
    return arr


def _stored_size(sizes: collections.Counter) -> tuple[int, int]:
    """The most common (width, height), scaled down (aspect kept) so the longer side is at most MAX_STORED_SIDE."""
    (width, height), _ = sizes.most_common(1)[0]
    longest = max(width, height)
    if longest <= limits.MAX_STORED_SIDE:
        return width, height
    scale = limits.MAX_STORED_SIDE / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resize(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    img = Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr)
    out = np.asarray(img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0))
    return out[..., None] if out.ndim == 2 else out


def _load_images(name: str, sources: list[_Source], fmt: str, log: _Log, meta: dict[str, Any]) -> ImageDataset:
    """Two passes over the images: headers first (to pick the stored size and bound memory), then pixels."""
    probes: list[_Probe] = []
    decoded = 0  # pixels the second pass will decode
    for i, source in enumerate(sources):
        if len(probes) >= limits.MAX_ITEMS:
            log.skip(
                f"{name}: {len(sources) - i:,} more",
                f"only the first {limits.MAX_ITEMS:,} images are loaded (MAX_ITEMS)",
                always=True,
            )
            break
        try:
            probe = _probe(source, source.read())
        except _SkipItem as e:
            log.skip(source.item, str(e))
            continue
        decoded += probe.size[0] * probe.size[1]
        if decoded > limits.MAX_DECODED_PIXELS:
            log.skip(
                f"{name}: {len(sources) - i:,} more",
                f"only the first {len(probes):,} images are loaded: together they hold "
                f"{limits.MAX_DECODED_PIXELS / 1e6:,.0f}M pixels, the most one upload may decode (MAX_DECODED_PIXELS)",
                always=True,
            )
            break
        probes.append(probe)
    if not probes:
        raise _single_error(name, sources, log)

    target = _stored_size(collections.Counter(p.size for p in probes))
    fit = limits.MAX_TOTAL_PIXELS // (target[0] * target[1])
    if len(probes) > fit:
        log.skip(
            f"{name}: {len(probes) - fit:,} more",
            f"only the first {fit:,} images of {target[0]}x{target[1]} fit the limit of "
            f"{limits.MAX_TOTAL_PIXELS / 1e6:.0f}M stored pixels (MAX_TOTAL_PIXELS)",
            always=True,
        )
        probes = probes[:fit]

    gray = all(p.mode in _GRAY_MODES or p.mode.startswith("I;") for p in probes)
    out = np.empty((len(probes), target[1], target[0], 1 if gray else 3), np.uint8)
    facts: collections.Counter = collections.Counter()
    kept: list[_Probe] = []
    kept_gray = True  # every kept image decoded to one channel (the colour ones may all have failed)
    for probe in probes:
        try:
            arr = _decode_image(probe, probe.source.read(), facts)
        except _SkipItem as e:
            log.skip(probe.source.item, str(e))
            continue
        if gray and arr.shape[2] != 1:  # cannot happen for the modes in _GRAY_MODES; keep the array honest anyway
            log.skip(probe.source.item, f"mode {probe.mode} decoded to colour unexpectedly")
            continue
        if probe.size != target:
            arr = _resize(arr, target)
            facts["resized"] += 1
        out[len(kept)] = arr  # a grayscale image broadcasts to 3 channels in a colour dataset
        kept.append(probe)
        kept_gray = kept_gray and arr.shape[2] == 1
    if not kept:
        raise _single_error(name, sources, log)
    images = out[: len(kept)] if len(kept) < len(out) else out
    if kept_gray and images.shape[3] == 3:
        images = images[..., :1].copy()

    labels = class_names = None
    if kept[0].source.label is not None:
        class_names = _sorted_classes({p.source.label for p in kept})
        index = {c: i for i, c in enumerate(class_names)}
        labels = np.array([index[p.source.label] for p in kept], dtype=np.int64)
        meta["labels_from"] = "folders"
    meta.update(
        format=fmt,
        original_sizes=dict(collections.Counter(f"{w}x{h}" for w, h in (p.size for p in kept))),
        original_modes=dict(collections.Counter(p.mode for p in kept)),
        stored_size=f"{target[0]}x{target[1]}",
        channels=int(images.shape[3]),
        resized=facts["resized"],
        exif_transposed=facts["exif_transposed"],
        alpha_flattened=facts["alpha_flattened"],
        scaled_16bit=facts["scaled_16bit"],
        minmax_scaled=facts["minmax_scaled"],
        animated_first_frame=sum(p.animated for p in kept),
        items=len(kept),
    )
    return ImageDataset(
        name=name,
        source=f"upload:{name}",
        images=images,
        labels=labels,
        class_names=class_names,
        skipped=log.finish(meta),
        meta=meta,
    )


def _single_error(name: str, sources: list[_Source], log: _Log) -> DataError:
    # One image that fails is the whole upload failing: say why directly.
    if len(sources) == 1 and log.items and log.items[0].item == sources[0].item == name:
        return DataError(log.items[0].reason, name)
    return log.nothing_kept(name)


# ---------------------------------------------------------------- zip archives and folders


def _open_zip(name: str, data: bytes) -> zipfile.ZipFile:
    """Open a zip held in memory after the checks that reject a whole archive (count, size, ratio)."""
    # ZipFile builds one object per central-directory record, each starting "PK\1\2":
    # count them first so a huge directory is refused before it is parsed.
    if data.count(b"PK\x01\x02") > limits.MAX_ZIP_ENTRIES:
        raise DataError(f"more than {limits.MAX_ZIP_ENTRIES:,} entries (MAX_ZIP_ENTRIES)", name)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception as e:  # noqa: BLE001 - BadZipFile, but also OSError/ValueError/EOFError on crafted input
        raise DataError(f"not a valid zip file ({type(e).__name__}: {_safe(str(e), 120)})", name) from None
    if len(infos) > limits.MAX_ZIP_ENTRIES:
        raise DataError(f"{len(infos):,} entries, over the limit of {limits.MAX_ZIP_ENTRIES:,} (MAX_ZIP_ENTRIES)", name)
    total = sum(info.file_size for info in infos)
    if total > limits.MAX_ZIP_UNCOMPRESSED_BYTES:
        raise DataError(
            f"unpacks to {_fmt_bytes(total)}, over the limit of {_fmt_bytes(limits.MAX_ZIP_UNCOMPRESSED_BYTES)} "
            "(MAX_ZIP_UNCOMPRESSED_BYTES)",
            name,
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= limits.ZIP_RATIO_MIN_BYTES and ratio > limits.MAX_ZIP_RATIO:
            raise DataError(
                f"entry {_safe(info.filename)!r} unpacks {ratio:,.0f}-fold ({_fmt_bytes(info.file_size)}), over the "
                f"limit of {limits.MAX_ZIP_RATIO} (MAX_ZIP_RATIO): refused as a zip bomb",
                name,
            )
    return zf


def _zip_reader(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], bytes]:
    def read() -> bytes:
        if info.file_size > limits.MAX_UPLOAD_BYTES:
            raise _SkipItem(
                f"{_fmt_bytes(info.file_size)}, over the per-file limit of {_fmt_bytes(limits.MAX_UPLOAD_BYTES)} (MAX_UPLOAD_BYTES)"
            )
        try:
            with zf.open(info) as f:
                data = f.read(info.file_size + 1)  # never more than declared + 1, whatever the stream holds
        except Exception as e:  # noqa: BLE001 - bad CRC, unsupported compression, truncated data, ...
            raise _SkipItem(f"corrupt zip entry ({type(e).__name__}: {_safe(str(e), 120)})") from None
        if len(data) > info.file_size:
            raise _SkipItem("the entry holds more data than its header declares")
        return data

    return read


def _unsafe_entry(info: zipfile.ZipInfo) -> str | None:
    """Why a zip entry must not be read, or None."""
    raw = info.filename
    if "\\" in raw:
        return "backslash in the path (a Windows path trick); entries must use '/'"
    if raw.startswith("/") or re.match(r"[A-Za-z]:", raw):
        return "absolute path"
    if ".." in raw.split("/"):
        return "path with '..' leaves the archive"
    if re.search(r"[\x00-\x1f\x7f]", raw):
        return "control characters in the name"
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "symbolic link (never followed)"
    if mode and stat.S_IFMT(mode) and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        return "not a regular file"
    if info.flag_bits & 0x1:
        return "encrypted (password-protected) entry"
    return None


def _is_junk(parts: list[str]) -> bool:
    """OS junk and hidden files: __MACOSX/, ._AppleDouble, .DS_Store, Thumbs.db, desktop.ini, .git/..."""
    return any(p == "__MACOSX" or p.startswith(".") for p in parts) or parts[-1].lower() in _JUNK_NAMES


def _label_sources(entries: list[tuple[list[str], _Source]], log: _Log, meta: dict[str, Any]) -> list[_Source]:
    """Class labels from the first folder level (below one shared top-level folder); root files beside folders are skipped."""
    if entries and all(len(parts) > 1 for parts, _ in entries) and len({parts[0] for parts, _ in entries}) == 1:
        meta["top_folder"] = entries[0][0][0]
        entries = [(parts[1:], source) for parts, source in entries]
    if not any(len(parts) > 1 for parts, _ in entries):
        return [source for _, source in entries]  # no class folders: unlabelled
    sources = []
    for parts, source in entries:
        if len(parts) == 1:
            log.skip(source.item, "at the top level beside class folders, so it has no class")
            continue
        source.label = parts[0]
        sources.append(source)
    return sources


def _load_zip(name: str, data: bytes) -> ImageDataset:
    zf = _open_zip(name, data)
    log, meta = _Log(), {"junk_ignored": 0}
    entries: list[tuple[list[str], _Source]] = []
    for info in zf.infolist():
        if info.is_dir():
            continue
        item = f"{name}:{_safe(info.filename)}"
        problem = _unsafe_entry(info)
        if problem:
            log.skip(item, problem)
            continue
        parts = [p for p in info.filename.split("/") if p not in ("", ".")]
        if not parts or _is_junk(parts):
            meta["junk_ignored"] += 1
            continue
        entries.append((parts, _Source(item, _zip_reader(zf, info))))
    if entries and all(parts[-1].lower().endswith(".npy") for parts, _ in entries):
        return _load_npz(name, data)  # an .npz saved under a .zip name
    if not entries:
        if log.items:
            raise log.nothing_kept(name)
        raise DataError("the archive holds no files", name)
    entries.sort(key=lambda e: e[0])
    return _load_images(name, _label_sources(entries, log, meta), "zip", log, meta)


def _load_folder(root: str) -> ImageDataset:
    """A folder on disk, read like a zip: walked without following symbolic links, sizes checked first."""
    name = _display_name(os.path.basename(os.path.normpath(root))) or root
    log, meta = _Log(), {"junk_ignored": 0}
    entries: list[tuple[list[str], _Source]] = []
    count = total = 0
    stack = [(root, [])]
    while stack:
        path, prefix = stack.pop()
        try:
            with os.scandir(path) as it:
                dir_entries = list(it)
        except OSError as e:
            log.skip(f"{name}/{'/'.join(prefix)}", f"cannot list the folder ({e.strerror or e})")
            continue
        for de in dir_entries:
            count += 1
            if count > limits.MAX_ZIP_ENTRIES:
                raise DataError(f"more than {limits.MAX_ZIP_ENTRIES:,} files and folders (MAX_ZIP_ENTRIES)", root)
            parts = [*prefix, de.name]
            item = f"{name}/{_safe('/'.join(parts))}"
            if _is_junk(parts):
                meta["junk_ignored"] += 1
                continue
            if de.is_symlink():
                log.skip(item, "symbolic link (never followed)")
                continue
            if de.is_dir(follow_symlinks=False):
                stack.append((de.path, parts))
                continue
            if not de.is_file(follow_symlinks=False):
                log.skip(item, "not a regular file")
                continue
            size = de.stat(follow_symlinks=False).st_size
            total += size
            if total > limits.MAX_ZIP_UNCOMPRESSED_BYTES:
                raise DataError(
                    f"the files add up to more than {_fmt_bytes(limits.MAX_ZIP_UNCOMPRESSED_BYTES)} (MAX_ZIP_UNCOMPRESSED_BYTES)",
                    root,
                )
            entries.append((parts, _Source(item, _folder_reader(de.path, size))))
    if not entries:
        if log.items:
            raise log.nothing_kept(name)
        raise DataError("the folder holds no files", root)
    entries.sort(key=lambda e: e[0])
    return _load_images(name, _label_sources(entries, log, meta), "folder", log, meta)


def _folder_reader(path: str, size: int) -> Callable[[], bytes]:
    def read() -> bytes:
        if size > limits.MAX_UPLOAD_BYTES:
            raise _SkipItem(
                f"{_fmt_bytes(size)}, over the per-file limit of {_fmt_bytes(limits.MAX_UPLOAD_BYTES)} (MAX_UPLOAD_BYTES)"
            )
        try:
            # O_NOFOLLOW: a file swapped for a symbolic link after the walk is still not followed
            return _read_file(path, size, follow_symlinks=False)
        except DataError as e:
            raise _SkipItem(str(e).split(": ", 1)[-1]) from None

    return read


# ---------------------------------------------------------------- NumPy arrays


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
        raise DataError(f"not a readable NumPy array ({_safe(str(e), 120)})", where) from None
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
        raise DataError(f"truncated: the header promises {_fmt_bytes(expected)} of data, the file holds less", where)
    return tuple(shape), dtype


def _npy_array(where: str, data: bytes, kinds: str = "biuf") -> np.ndarray:
    _npy_header(where, data, kinds)
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)  # never unpickle, whatever the header says
    except Exception as e:  # noqa: BLE001
        raise DataError(f"not a readable NumPy array ({type(e).__name__}: {_safe(str(e), 120)})", where) from None


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
    meta: dict[str, Any],
) -> ImageDataset:
    log = _Log()
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
    target = _stored_size(collections.Counter({(w, h): n}))
    keep = min(n, limits.MAX_ITEMS, limits.MAX_TOTAL_PIXELS // (target[0] * target[1]))
    if keep < n:
        log.skip(
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
        a = _flatten_alpha(a)
        meta["alpha_flattened"] = len(a)
    resized = 0
    if target != (w, h):
        a = np.stack([_resize(img, target) for img in a])
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
        skipped=log.finish(meta),
        meta=meta,
    )


def _load_npy(name: str, data: bytes) -> ImageDataset:
    return _images_from_array(name, "npy", name, _npy_array(name, data), None, None, {})


def _load_npz(name: str, data: bytes) -> ImageDataset:
    zf = _open_zip(name, data)
    members = {
        info.filename[:-4]: info
        for info in zf.infolist()
        if info.filename.endswith(".npy") and not info.is_dir() and _unsafe_entry(info) is None
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
        where = f"{name}:{_safe(key)}"
        try:
            raw = _zip_reader(zf, members[key])()
        except _SkipItem as e:
            raise DataError(str(e), where) from None
        return _npy_array(where, raw, kinds)

    headers = {key: header(key) for key in members}
    image_key = next((k for k in _NPZ_IMAGE_KEYS if k in headers and headers[k] and len(headers[k][0]) in (3, 4)), None)
    if image_key is None:
        image_key = next((k for k, h in headers.items() if h and len(h[0]) in (3, 4)), None)
    if image_key is None:
        shapes = ", ".join(
            f"{_safe(k)} {h[0] if h else '(unreadable)'}" for k, h in itertools.islice(headers.items(), 10)
        )
        raise DataError(
            f"no image array: expected 'images', 'x' or 'arr_0' of shape (N, H, W) or (N, H, W, C); found {shapes}",
            name,
        )
    images = load(image_key)
    meta: dict[str, Any] = {"npz_images_key": image_key, "notes": []}

    labels = None
    label_key = next((k for k in _NPZ_LABEL_KEYS if k in headers and k != image_key), None)
    if label_key is not None:
        shape, dtype = headers[label_key] or ((), np.dtype("O"))
        problem = None
        if dtype.kind not in "iuf" or shape != (len(images),):
            problem = f"expected {len(images)} integers, found shape {shape} of {dtype}"
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
    class_names = _npz_class_names(headers, load, labels, meta) if labels is not None else None
    return _images_from_array(name, "npz", f"{name}:{_safe(image_key)}", images, labels, class_names, meta)


def _npz_class_names(
    headers: dict, load: Callable[..., np.ndarray], labels: np.ndarray, meta: dict[str, Any]
) -> list[str] | None:
    """Names of classes 0..K-1 from a "class_names" (or "classes") string array, as GenAug's own export writes."""
    key = next((k for k in ("class_names", "classes") if headers.get(k)), None)
    if key is None:
        return None
    shape, dtype = headers[key]
    k = shape[0] if len(shape) == 1 else -1
    if dtype.kind not in "US" or k < 1 or labels.min() < 0 or labels.max() >= k:
        meta["notes"].append(f"{key!r} ignored: expected one string per class id 0..{int(labels.max())}")
        return None
    values = load(key, "US")
    return [_safe(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v), 100) for v in values.tolist()]
