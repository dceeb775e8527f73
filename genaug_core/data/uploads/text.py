"""Text uploads: decoding bytes to text, reading lines, and plain .txt files (one item per line).

Also the pieces every text format shares (tables.py reads .csv/.tsv/.jsonl
with them): `begin` decodes and starts the load's context, `dataset` builds
the TextDataset, `over_limit` / `too_long` word the limits.

UTF-8 with or without BOM and UTF-16 with BOM are read; invalid UTF-8 bytes
become U+FFFD and are counted in `meta["undecodable_bytes"]`. Empty lines of
a .txt are kept as empty items (the sanity checks report them), but a .txt
with no non-empty line is refused.

Lines of a .txt split where Python's `str.splitlines` splits (LINE_BREAK):
\n, \r\n, \r, vertical tab, form feed, \x1c, \x1d, \x1e, \x85 (NEL),
U+2028 and U+2029; a break at the very end adds no item. The preview, the
sanity report and training all count these same items (training reads the
prepared items back as staged, genaug_core/data/staged.py). CSV/TSV/JSONL rows
end at \n, \r\n or \r as the csv and json modules read them.
"""

from __future__ import annotations

import codecs
import re
import threading
from collections.abc import Iterator

from genaug_core.data import limits
from genaug_core.data.containers import TextDataset
from genaug_core.data.uploads.common import class_ids
from genaug_core.data.uploads.context import LoadContext, TextOptions
from genaug_core.data.uploads.formats import BOMS, Format
from genaug_core.errors import DataError

# Every line break str.splitlines knows, \r\n first so it counts as one.
LINE_BREAK = re.compile("\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")

_count = threading.local()  # undecodable bytes of the current decode, per thread


def _count_and_replace(exc: UnicodeDecodeError) -> tuple[str, int]:
    _count.n = getattr(_count, "n", 0) + (exc.end - exc.start)
    return "\ufffd", exc.end


codecs.register_error("genaug.count_replace", _count_and_replace)


def decode(data: bytes) -> tuple[str, str, int]:
    """(text, encoding name, number of undecodable bytes replaced by U+FFFD)."""
    encoding, codec, body = "utf-8", "utf-8", data
    for bom, name, bom_codec in BOMS:
        if data.startswith(bom):
            encoding, codec, body = name, bom_codec, data[len(bom) :]
            break
    _count.n = 0
    text = body.decode(codec, errors="genaug.count_replace")
    return text, encoding, _count.n


def normalise_newlines(text: str) -> str:
    # Old Mac files end lines with a bare CR; everything else has LF (with or without CR).
    return text.replace("\r", "\n") if "\n" not in text and "\r" in text else text


def iter_lines(text: str) -> Iterator[str]:
    """Lines with their "\\n", like a file opened with newline="" (no copy of the whole text)."""
    start, n = 0, len(text)
    while start < n:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start : end + 1]
        start = end + 1


def begin(data: bytes, fmt: Format) -> tuple[str, LoadContext]:
    """The decoded text and a fresh context whose meta says the format and encoding."""
    text, encoding, bad = decode(data)
    return text, LoadContext({"format": fmt.name, "encoding": encoding, "undecodable_bytes": bad})


def dataset(name: str, texts: list[str], labels: list[str] | None, ctx: LoadContext) -> TextDataset:
    """The TextDataset of the items kept (labels become class ids in natural order); DataError when none were."""
    if not texts:
        raise ctx.nothing_kept(name)
    class_names = label_ids = None
    if labels is not None:
        class_names, label_ids = class_ids(labels)
    ctx.meta["items"] = len(texts)
    return TextDataset(
        name=name,
        source=f"upload:{name}",
        texts=texts,
        labels=label_ids,
        class_names=class_names,
        skipped=ctx.finish(),
        meta=ctx.meta,
    )


def over_limit(name: str, line: int, ctx: LoadContext) -> None:
    """Stop at MAX_ITEMS: one skipped entry says from which line on the file was not read."""
    ctx.meta["truncated_at_line"] = line - 1
    ctx.skip(
        f"{name} line {line}-",
        f"only the first {limits.MAX_ITEMS:,} items are loaded (MAX_ITEMS); the file from line {line} on was not read",
        always=True,
    )


def too_long(line: int, n: int) -> str:
    return f"line {line}: {n:,} characters, over the limit of {limits.MAX_LINE_CHARS:,} (MAX_LINE_CHARS)"


def iter_txt_lines(text: str) -> Iterator[str]:
    """The lines of a .txt without their breaks, split by LINE_BREAK like str.splitlines (without a copy)."""
    start = 0
    for m in LINE_BREAK.finditer(text):
        yield text[start : m.start()]
        start = m.end()
    if start < len(text):
        yield text[start:]


def read_txt(name: str, text: str, ctx: LoadContext) -> list[str]:
    """One item per line; empty lines are kept (the sanity checks report them), line ends are dropped.

    DataError when no line holds anything but whitespace."""
    texts: list[str] = []
    for i, line in enumerate(iter_txt_lines(text), 1):
        if len(texts) >= limits.MAX_ITEMS:
            over_limit(name, i, ctx)
            break
        if len(line) > limits.MAX_LINE_CHARS:
            ctx.skip(f"{name} line {i}", too_long(i, len(line)))
            continue
        texts.append(line)
    ctx.meta["empty_lines"] = empty = sum(1 for t in texts if not t.strip())
    if texts and empty == len(texts):
        raise DataError(f"no non-empty line: all {len(texts):,} lines are empty or whitespace", name)
    return texts


def load(name: str, data: bytes, fmt: Format, options: TextOptions) -> TextDataset:
    """A .txt file (or text content under an extension the table does not know) as a TextDataset."""
    text, ctx = begin(data, fmt)
    return dataset(name, read_txt(name, text, ctx), None, ctx)
