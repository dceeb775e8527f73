"""Zip archives and folders of images: entries read in memory, the first folder level names the class.

The first folder level (below one top-level folder that every entry shares,
if any) names the class; with no folders the images are unlabelled. Files at
the root beside class folders have no class and are skipped with a reason.
Unsafe entries (see safezip.py) are skipped with a reason; folders and OS
junk (__MACOSX/, hidden files, Thumbs.db, desktop.ini) are ignored silently
and counted in `meta["junk_ignored"]`. A folder given to `load_paths` is
read the same way; symbolic links inside it are never followed. A .zip whose
files are all .npy is an .npz under another name and loads as one.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from genaug_core.data import limits
from genaug_core.data.containers import ImageDataset
from genaug_core.data.uploads.arrays import load_npz
from genaug_core.data.uploads.common import display_name, fmt_bytes, read_file, safe
from genaug_core.data.uploads.context import LoadContext, SkipItem, TextOptions
from genaug_core.data.uploads.formats import Format
from genaug_core.data.uploads.images import Source, load_images
from genaug_core.data.uploads.safezip import open_zip, over_file_limit, unsafe_entry, zip_reader
from genaug_core.errors import DataError

_JUNK_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}


def load(name: str, data: bytes, fmt: Format, options: TextOptions) -> ImageDataset:
    """A .zip file as an ImageDataset."""
    return load_zip(name, data)


def _is_junk(parts: list[str]) -> bool:
    """OS junk and hidden files: __MACOSX/, ._AppleDouble, .DS_Store, Thumbs.db, desktop.ini, .git/..."""
    return any(p == "__MACOSX" or p.startswith(".") for p in parts) or parts[-1].lower() in _JUNK_NAMES


def _label_sources(entries: list[tuple[list[str], Source]], ctx: LoadContext) -> list[Source]:
    """Class labels from the first folder level (below one shared top-level folder); root files beside folders are skipped."""
    if entries and all(len(parts) > 1 for parts, _ in entries) and len({parts[0] for parts, _ in entries}) == 1:
        ctx.meta["top_folder"] = entries[0][0][0]
        entries = [(parts[1:], source) for parts, source in entries]
    if not any(len(parts) > 1 for parts, _ in entries):
        return [source for _, source in entries]  # no class folders: unlabelled
    sources = []
    for parts, source in entries:
        if len(parts) == 1:
            ctx.skip(source.item, "at the top level beside class folders, so it has no class")
            continue
        source.label = parts[0]
        sources.append(source)
    return sources


def _load_entries(
    name: str, where: str, entries: list[tuple[list[str], Source]], fmt: str, ctx: LoadContext
) -> ImageDataset:
    """The images of a zip or folder, sorted by path and labelled by their class folder."""
    if not entries:
        if ctx.skipped:
            raise ctx.nothing_kept(name)
        raise DataError(f"the {'archive' if fmt == 'zip' else 'folder'} holds no files", where)
    entries.sort(key=lambda e: e[0])
    return load_images(name, _label_sources(entries, ctx), fmt, ctx)


def load_zip(name: str, data: bytes) -> ImageDataset:
    zf = open_zip(name, data)
    ctx = LoadContext({"junk_ignored": 0})
    entries: list[tuple[list[str], Source]] = []
    for info in zf.infolist():
        if info.is_dir():
            continue
        item = f"{name}:{safe(info.filename)}"
        problem = unsafe_entry(info)
        if problem:
            ctx.skip(item, problem)
            continue
        parts = [p for p in info.filename.split("/") if p not in ("", ".")]
        if not parts or _is_junk(parts):
            ctx.meta["junk_ignored"] += 1
            continue
        entries.append((parts, Source(item, zip_reader(zf, info))))
    if entries and all(parts[-1].lower().endswith(".npy") for parts, _ in entries):
        return load_npz(name, data)  # an .npz saved under a .zip name
    return _load_entries(name, name, entries, "zip", ctx)


def load_folder(root: str) -> ImageDataset:
    """A folder on disk, read like a zip: walked without following symbolic links, sizes checked first."""
    name = display_name(os.path.basename(os.path.normpath(root))) or root
    ctx = LoadContext({"junk_ignored": 0})
    entries: list[tuple[list[str], Source]] = []
    count = total = 0
    stack = [(root, [])]
    while stack:
        path, prefix = stack.pop()
        try:
            with os.scandir(path) as it:
                dir_entries = list(it)
        except OSError as e:
            ctx.skip(f"{name}/{'/'.join(prefix)}", f"cannot list the folder ({e.strerror or e})")
            continue
        for de in dir_entries:
            count += 1
            if count > limits.MAX_ZIP_ENTRIES:
                raise DataError(f"more than {limits.MAX_ZIP_ENTRIES:,} files and folders (MAX_ZIP_ENTRIES)", root)
            parts = [*prefix, de.name]
            item = f"{name}/{safe('/'.join(parts))}"
            if _is_junk(parts):
                ctx.meta["junk_ignored"] += 1
                continue
            if de.is_symlink():
                ctx.skip(item, "symbolic link (never followed)")
                continue
            if de.is_dir(follow_symlinks=False):
                stack.append((de.path, parts))
                continue
            if not de.is_file(follow_symlinks=False):
                ctx.skip(item, "not a regular file")
                continue
            size = de.stat(follow_symlinks=False).st_size
            total += size
            if total > limits.MAX_ZIP_UNCOMPRESSED_BYTES:
                raise DataError(
                    f"the files add up to more than {fmt_bytes(limits.MAX_ZIP_UNCOMPRESSED_BYTES)} (MAX_ZIP_UNCOMPRESSED_BYTES)",
                    root,
                )
            entries.append((parts, Source(item, _folder_reader(de.path, size))))
    return _load_entries(name, root, entries, "folder", ctx)


def _folder_reader(path: str, size: int) -> Callable[[], bytes]:
    def read() -> bytes:
        if size > limits.MAX_UPLOAD_BYTES:
            raise over_file_limit(size)
        try:
            # O_NOFOLLOW: a file swapped for a symbolic link after the walk is still not followed
            return read_file(path, size, follow_symlinks=False)
        except DataError as e:
            raise SkipItem(str(e).split(": ", 1)[-1]) from None

    return read
