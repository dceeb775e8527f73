"""Compare runs side by side: which settings differ, what they scored, and a report to keep.

    summaries = summarize_runs(records)             # one RunSummary per run folder; never raises
    differing_settings([s.config for s in chosen])  # dotted keys whose values differ between the runs
    rows, columns = comparison_rows(chosen)         # the runs table: state, settings, headline metrics
    csv = comparison_csv(chosen)                    # the same table as CSV (cells neutralised)
    html = html_report(chosen, title=...)           # one self-contained HTML file (plots, tables, samples)

Everything reads run folders only (config.json, status, metrics.jsonl,
evaluation.json and its details, samples/); a broken run becomes a summary
with `problem` set, never an exception. The Compare page draws these; the
same functions make the downloadable report, so the page and the report
always show the same numbers.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from genaug_core import kinds, runs

# settings that say nothing about the experiment: the display name and what the job runner set
IGNORED_SETTINGS = frozenset({"name", "group", "train.threads"})

# settings shown in the runs table for every run (plus every setting that differs between the runs)
KEY_SETTINGS = (
    "data.max_train_items",
    "train.steps",
    "regularization.penalty",
    "regularization.penalty_lambda",
    "regularization.noise_eps",
    "regularization.noise_norm",
    "augment.p",
)

# headline metrics per data kind: (key, label, True if higher is better, False if lower, None if a trade-off:
# a model that writes noise is "most novel" and "most diverse", so no run is crowned there)
@dataclasses.dataclass
class RunSummary:
    """What the Compare page knows about one run folder."""

    id: str
    path: Path
    state: str  # queued | running | done | failed | cancelled | broken
    name: str = ""
    kind: str | None = None  # "text" or "image"
    dataset: str = ""
    group: str = ""
    config: dict[str, Any] | None = None  # the full RunConfig as a dict (None if unreadable)
    evaluation: dict[str, Any] | None = None  # evaluation.json (None if not scored yet)
    problem: str | None = None  # why the folder is broken or the run failed
    scoring: bool = False  # trained, and its samples are being scored right now

    @property
    def label(self) -> str:
        return f"{self.name} ({self.id})" if self.name else self.id


# ---------------------------------------------------------------- settings


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts to one level of dotted keys; lists become tuples (comparable); empty dicts vanish."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):  # an empty table adds no key: {} and {n = 300} differ in "params.n"
            out.update(flatten(value, dotted + "."))
        elif isinstance(value, list):
            out[dotted] = tuple(value)
        else:
            out[dotted] = value
    return out


def differing_settings(configs: Iterable[dict[str, Any] | Any], ignore: Iterable[str] = IGNORED_SETTINGS) -> set[str]:
    """Dotted keys ("regularization.noise_eps") whose values are not the same in every config.

    configs: RunConfig objects or their dicts; None (an unreadable config) is skipped.
    A key that one config has and another lacks differs. Fewer than two configs: nothing differs.
    """
    flat = [flatten(c if isinstance(c, dict) else c.to_dict()) for c in configs if c is not None]
    if len(flat) < 2:
        return set()
    ignored = set(ignore)
    keys = set().union(*flat)
    missing = object()
    out = set()
    for key in keys:
        if key in ignored or any(key.startswith(i + ".") for i in ignored):
            continue
        values = [f.get(key, missing) for f in flat]
        if any(v is missing or v != values[0] for v in values):
            out.add(key)
    return out


# ---------------------------------------------------------------- reading runs


def summarize(rec: runs.RunRecord) -> RunSummary:
    """A RunSummary from a run listing record; never raises."""
    from genaug_core.evaluate import read_evaluation

    s = RunSummary(rec.id, rec.path, rec.state, rec.name, rec.kind, rec.dataset or "",
                   problem=rec.broken or rec.error)
    try:
        data = json.loads((rec.path / runs.CONFIG_FILE).read_text(encoding="utf-8"))
        if isinstance(data, dict):
            s.config = data
            s.group = str(data.get("group", "") or "")
    except (OSError, ValueError):
        pass
    if rec.state == "done":
        try:
            status = runs.read_status(rec.path)
            s.scoring = bool(status.get("evaluating")) and runs.same_process(
                status.get("pid"), status.get("pid_started"), status.get("host"))
        except runs.RunError:
            pass
    evaluation = read_evaluation(rec.path)
    if evaluation is not None:
        s.evaluation = evaluation
        s.kind = s.kind or evaluation.get("kind")
    return s


def summarize_runs(records: Iterable[runs.RunRecord]) -> list[RunSummary]:
    return [summarize(r) for r in records]


def groups(summaries: Iterable[RunSummary]) -> dict[str, list[RunSummary]]:
    """group id -> its runs (runs without a group are left out)."""
    out: dict[str, list[RunSummary]] = {}
    for s in summaries:
        if s.group:
            out.setdefault(s.group, []).append(s)
    return out


def headline(kind: str | None) -> list[tuple[str, str, bool | None]]:
    """(metric, label, higher is better / None) of runs of a data kind ("text", "image"): its family's."""
    found = kinds.kinds_for(kind) if kind else []
    return list(found[0].metrics) if found else []


def _setting_value(config: dict[str, Any] | None, key: str) -> Any:
    if config is None:
        return None
    value: Any = config
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value


def comparison_rows(summaries: list[RunSummary]) -> tuple[list[dict[str, Any]], list[str]]:
    """(rows, setting columns) of the runs table: run, name, state, dataset, the settings that differ,
    headline metrics, the other KEY_SETTINGS, problem.

    The setting columns are KEY_SETTINGS plus every setting that differs between the runs
    (the page highlights the differing ones). Metrics of both kinds appear when the runs mix
    text and images; a run without evaluation.json has empty metric cells.
    """
    differing = differing_settings([s.config for s in summaries])
    first = [k for k in KEY_SETTINGS if k in differing] + sorted(differing - set(KEY_SETTINGS))
    rest = [k for k in KEY_SETTINGS if k not in differing]
    data_kinds = sorted({s.kind for s in summaries if s.kind})
    metric_keys = [m for kind in data_kinds for m, _, _ in headline(kind)]
    rows = []
    for s in summaries:  # columns: who, the settings that differ, the scores, the other key settings
        row: dict[str, Any] = {"run": s.id, "name": s.name, "state": s.state, "dataset": s.dataset}
        for key in first:
            row[key] = _setting_value(s.config, key)
        ev = s.evaluation or {}
        for key in metric_keys:
            value = ev.get(key)
            row[key] = round(float(value), 4) if isinstance(value, (int, float)) else None
        row["scored at step"] = ev.get("step")
        for key in rest:
            row[key] = _setting_value(s.config, key)
        row["problem"] = s.problem or ""
        rows.append(row)
    return rows, first + rest


def comparison_csv(summaries: list[RunSummary]) -> bytes:
    """The runs table as CSV; every cell is neutralised against formula injection."""
    from genaug_core.data.export import csv_bytes

    rows, _ = comparison_rows(summaries)
    header = list(rows[0]) if rows else ["run"]
    return csv_bytes(header, ([row.get(h) for h in header] for row in rows))


def metric_series(summaries: list[RunSummary], key: str) -> dict[str, float]:
    """run label -> value of one metric, for the runs that have it."""
    out = {}
    for s in summaries:
        value = (s.evaluation or {}).get(key)
        if isinstance(value, (int, float)) and np.isfinite(value):
            out[s.label] = float(value)
    return out


def curve_metric(summaries: list[RunSummary]) -> str:
    """The validation-curve metric of the chosen runs' kinds: bpc when any has it (bits per character is
    comparable across tokenizers), else loss."""
    metrics = {k.val_metric for s in summaries for k in kinds.kinds_for(s.kind or "")[:1]}
    return "bpc" if "bpc" in metrics else "loss"


def latest_samples(summary: RunSummary) -> tuple[int, Path] | None:
    """(step, path) of the newest samples/ file of a run, or None."""
    try:
        found = runs.list_samples(summary.path)
    except OSError:
        return None
    return found[-1] if found else None


# ---------------------------------------------------------------- the HTML report


def _png_data_uri(image: np.ndarray) -> str:
    from genaug_core.data.export import png_bytes

    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def _table_html(rows: list[dict[str, Any]], highlight: Iterable[str] = ()) -> str:
    if not rows:
        return "<p>(no runs)</p>"
    marked = set(highlight)
    header = list(rows[0])
    out = ["<table><thead><tr>"]
    out += [f'<th class="{"diff" if h in marked else ""}">{html.escape(str(h))}</th>' for h in header]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>")
        for h in header:
            v = row.get(h)
            text = "" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))
            out.append(f'<td class="{"diff" if h in marked else ""}">{html.escape(text)}</td>')
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _samples_html(summary: RunSummary, max_text: int = 20) -> str:
    found = latest_samples(summary)
    if found is None:
        return "<p>(no samples)</p>"
    step, path = found
    caption = f"<p>samples at step {step:,}</p>"
    try:
        if path.suffix == ".png":
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            return caption + f'<img src="data:image/png;base64,{data}" alt="samples">'
        lines = runs.read_text_samples(path)[:max_text]
    except OSError as exc:
        return f"<p>(samples unreadable: {html.escape(str(exc))})</p>"
    return caption + "<pre>" + html.escape("\n".join(lines)) + "</pre>"


def _memorisation_html(summary: RunSummary, max_items: int = 12) -> str:
    from genaug_core.evaluate import read_evaluation_details

    step = None
    ev = summary.evaluation or {}
    if ev.get("checkpoint", "final") != "final":
        step = ev.get("step")
    details = read_evaluation_details(summary.path, step)
    if not details:
        return "<p>(not scored yet)</p>"
    if details.get("kind") == "text":
        pairs = sorted(details.get("pairs", []), key=lambda p: p.get("distance", 1.0))[:max_items]
        rows = [{"sample": p.get("sample", ""), "nearest training item": p.get("nearest", ""),
                 "distance": p.get("distance")} for p in pairs]
        return _table_html(rows)
    order = np.argsort(details["distance"])[:max_items]
    cells = []
    for i in order:
        sample, near = details["samples"][i], details["nearest"][i]
        pair = np.concatenate([sample, np.full_like(sample[:, :1], 255), near], axis=1)  # sample | nearest
        factor = max(1, 48 // pair.shape[0])
        pair = pair.repeat(factor, 0).repeat(factor, 1)
        cells.append(f'<figure><img src="{_png_data_uri(pair)}" alt="sample | nearest">'
                     f"<figcaption>d = {details['distance'][i]:.3f}</figcaption></figure>")
    return '<div class="pairs">' + "".join(cells) + "</div>"


def _safe(section, summary: RunSummary) -> str:
    """One run's section of the report; whatever a damaged folder holds, the report is still written."""
    try:
        return section(summary)
    except Exception as exc:  # noqa: BLE001 - a broken run must not cost the whole report
        return f"<p>(unreadable: {html.escape(f'{type(exc).__name__}: {exc}')})</p>"


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; }
th.diff, td.diff { background: #fff3c4; }
.runs { display: flex; flex-wrap: wrap; gap: 2em; }
.run { flex: 1 1 300px; }
.pairs figure { display: inline-block; margin: 4px; text-align: center; font-size: 0.8em; }
img { image-rendering: pixelated; }
pre { background: #f6f6f6; padding: 0.5em; }
"""


def html_report(summaries: list[RunSummary], title: str = "GenAug Studio: run comparison") -> str:
    """One self-contained HTML file: the runs table (differing settings highlighted), loss curves,
    metric bars, latest samples and the memorisation pairs of every run. plotly.js is inlined,
    images are data URIs, so the file opens offline and can be mailed as is."""
    from genaug_core import viz

    rows, _ = comparison_rows(summaries)
    differing = differing_settings([s.config for s in summaries])
    figures = []
    metric = curve_metric(summaries)
    series = {s.label: runs.read_metrics(s.path) for s in summaries}
    series = {k: v for k, v in series.items() if v}
    if series:
        figures.append(viz.loss_curves(series, metric=metric, title=f"Held-out {metric} (thick) and training (dotted)"))
    for kind in ("text", "image"):
        for key, label, higher in headline(kind):
            values = metric_series([s for s in summaries if s.kind == kind], key)
            if values:
                figures.append(viz.metric_bars(values, title=label, higher_is_better=higher))
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{len(summaries)} runs · written {html.escape(time.strftime('%Y-%m-%d %H:%M'))}"
        " · highlighted columns: settings that differ between the runs</p>",
        "<h2>Runs</h2>",
        _table_html(rows, highlight=differing),
        "<h2>Charts</h2>",
    ]
    for i, fig in enumerate(figures):
        parts.append(fig.to_html(full_html=False, include_plotlyjs="inline" if i == 0 else False))
    if not figures:
        parts.append("<p>(nothing measured yet)</p>")
    parts.append("<h2>Latest samples</h2><div class='runs'>")
    for s in summaries:
        parts.append(f"<div class='run'><h3>{html.escape(s.label)}</h3>{_safe(_samples_html, s)}</div>")
    parts.append("</div><h2>Memorisation: samples beside their nearest training item</h2><div class='runs'>")
    for s in summaries:
        parts.append(f"<div class='run'><h3>{html.escape(s.label)}</h3>{_safe(_memorisation_html, s)}</div>")
    parts.append("</div></body></html>")
    return "\n".join(parts)
