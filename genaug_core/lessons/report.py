"""A verdict as plain-text tables, for the CLI and the bench (the page draws the same numbers itself).

    print(verdict_text(verdict))    # claim, held / did not hold with each comparison, per-seed table,
                                    # mean ± std table, runs without numbers, wall time
"""

from __future__ import annotations

from genaug_core import kinds
from genaug_core.lessons.verdict import Verdict, fmt, mean_std_text


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return lines


def verdict_text(v: Verdict) -> str:
    size = "quick" if v.quick else "full"
    lines = [f"lesson {v.lesson}: {v.title} ({size} size, {v.seeds} seed{'s' if v.seeds != 1 else ''})",
             f"claim: {v.claim}", f"verdict: {'held' if v.held else 'did not hold'}"]
    lines += [f"  [{'held' if c['held'] else 'failed'}] {c['text']}" for c in v.comparisons]
    rows = sorted({r["setting"] for r in v.per_seed}, key=[r["setting"] for r in v.per_seed].index)
    lines += ["", "per seed:"]
    lines += _table(["setting", "seed", *v.metrics],
                    [[r["setting"], str(r["seed"]), *(fmt(r[m]) if m in r else "-" for m in v.metrics)]
                     for r in v.per_seed])
    lines += ["", "mean ± std over seeds (n = seeds measured):"]
    cells = []
    for row in rows:
        n = v.counts.get(row, 0)
        cells.append([row, str(n), *(mean_std_text(v.summary.get(m, {}).get(row), n) or "-" for m in v.metrics)])
    lines += _table(["setting", "n", *v.metrics], cells)
    if v.missing:
        lines += ["", "runs without numbers:", *(f"  {m}" for m in v.missing)]
    if v.notes:
        lines += ["", f"note: {v.notes}"]
    if v.wall_s is not None:
        lines += ["", f"wall time: {v.wall_s:.0f} s"]
    return "\n".join(lines)


# labels of the numbers verdict.run_metrics adds (the evaluation metrics' labels come from compare and viz)
_OWN_LABELS = {
    "val_loss": "held-out loss at the end (nats)",
    "val_bpc": "held-out bits per character at the end",
    "best_val_loss": "best held-out loss during training (early stopping)",
    "best_val_bpc": "best held-out bits per character during training",
    "best_val_step": "step of the best held-out loss",
}
_SUFFIXES = {"_round1": "round 1", "_last": "last round", "_change": "last round minus round 1"}


def metric_label(key: str) -> str:
    """A readable name for a verdict metric, e.g. "val_bpc_change" -> "held-out bits per character: last
    round minus round 1 (val_bpc_change)"."""
    from genaug_core.viz import ROUND_METRICS

    labels = {k: label for kind in kinds.KINDS for k, label, _ in kinds.get_kind(kind).metrics}
    labels |= {k: v[0] for k, v in ROUND_METRICS.items()} | _OWN_LABELS
    for suffix, what in _SUFFIXES.items():
        if key.endswith(suffix) and key[: -len(suffix)] in labels:
            return f"{labels[key[: -len(suffix)]]}: {what} ({key})"
    return f"{labels[key]} ({key})" if key in labels else key


def metric_direction(claim_items, key: str) -> bool | None:
    """True if higher is better for `key`, False if lower, None if the lesson does not say (a trade-off)."""
    for item in claim_items:
        if item.metric == key:
            return item.better == "higher"
    if any(key.endswith(suffix) for suffix in _SUFFIXES):
        return None  # a round's value or a change: which way is good depends on the claim
    for kind in kinds.KINDS:
        for k, _, higher in kinds.get_kind(kind).metrics:
            if key in (k, f"best_{k}"):
                return higher
    return None
