"""The doors into the upload loaders: `load_files`, `load_paths`, `table_columns`, `default_column`.

Each file is classified by `formats.classify` (content over extension) and
read by its format family's `load`, looked up here in `_LOADERS`: this module
sits above every loader, so the lookup creates no import cycle. It also owns
the rules about what may be uploaded together: one text file, or image files
only, or one .zip/.npy/.npz on its own.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence

from genaug_core.data import limits
from genaug_core.data.containers import ImageDataset, TextDataset
from genaug_core.data.uploads import archives, arrays, images, tables, text
from genaug_core.data.uploads.common import check_size, display_name, fmt_bytes, list_names, read_file, stat_path
from genaug_core.data.uploads.context import TextOptions
from genaug_core.data.uploads.formats import Format, classify, looks_like_text, magic, text_format
from genaug_core.errors import DataError

# format family (formats.Format.family) -> the function that reads one such file
_LOADERS: dict[str, Callable[[str, bytes, Format, TextOptions], TextDataset | ImageDataset]] = {
    "text": text.load,
    "tables": tables.load,
    "images": images.load,
    "archives": archives.load,
    "arrays": arrays.load,
}


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
    files = [(display_name(name), bytes(data)) for name, data in files]
    if not files:
        raise DataError("no files given")
    formats = []
    for name, data in files:
        check_size(name, len(data))
        formats.append(classify(name, data))

    if len(files) == 1:
        (name, data), fmt = files[0], formats[0]
        return _LOADERS[fmt.family](name, data, fmt, TextOptions(text_column, label_column, has_header))

    # Several files at once: only a multi-file image upload makes sense.
    by_kind: dict[str, list[str]] = {}  # "text", "image", "zip", "npz" or "npy" -> the files
    for (name, _), fmt in zip(files, formats, strict=True):
        by_kind.setdefault(fmt.kind if fmt.kind == "text" else fmt.name, []).append(name)
    group = f"{len(files)} files"
    texts = by_kind.get("text", [])
    if texts and len(by_kind) > 1:
        others = [n for kind, names in by_kind.items() if kind != "text" for n in names]
        raise DataError(
            f"mixes text files ({list_names(texts)}) with other files ({list_names(others)}); "
            "upload one text file, or image files only",
            group,
        )
    if texts:
        raise DataError(f"several text files ({list_names(texts)}); upload one text file at a time", group)
    alone = [n for kind in ("zip", "npz", "npy") for n in by_kind.get(kind, [])]
    if alone:
        raise DataError(f"{list_names(alone)} must be uploaded on its own, not together with other files", group)
    total = sum(len(data) for _, data in files)
    if total > limits.MAX_ZIP_UNCOMPRESSED_BYTES:
        raise DataError(
            f"{fmt_bytes(total)} in all, over the limit of {fmt_bytes(limits.MAX_ZIP_UNCOMPRESSED_BYTES)} "
            "(MAX_ZIP_UNCOMPRESSED_BYTES)",
            group,
        )
    return images.load_files(files)  # all images: text and archives were refused above


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
        return archives.load_folder(folders[0])
    files = []
    total = 0
    for path in paths:
        st = stat_path(path)
        if not stat.S_ISREG(st.st_mode):
            raise DataError("not a regular file", path)
        check_size(path, st.st_size)
        total += st.st_size
        if total > limits.MAX_ZIP_UNCOMPRESSED_BYTES:
            raise DataError(
                f"the files add up to more than {fmt_bytes(limits.MAX_ZIP_UNCOMPRESSED_BYTES)} "
                "(MAX_ZIP_UNCOMPRESSED_BYTES)",
                path,
            )
        files.append((os.path.basename(path), read_file(path, limits.MAX_UPLOAD_BYTES)))
    return load_files(files, text_column=text_column, label_column=label_column, has_header=has_header)


def table_columns(name: str, data: bytes, has_header: bool = True) -> list[str]:
    """Column names of a .csv/.tsv (indices "0", "1", ... without a header) or field names of a .jsonl.

    Anything that is not a table (plain text, images, archives) has no columns: [].
    """
    name = display_name(name)
    if not data or len(data) > limits.MAX_UPLOAD_BYTES or magic(data) or not looks_like_text(data):
        return []
    fmt = text_format(name)
    if fmt.family != "tables":
        return []
    return tables.columns(name, text.decode(data)[0], fmt, has_header)


def default_column(name: str, data: bytes, has_header: bool = True, label_column: str = "") -> str:
    """The column of a .csv/.tsv (field of a .jsonl) the loader reads the text from when none is chosen:
    the one named like text, else the most text-like; "" for anything else or when no column holds text."""
    name = display_name(name)
    if not data or len(data) > limits.MAX_UPLOAD_BYTES or magic(data) or not looks_like_text(data):
        return ""
    fmt = text_format(name)
    if fmt.family != "tables":
        return ""
    return tables.default_column(name, text.decode(data)[0], fmt, has_header, label_column)
