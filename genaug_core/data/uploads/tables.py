"""Table uploads: .csv/.tsv (delimiter sniffed, pick a column) and .jsonl (pick a field), with optional labels.

`load` reads one into a TextDataset; `columns` lists the column or field
names for the Data page's column picker. Rows that cannot be used are
skipped with a reason naming the line; a row or field longer than
MAX_LINE_CHARS is skipped, and a hostile row of millions of fields is cut
off while it is read.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterator
from typing import Any

from genaug_core.data import limits
from genaug_core.data.containers import TextDataset
from genaug_core.data.uploads.common import list_names, safe
from genaug_core.data.uploads.context import LoadContext, TextOptions
from genaug_core.data.uploads.formats import JSONL, Format
from genaug_core.data.uploads.text import begin, dataset, iter_lines, normalise_newlines, over_limit, too_long
from genaug_core.errors import DataError


def load(name: str, data: bytes, fmt: Format, options: TextOptions) -> TextDataset:
    """A .csv/.tsv/.jsonl file as a TextDataset: the text column (field), and labels from the label column."""
    text, ctx = begin(data, fmt)
    if fmt == JSONL:
        texts, labels = _read_jsonl(name, text, options, ctx)
    else:
        texts, labels = _read_table(name, text, fmt.name, options, ctx)
    return dataset(name, texts, labels, ctx)


def columns(name: str, text: str, fmt: Format, has_header: bool) -> list[str]:
    """Column names of a .csv/.tsv (indices "0", "1", ... without a header) or field names of a .jsonl.

    From the first 50 rows; [] when there are none.
    """
    ctx = LoadContext()  # what these rows would skip is reported by the load itself
    if fmt == JSONL:
        seen: dict[str, None] = {}
        for _, obj in itertools.islice(_jsonl_objects(name, text, ctx), 50):
            seen.update(dict.fromkeys(obj))
        return list(seen)
    text = normalise_newlines(text)
    rows = list(itertools.islice(_csv_rows(name, text, _delimiter(text, fmt.name), ctx), 50))
    if not rows:
        return []
    if has_header:
        return _header_names(rows[0][1])
    return [str(i) for i in range(max(len(row) for _, row in rows))]


def default_column(name: str, text: str, fmt: Format, has_header: bool, label_column: str = "") -> str:
    """The column (field) `load` reads the text from when none is chosen; "" when there is none to pick
    (the load then says why)."""
    ctx = LoadContext()
    if fmt == JSONL:
        head = list(itertools.islice(_jsonl_objects(name, text, ctx), 200))
        return _default_field(head, label_column)
    text = normalise_newlines(text)
    head = list(itertools.islice(_csv_rows(name, text, _delimiter(text, fmt.name), ctx), 201))
    if not head or (has_header and len(head) < 2):
        return ""
    names = _header_names(head.pop(0)[1]) if has_header else [str(i) for i in range(max(len(r) for _, r in head))]
    try:
        lcol = _pick_column(name, label_column, names, "label column") if label_column else None
        return names[_default_text_column(name, head, names, lcol)]
    except DataError:
        return ""


# ---------------------------------------------------------------- .csv / .tsv


class _RowTooLong(Exception):
    pass


class _LineFeed:
    """Feeds csv.reader one line at a time and stops a row that grows past MAX_LINE_CHARS.

    The csv module's field limit bounds one field, not a row of many fields, so
    a hostile file could otherwise build a row with millions of fields.
    """

    def __init__(self, text: str):
        self.lines = iter_lines(text)
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


def _csv_rows(name: str, text: str, delimiter: str, ctx: LoadContext) -> Iterator[tuple[int, list[str]]]:
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
            ctx.skip(
                f"{name} line {feed.line}",
                f"line {feed.line}: row longer than {limits.MAX_LINE_CHARS:,} characters (MAX_LINE_CHARS)",
            )
            continue
        except csv.Error as e:
            ctx.skip(f"{name} line {feed.line}", f"line {feed.line}: {e}")
            continue
        if not row:
            ctx.meta["blank_rows"] = ctx.meta.get("blank_rows", 0) + 1
            continue
        yield feed.line, row


def _delimiter(text: str, fmt: str) -> str:
    """Sniff the delimiter among , tab ; | from the first lines (a .tsv with tabs stays tab-separated)."""
    sample = "".join(itertools.islice(iter_lines(text), 20))
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
    raise DataError(f"no {what} {safe(wanted)!r}; the columns are: {list_names([repr(n) for n in names], 20)}", name)


def _is_number(value: str) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return False


# Column names that say "the text is here", in order of preference (compared lowercased and stripped).
TEXT_COLUMN_NAMES = ("text", "sentence", "sentences", "content", "body", "message", "review", "comment",
                     "caption", "description", "prompt", "document", "utterance", "line", "title", "name", "word")


def _text_score(rows: list[tuple[int, list[str]]], j: int) -> float | None:
    """How text-like column j's sampled values are: their mean length when most are not numbers, else None."""
    values = [row[j].strip() for _, row in rows if j < len(row) and row[j].strip()]
    if not values or sum(not _is_number(v) for v in values) <= len(values) / 2:
        return None
    return sum(map(len, values)) / len(values)


def _default_text_column(name: str, rows: list[tuple[int, list[str]]], names: list[str], exclude: int | None) -> int:
    """The text column when none is chosen: the column named like text (TEXT_COLUMN_NAMES, in that order)
    that holds text, else the most text-like column (mostly not numbers, longest values on average).
    DataError listing the columns when no column holds text."""
    candidates = [j for j in range(len(names)) if j != exclude]
    scores = {j: _text_score(rows, j) for j in candidates}
    lowered = {j: names[j].strip().lower() for j in candidates}
    for wanted in TEXT_COLUMN_NAMES:
        named = [j for j in candidates if lowered[j] == wanted and scores[j] is not None]
        if named:
            return named[0]
    texty = [j for j in candidates if scores[j] is not None]
    if not texty:
        cols = list_names([repr(safe(names[j])) for j in candidates], 20) if candidates else "none"
        raise DataError(
            "no column holds text (the values are mostly numbers or empty); the columns"
            f"{' besides the label column' if exclude is not None else ''} are: {cols}; choose the text column",
            name,
        )
    return max(texty, key=lambda j: (scores[j], -j))


def _read_table(
    name: str, text: str, fmt: str, options: TextOptions, ctx: LoadContext
) -> tuple[list[str], list[str] | None]:
    text_column, label_column, has_header = options.text_column, options.label_column, options.has_header
    text = normalise_newlines(text)
    delimiter = _delimiter(text, fmt)
    rows = _csv_rows(name, text, delimiter, ctx)
    head = list(itertools.islice(rows, 201))  # a sample for the column guess; the rest streams
    if not head:
        raise ctx.nothing_kept(name) if ctx.skipped else DataError("no rows", name)
    if has_header:
        names = _header_names(head.pop(0)[1])
        if not head:
            raise ctx.nothing_kept(name) if ctx.skipped else DataError("a header row but no data rows", name)
    else:
        names = [str(i) for i in range(max(len(row) for _, row in head))]
    lcol = _pick_column(name, label_column, names, "label column") if label_column else None
    if text_column:
        tcol = _pick_column(name, text_column, names, "column")
    else:
        tcol = _default_text_column(name, head, names, lcol)
    if tcol == lcol:
        raise DataError(f"the text and label columns are the same ({names[tcol]!r})", name)
    ctx.meta.update(delimiter=delimiter, has_header=has_header, columns=names, column=names[tcol])
    if lcol is not None:
        ctx.meta["label_column"] = names[lcol]

    texts: list[str] = []
    labels: list[str] | None = [] if lcol is not None else None
    for line, row in itertools.chain(head, rows):
        if len(texts) >= limits.MAX_ITEMS:
            over_limit(name, line, ctx)
            break
        if tcol >= len(row):
            ctx.skip(f"{name} line {line}", f"line {line}: no column {names[tcol]!r} (the row has {len(row)} fields)")
            continue
        if lcol is not None and lcol >= len(row):
            ctx.skip(f"{name} line {line}", f"line {line}: no column {names[lcol]!r} (the row has {len(row)} fields)")
            continue
        value = row[tcol]
        if len(value) > limits.MAX_LINE_CHARS:
            ctx.skip(f"{name} line {line}", too_long(line, len(value)))
            continue
        if labels is not None:
            label = row[lcol].strip()
            if not label:
                ctx.skip(f"{name} line {line}", f"line {line}: empty label in column {names[lcol]!r}")
                continue
            labels.append(label)
        texts.append(value)
    return texts, labels


# ---------------------------------------------------------------- .jsonl


def _jsonl_objects(name: str, text: str, ctx: LoadContext) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each line holding a JSON object; other lines are skipped with a reason."""
    for i, line in enumerate(iter_lines(text), 1):
        line = line.strip()
        if not line:
            ctx.meta["blank_lines"] = ctx.meta.get("blank_lines", 0) + 1
            continue
        if len(line) > limits.MAX_LINE_CHARS:
            ctx.skip(f"{name} line {i}", too_long(i, len(line)))
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            ctx.skip(f"{name} line {i}", f"line {i}: invalid JSON ({e.msg} at column {e.colno})")
            continue
        except (ValueError, RecursionError) as e:  # e.g. nesting too deep, an integer too long
            ctx.skip(f"{name} line {i}", f"line {i}: invalid JSON ({type(e).__name__})")
            continue
        if not isinstance(obj, dict):
            ctx.skip(f"{name} line {i}", f"line {i}: a JSON {_json_type(obj)}, not an object")
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


def _default_field(head: list[tuple[int, dict]], label_column: str) -> str:
    """The JSONL field with the text when none is chosen: the first field named like text (TEXT_COLUMN_NAMES)
    holding strings, else the first field holding strings; "" when none does."""
    strings = list(dict.fromkeys(k for _, obj in head for k, v in obj.items() if isinstance(v, str) and k != label_column))
    for wanted in TEXT_COLUMN_NAMES:
        named = [k for k in strings if k.strip().lower() == wanted]
        if named:
            return named[0]
    return strings[0] if strings else ""


def _read_jsonl(name: str, text: str, options: TextOptions, ctx: LoadContext) -> tuple[list[str], list[str] | None]:
    text_column, label_column = options.text_column, options.label_column
    # A pretty-printed JSON document starts with a line holding only "[" or "{": no JSON Lines file does.
    first = next((ln.strip() for ln in iter_lines(text) if ln.strip()), "")
    if first in ("[", "{"):
        raise DataError(
            "not JSON Lines: this looks like one pretty-printed JSON document; write one JSON object per line", name
        )
    objects = _jsonl_objects(name, text, ctx)
    head = list(itertools.islice(objects, 200))
    field = text_column or _default_field(head, label_column)
    if not field:
        if head:
            seen = list(dict.fromkeys(k for _, obj in head for k in obj))
            raise DataError(f"no field with text in the first lines; the fields are: {list_names(seen, 20)}", name)
        raise ctx.nothing_kept(name)
    if field == label_column:
        raise DataError(f"the text and label fields are the same ({field!r})", name)
    ctx.meta["column"] = field
    if label_column:
        ctx.meta["label_column"] = label_column

    texts: list[str] = []
    labels: list[str] | None = [] if label_column else None
    for i, obj in itertools.chain(head, objects):
        if len(texts) >= limits.MAX_ITEMS:
            over_limit(name, i, ctx)
            break
        if field not in obj:
            ctx.skip(f"{name} line {i}", f"line {i}: no field {safe(field)!r}")
            continue
        value = obj[field]
        if not isinstance(value, str):
            ctx.skip(f"{name} line {i}", f"line {i}: field {safe(field)!r} is a {_json_type(value)}, not a string")
            continue
        if len(value) > limits.MAX_LINE_CHARS:
            ctx.skip(f"{name} line {i}", too_long(i, len(value)))
            continue
        if labels is not None:
            if label_column not in obj:
                ctx.skip(f"{name} line {i}", f"line {i}: no field {safe(label_column)!r}")
                continue
            label = obj[label_column]
            if not isinstance(label, str | int | bool) or (isinstance(label, str) and not label.strip()):
                ctx.skip(
                    f"{name} line {i}",
                    f"line {i}: label {safe(label_column)!r} must be a non-empty string or an integer, got a {_json_type(label)}",
                )
                continue
            labels.append(label.strip() if isinstance(label, str) else json.dumps(label))
        texts.append(value)
    return texts, labels
