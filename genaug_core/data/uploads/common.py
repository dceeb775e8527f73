"""Small helpers every upload loader shares: names and sizes in messages, bounded reads from disk, class order.

Names and text from an upload end up in error messages and skipped-item
reasons, so they pass through `safe` (no control characters, bounded length).
Nothing here knows a file format.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from genaug_core.data import limits
from genaug_core.errors import DataError


def display_name(name: str) -> str:
    """The file's own name (no folders), safe to print: control characters replaced, length capped."""
    base = re.split(r"[\\/]", str(name))[-1].strip()
    return safe(base) or "upload"


def safe(text: str, cap: int = 200) -> str:
    """Text from an upload (a name, a field) made safe to show: no control characters, bounded length."""
    text = re.sub(r"[\x00-\x1f\x7f]", "?", text)
    return text if len(text) <= cap else text[: cap - 1] + "…"


def ext(name: str) -> str:
    """The extension, lower-case, with its dot ("" when there is none)."""
    return os.path.splitext(name)[1].lower()


def fmt_bytes(n: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}".replace(".0 ", " ")
    return f"{n} bytes"


def list_names(names: Sequence[str], cap: int = 3) -> str:
    shown = ", ".join(names[:cap])
    return shown + (f" and {len(names) - cap} more" if len(names) > cap else "")


def const(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def check_size(name: str, n: int) -> None:
    if n > limits.MAX_UPLOAD_BYTES:
        raise DataError(
            f"{fmt_bytes(n)} is over the upload limit of {fmt_bytes(limits.MAX_UPLOAD_BYTES)} (MAX_UPLOAD_BYTES)",
            name,
        )
    if n == 0:
        raise DataError("empty file (0 bytes)", name)


def stat_path(path: str) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise DataError("no such file", path) from None
    except OSError as e:
        raise DataError(f"cannot read it ({e.strerror or e})", path) from None


def read_file(path: str, limit: int, *, follow_symlinks: bool = True, truncate: bool = False) -> bytes:
    """Read a regular file, at most `limit` bytes (it may have grown since it was stat'ed).

    A longer file is a DataError, or with `truncate` just its first `limit` bytes.
    """
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
        if truncate:
            return data[:limit]
        raise DataError(f"larger than {fmt_bytes(limit)}", path)
    return data


def sorted_classes(values: set[str]) -> list[str]:
    """Class names in a natural order: numerically when every name is an integer, else alphabetically."""
    try:
        return sorted(values, key=lambda v: (int(v), v))
    except ValueError:
        return sorted(values)


def class_ids(labels: Iterable[str]) -> tuple[list[str], np.ndarray]:
    """(class names in natural order, int64 id of each label): how text rows and image folders become classes."""
    labels = list(labels)
    class_names = sorted_classes(set(labels))
    index = {c: i for i, c in enumerate(class_names)}
    return class_names, np.array([index[v] for v in labels], dtype=np.int64)
