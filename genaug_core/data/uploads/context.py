"""The state of one load: what was skipped, the dataset's meta, the decode counters.

Every reader and loader of the package takes one `LoadContext` instead of a
(skipped-items log, meta dict) pair threaded through each helper; a load
starts a fresh one, and the dataset it builds gets `ctx.finish()` as its
`skipped` list and `ctx.meta` as its meta. `SkipItem` is how a helper says
"leave this one item out": the loop that catches it records the reason.
"""

from __future__ import annotations

import collections
import dataclasses
from dataclasses import dataclass
from typing import Any

from genaug_core.data import limits
from genaug_core.data.containers import SkippedItem
from genaug_core.errors import DataError


class SkipItem(Exception):
    """One item cannot be used; the message is the reason shown to the user."""


@dataclass(frozen=True)
class TextOptions:
    """The user's choices for a .csv/.tsv/.jsonl: which column or field holds the text, which the labels."""

    text_column: str = ""  # "" = the first column (field) that holds text
    label_column: str = ""  # "" = unlabelled
    has_header: bool = True  # .csv/.tsv: the first row names the columns


@dataclass
class LoadContext:
    """What one load gathers on the way: skipped items, the dataset's meta, and the image decode budget.

    Only the first MAX_SKIPPED_LISTED skipped items are listed, all are counted,
    so a file of a million bad lines cannot fill memory with reasons.
    """

    meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    skipped: list[SkippedItem] = dataclasses.field(default_factory=list)  # the listed ones
    skipped_total: int = 0
    # images converted on the way (resized, exif_transposed, alpha_flattened, ...), copied into meta at the end
    facts: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    decoded_pixels: int = 0  # pixels the image loader will decode, bounded by MAX_DECODED_PIXELS

    def skip(self, item: str, reason: str, *, always: bool = False) -> None:
        """Record a skipped item; `always` lists it even past MAX_SKIPPED_LISTED (the "N more were left out" notes)."""
        self.skipped_total += 1
        if always or len(self.skipped) < limits.MAX_SKIPPED_LISTED:
            self.skipped.append(SkippedItem(item, reason))

    def finish(self) -> list[SkippedItem]:
        """The dataset's `skipped` list (plus one entry counting the unlisted ones); sets meta["skipped_total"]."""
        self.meta["skipped_total"] = self.skipped_total
        listed = list(self.skipped)
        if self.skipped_total > len(listed):
            listed.append(
                SkippedItem(
                    "…",
                    f"{self.skipped_total - len(listed):,} more items were skipped; only the first "
                    f"{limits.MAX_SKIPPED_LISTED:,} are listed (MAX_SKIPPED_LISTED)",
                )
            )
        return listed

    def nothing_kept(self, name: str) -> DataError:
        """The error for a load that kept no item: how many were skipped, and why the first one was."""
        if not self.skipped:
            return DataError("no usable items", name)
        first = self.skipped[0]
        item = first.item[len(name) :].lstrip(": /") if first.item.startswith(name) else first.item
        where = f"{item}: " if item and not first.reason.startswith(item) else ""  # "line 3: line 3: ..." reads badly
        return DataError(f"no usable items: {self.skipped_total:,} skipped (first: {where}{first.reason})", name)
