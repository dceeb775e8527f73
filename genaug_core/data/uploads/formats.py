"""What a file is: the one table of upload formats, content sniffing, and `kind_of`.

This module owns the decision "what do we load these bytes as", for the
loaders and for anyone who only needs the answer:

- `FORMATS`: extension -> `Format` (the dataset kind it gives, "text" or
  "image"; the format family, i.e. the module of this package that reads it;
  the format's name as `meta["format"]` reports it). The family's loader is
  looked up in `loading.py`: the loaders import this module, so it must not
  import them.
- Sniffing: `magic` (the binary format the bytes start with), `looks_like_text`,
  `describe` (what a file looks like, for messages), and the short list of
  Pillow plugins allowed to parse uploads (`open_image`, `bomb_errors`).
- `classify(name, data)`: the Format the loader reads a file with. Content wins
  over the extension: a PNG named notes.txt is an image; an unknown extension
  with text content reads as .txt; a pickle, or a .zip/.npy/.npz that is not
  one, is a DataError.
- `kind_of(source)`: "text" or "image" for a built-in dataset name, a
  builtin:NAME, a file or folder (by `classify`), or a missing path (by the
  table).
"""

from __future__ import annotations

import codecs
import io
import os
import stat
import struct
import warnings
from dataclasses import dataclass

from PIL import Image

from genaug_core.data import limits
from genaug_core.data.builtin import BUILTINS
from genaug_core.data.uploads.common import display_name, ext, read_file, stat_path
from genaug_core.errors import DataError


@dataclass(frozen=True)
class Format:
    kind: str  # the dataset it loads as: "text" or "image"
    family: str  # the module that reads it: "text", "tables", "images", "archives" or "arrays"
    name: str  # meta["format"] of a text file; the file type in messages


TXT = Format("text", "text", "txt")  # also any extension not in the table, when the content is text
CSV = Format("text", "tables", "csv")
TSV = Format("text", "tables", "tsv")
JSONL = Format("text", "tables", "jsonl")
IMAGE = Format("image", "images", "image")  # meta["format"] names the image's own type (png, jpeg, ...)
ZIP = Format("image", "archives", "zip")
NPZ = Format("image", "arrays", "npz")
NPY = Format("image", "arrays", "npy")

FORMATS: dict[str, Format] = {
    ".txt": TXT,
    ".csv": CSV,
    ".tsv": TSV, ".tab": TSV,
    ".jsonl": JSONL, ".ndjson": JSONL, ".json": JSONL,
    **dict.fromkeys(
        (".png", ".apng", ".jpg", ".jpeg", ".jpe", ".jfif", ".gif", ".bmp", ".webp", ".tif", ".tiff"),
        IMAGE,
    ),
    ".zip": ZIP,
    ".npz": NPZ,
    ".npy": NPY,
}  # fmt: skip

IMAGE_MAGIC = {"png", "jpeg", "gif", "webp", "tiff", "bmp"}  # the image types `magic` recognises


def text_format(name: str) -> Format:
    """The text Format a file's extension asks for; .txt for any other extension."""
    row = FORMATS.get(ext(name))
    return row if row is not None and row.kind == "text" else TXT


# ---------------------------------------------------------------- content sniffing


def magic(data: bytes) -> str | None:
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


BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
)  # (byte-order mark, encoding name reported, codec for the rest)
# Bytes that never occur in text (tab, the line separators of text.LINE_BREAK: \n \r \v \f \x1c-\x1e, backspace
# and escape are allowed).
_CONTROL = bytes([*range(0, 8), *range(14, 27), 31, 127])
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL)
SNIFF_BYTES = 8192  # how far looks_like_text and describe look


def looks_like_text(data: bytes) -> bool:
    """True unless the start of the data has NUL bytes or many control bytes (text with a BOM always counts)."""
    if any(data.startswith(bom) for bom, _, _ in BOMS):
        return True
    sample = data[:SNIFF_BYTES]
    if b"\x00" in sample:
        return False
    controls = len(sample.translate(None, _NOT_CONTROL))
    return controls <= len(sample) * 0.05


def is_text(data: bytes) -> bool:
    """Text content: no known binary format at the start, and it looks like text."""
    return magic(data) is None and looks_like_text(data)


def describe(data: bytes) -> str:
    """What the bytes look like, for a message: "looks like a PNG image", "looks like text", ..."""
    kind = magic(data)
    if kind in IMAGE_MAGIC:
        return f"looks like a {kind.upper()} image"
    if kind == "npy":
        return "looks like a NumPy .npy array"
    if kind:
        return f"looks like a {kind} file"
    if looks_like_text(data):
        return "looks like text"
    sample = data[:SNIFF_BYTES]
    if len(sample) >= 16 and max(sample[0::2].count(0), sample[1::2].count(0)) > len(sample) * 0.4:
        return "looks like UTF-16 text without a byte-order mark (save it as UTF-8)"
    return "unrecognised binary content"


# ---------------------------------------------------------------- the Pillow plugins uploads may use

# Deliberately short: the formats whose Pillow plugin reads the size from the header without decoding any
# pixel, so MAX_IMAGE_PIXELS is checked before any decode. Others are refused: an .ico's entry is a whole PNG
# that Pillow decodes on open (a zip of such files cost minutes of CPU), EPS would run Ghostscript, and
# rarely used parsers are a needless attack surface.
_PILLOW_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
ACCEPTED_IMAGES = "PNG, JPEG, BMP, WEBP, GIF, TIFF"
# extensions of image formats we refuse, so the message can say so rather than "unrecognised binary content"
_REFUSED_IMAGE_EXTS = (".ico", ".cur", ".dib", ".ppm", ".pgm", ".pbm", ".pnm", ".tga", ".pcx", ".qoi", ".avif",
                       ".heic", ".psd", ".eps", ".svg", ".jp2", ".dds", ".icns", ".xbm", ".sgi", ".im")
_formats: tuple[str, ...] | None = None


def pillow_formats() -> tuple[str, ...]:
    global _formats
    if _formats is None:
        Image.init()
        _formats = tuple(f for f in _PILLOW_FORMATS if f in Image.OPEN)  # a plugin missing here would KeyError
    return _formats


def open_image(data: bytes) -> Image.Image:
    """Open an image lazily (header only) with our list of formats."""
    return Image.open(io.BytesIO(data), formats=pillow_formats())


class bomb_errors(warnings.catch_warnings):
    """Turn Pillow's DecompressionBombWarning into an error (and silence its UserWarnings) while decoding.

    (catch_warnings changes process-wide filters; the window is one image open.)
    """

    def __enter__(self):
        result = super().__enter__()
        warnings.simplefilter("ignore", UserWarning)  # Pillow's "corrupt EXIF" chatter: the item is judged anyway
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return result


def _probe_pillow(data: bytes) -> bool:
    try:
        with bomb_errors():
            open_image(data)
        return True
    except Exception:  # noqa: BLE001 - any failure just means "not an image Pillow knows"
        return False


# ---------------------------------------------------------------- the decision


def classify(name: str, data: bytes) -> Format:
    """The Format to load the file with; DataError for content no loader takes.

    The content decides when it disagrees with the extension.
    """
    kind, row = magic(data), FORMATS.get(ext(name))
    if kind in IMAGE_MAGIC:
        return IMAGE
    if kind == "zip":
        return NPZ if row is NPZ else ZIP
    if kind == "npy":
        return NPY
    if kind == "pickle":
        raise DataError(
            "Python pickle data; pickles are never loaded because they can run code "
            "(save arrays with numpy.save or numpy.savez instead)",
            name,
        )
    if ext(name) in _REFUSED_IMAGE_EXTS:
        raise DataError(f"{ext(name)} images are not accepted; the image formats are {ACCEPTED_IMAGES}", name)
    if row is IMAGE:
        return IMAGE  # an image extension without the magic: Pillow decides, per item (and refuses it)
    if row in (NPY, NPZ, ZIP):
        raise DataError(f"not a {ext(name)} file: {describe(data)}", name)
    if is_text(data):
        return text_format(name)
    if kind is None and _probe_pillow(data):
        return IMAGE
    what = f"a {kind} file" if kind else describe(data)
    raise DataError(f"unsupported or binary content ({what}); expected text, images, a .zip, .npy or .npz", name)


_HEAD_BYTES = 64 * 1024  # what kind_of reads first: past SNIFF_BYTES, and most image headers


def kind_of(source: str | os.PathLike) -> str:
    """The kind of dataset a source (a `DataConfig.source`, a CLI input) loads as: "text" or "image".

    - a built-in dataset name, or builtin:NAME: the kind of its registry entry
      (DataError for an unknown builtin:NAME);
    - "a.png::b.png" (several files, as `load_dataset` splits a source): the first one answers;
    - an existing file: its content, by the loader's own `classify`, so a PNG named
      notes.txt is "image". Text named x.png is "text": the loader refuses it
      ("not an image: looks like text") rather than read it as text, but text is what it holds;
    - a folder: "image" (it loads like a zip of images);
    - a path that does not exist (a run whose staged file is gone): its extension in
      FORMATS, and "image" for an extension the table does not know (as
      the extension rule answers).

    Raises DataError where the loader refuses the content itself (a pickle, a PDF,
    a .zip that is not one), or cannot read the file.
    """
    source = os.fspath(source)
    if source in BUILTINS:
        return BUILTINS.get(source).kind
    if source.startswith("builtin:"):
        name = source.removeprefix("builtin:")
        if name not in BUILTINS:
            raise DataError(f"no built-in dataset of that name; known: {', '.join(BUILTINS)}", source)
        return BUILTINS.get(name).kind
    path = next((p for p in source.split("::") if p), source)
    if os.path.isdir(path):
        return "image"
    if not os.path.exists(path):
        row = FORMATS.get(ext(path))
        return row.kind if row is not None else "image"
    if not stat.S_ISREG(stat_path(path).st_mode):  # a FIFO would block the read below
        raise DataError("not a regular file", path)
    name = display_name(os.path.basename(path))
    data = read_file(path, _HEAD_BYTES, truncate=True)
    try:
        fmt = classify(name, data)
    except DataError:
        if len(data) < _HEAD_BYTES:
            raise
        # Only classify's last resort, Pillow's probe, may need more than the head: give it the whole file.
        data = read_file(path, limits.MAX_UPLOAD_BYTES)
        fmt = classify(name, data)
    if fmt is IMAGE and is_text(data):
        return "text"
    return fmt.kind
