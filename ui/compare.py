"""Panels of the Compare page: they only read run folders (through genaug_core.compare) and draw.

Each panel survives a broken run: whatever one folder holds, the panel shows a
caption for that run and goes on with the others.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from genaug_core import compare, kinds, runs, viz
from genaug_core.compare import RunSummary
from genaug_core.textsafe import escape_markdown as esc

DIFF_STYLE = "background-color: #fff3c4"


def render_table(chosen: list[RunSummary]) -> None:
    rows, _ = compare.comparison_rows(chosen)
    differing = compare.differing_settings([s.config for s in chosen])
    columns = {}
    for col in rows[0]:  # Arrow needs one type a column: numbers stay numbers (None = empty), the rest text
        raw = [r.get(col) for r in rows]
        if all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in raw):
            columns[col] = pd.array([None if v is None else float(v) for v in raw], dtype="Float64")
        else:
            columns[col] = ["" if v is None else str(v) for v in raw]
    table = pd.DataFrame(columns)
    numeric = [c for c in table.columns if str(table[c].dtype) == "Float64"]
    styled = table.style.apply(lambda col: [DIFF_STYLE if col.name in differing else ""] * len(col), axis=0)
    styled = styled.format(lambda v: "" if pd.isna(v) else f"{v:.4g}", subset=numeric)
    st.dataframe(styled, hide_index=True, width="stretch", key="compare.table")
    if differing:
        st.caption("Highlighted: settings that differ between these runs — " + esc(", ".join(sorted(differing))))
    elif len(chosen) > 1:
        st.caption("These runs share every setting (apart from name and threads).")
    unscored = [s.label for s in chosen if s.evaluation is None and s.state == "done"]
    if unscored:
        st.caption("Not scored yet (metrics empty): " + esc(", ".join(unscored))
                   + ". Score one with `python -m genaug_core evaluate --run-dir runs/<id>`.")


def render_curves(chosen: list[RunSummary]) -> None:
    metric = compare.curve_metric(chosen)
    series = {}
    for s in chosen:
        if metric == "bpc" and not any(k.val_metric == "bpc" for k in kinds.kinds_for(s.kind or "")):
            continue  # bits per character only for runs whose kind measures it
        records = runs.read_metrics(s.path)
        if records:
            series[s.label] = records
    if not series:
        st.caption("No measurements yet.")
        return
    title = "Held-out bits per character (thick) and training (dotted)" if metric == "bpc" else (
        "Held-out denoising loss (thick) and training (dotted)")
    st.plotly_chart(viz.loss_curves(series, metric=metric, title=title), width="stretch", key="compare.curves")


def _setting_groups(chosen: list[RunSummary]) -> dict[str, list[RunSummary]]:
    """Runs of a lesson grouped by their setting (each run folder's lesson.json); other runs are left out."""
    from genaug_core.lessons.store import read_lesson_file

    infos = {s.id: read_lesson_file(s.path) for s in chosen}
    lessons = {i["lesson"] for i in infos.values() if i}
    out: dict[str, list[RunSummary]] = {}
    for s in chosen:
        info = infos[s.id]
        if info:
            out.setdefault(info["setting"] if len(lessons) == 1 else f"{info['lesson']}: {info['setting']}", []).append(s)
    return out


def render_metric_bars(chosen: list[RunSummary]) -> None:
    """One bar chart per headline metric; runs of a lesson with several seeds also get mean ± std per setting."""
    groups = _setting_groups(chosen)
    several_seeds = any(len(g) > 1 for g in groups.values())
    figures = []
    for kind in sorted({s.kind for s in chosen if s.kind}):
        for key, label, higher in compare.headline(kind):
            values = compare.metric_series([s for s in chosen if s.kind == kind], key)
            if not values:
                continue
            if several_seeds:
                points = {name: list(compare.metric_series([s for s in g if s.kind == kind], key).values())
                          for name, g in groups.items()}
                figures.append((f"{key}.seeds", viz.mean_bars(points, f"{label}, mean ± std over seeds", higher)))
            figures.append((key, viz.metric_bars(values, title=label, higher_is_better=higher)))
    if not figures:
        st.caption("No run here is scored yet: metrics appear when a run finishes training.")
        return
    if several_seeds:
        st.caption("Runs of a lesson are also grouped by setting: bars at the mean, error bars one standard "
                   "deviation over seeds, a dot for each seed.")
    cols = st.columns(2)
    for i, (key, fig) in enumerate(figures):
        cols[i % 2].plotly_chart(fig, width="stretch", key=f"compare.bar.{key}")


def render_galleries(chosen: list[RunSummary], per_row: int = 3) -> None:
    for start in range(0, len(chosen), per_row):
        cols = st.columns(per_row)
        for col, s in zip(cols, chosen[start : start + per_row], strict=False):
            with col:
                st.markdown(f"**{esc(s.label)}**")
                found = compare.latest_samples(s)
                if found is None:
                    st.caption("No samples yet.")
                    continue
                step, path = found
                try:
                    if path.suffix == ".png":
                        st.image(str(path), caption=f"step {step:,}")
                    else:
                        st.caption(f"step {step:,}")
                        st.code("\n".join(runs.read_text_samples(path)[:20]) or "(empty)", language=None)
                except Exception as exc:  # noqa: BLE001 - a damaged file must not break the page
                    st.caption(f"Samples unreadable: {esc(exc)}")


def render_memorisation(s: RunSummary, k: int = 16) -> None:
    """The run's scored samples closest to a training item, each beside that item, with the distance."""
    from genaug_core.evaluate import read_evaluation_details

    ev = s.evaluation or {}
    step = ev.get("step") if ev.get("checkpoint", "final") != "final" else None
    try:
        details = read_evaluation_details(s.path, step)
    except Exception:  # noqa: BLE001 - a damaged details file reads as "not scored"
        details = None
    if not details:
        st.caption(f"{esc(s.label)}: not scored yet.")
        return
    if details.get("kind") == "text":
        pairs = sorted(details.get("pairs", []), key=lambda p: p.get("distance", 1.0))[:k]
        table = pd.DataFrame({
            "sample": [p.get("sample", "") for p in pairs],
            "nearest training item": [p.get("nearest", "") for p in pairs],
            "distance": [p.get("distance") for p in pairs],
        })
        st.dataframe(table, hide_index=True, width="stretch", key=f"compare.mem.{s.id}")
        st.caption("Normalised edit distance: 0 = a copy of a training item, 1 = nothing in common.")
        return
    try:
        distance = np.asarray(details["distance"], dtype=float)
        memorised = list(details.get("memorised") or [False] * len(distance))
        order = np.argsort(distance)[:k]
        cols = st.columns(4)
        for j, i in enumerate(order):
            sample, near = details["samples"][i], details["nearest"][i]
            pair = np.concatenate([sample, np.full_like(sample[:, :1], 255), near], axis=1)  # sample | nearest
            flag = " · memorised" if i < len(memorised) and memorised[i] else ""
            cols[j % 4].image(viz.image_grid(pair[None], ncols=1, cell=128), caption=f"d = {distance[i]:.3f}{flag}")
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        st.caption(f"{esc(s.label)}: the scoring details are damaged ({esc(exc)}).")
        return
    st.caption("Left: a sample; right: its nearest training image. d = RMS pixel difference (0-1); "
               "memorised = closer than a third of the distance to the second nearest.")
