"""Reading a zip held in memory without trusting it, for .zip archives and .npz arrays alike.

`open_zip` refuses a whole archive before anything is unpacked (too many
entries, too many bytes declared, an entry compressed past MAX_ZIP_RATIO);
`zip_reader` reads one entry with a bounded read; `unsafe_entry` says why an
entry must not be read (absolute paths, `..`, backslashes, symbolic links,
encrypted entries). Nothing is ever extracted to disk.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
from collections.abc import Callable

from genaug_core.data import limits
from genaug_core.data.uploads.common import fmt_bytes, safe
from genaug_core.data.uploads.context import SkipItem
from genaug_core.errors import DataError


def open_zip(name: str, data: bytes) -> zipfile.ZipFile:
    """Open a zip held in memory after the checks that reject a whole archive (count, size, ratio)."""
    # ZipFile builds one object per central-directory record, each starting "PK\1\2":
    # count them first so a huge directory is refused before it is parsed.
    if data.count(b"PK\x01\x02") > limits.MAX_ZIP_ENTRIES:
        raise DataError(f"more than {limits.MAX_ZIP_ENTRIES:,} entries (MAX_ZIP_ENTRIES)", name)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception as e:  # noqa: BLE001 - BadZipFile, but also OSError/ValueError/EOFError on crafted input
        raise DataError(f"not a valid zip file ({type(e).__name__}: {safe(str(e), 120)})", name) from None
    if len(infos) > limits.MAX_ZIP_ENTRIES:
        raise DataError(f"{len(infos):,} entries, over the limit of {limits.MAX_ZIP_ENTRIES:,} (MAX_ZIP_ENTRIES)", name)
    total = sum(info.file_size for info in infos)
    if total > limits.MAX_ZIP_UNCOMPRESSED_BYTES:
        raise DataError(
            f"unpacks to {fmt_bytes(total)}, over the limit of {fmt_bytes(limits.MAX_ZIP_UNCOMPRESSED_BYTES)} "
            "(MAX_ZIP_UNCOMPRESSED_BYTES)",
            name,
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= limits.ZIP_RATIO_MIN_BYTES and ratio > limits.MAX_ZIP_RATIO:
            raise DataError(
                f"entry {safe(info.filename)!r} unpacks {ratio:,.0f}-fold ({fmt_bytes(info.file_size)}), over the "
                f"limit of {limits.MAX_ZIP_RATIO} (MAX_ZIP_RATIO): refused as a zip bomb",
                name,
            )
    return zf


def over_file_limit(size: int) -> SkipItem:
    """The reason an entry (or a file of a folder) over MAX_UPLOAD_BYTES is skipped."""
    return SkipItem(
        f"{fmt_bytes(size)}, over the per-file limit of {fmt_bytes(limits.MAX_UPLOAD_BYTES)} (MAX_UPLOAD_BYTES)"
    )


def zip_reader(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], bytes]:
    """A function that reads the entry (raising SkipItem with the reason), called once per pass over the images."""

    def read() -> bytes:
        if info.file_size > limits.MAX_UPLOAD_BYTES:
            raise over_file_limit(info.file_size)
        try:
            with zf.open(info) as f:
                data = f.read(info.file_size + 1)  # never more than declared + 1, whatever the stream holds
        except Exception as e:  # noqa: BLE001 - bad CRC, unsupported compression, truncated data, ...
            raise SkipItem(f"corrupt zip entry ({type(e).__name__}: {safe(str(e), 120)})") from None
        if len(data) > info.file_size:
            raise SkipItem("the entry holds more data than its header declares")
        return data

    return read


def unsafe_entry(info: zipfile.ZipInfo) -> str | None:
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
