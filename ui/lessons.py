"""Panels of the Lessons page: a launch's progress and a verdict. They only read (through genaug_core.lessons).

Every string that comes from a lesson, a run folder or a number is drawn as plain text (st.text, table
cells, escaped plotly labels) or escaped first (genaug_core.textsafe.escape_markdown), so nothing in it is read as Markdown or HTML.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from genaug_core import viz
from genaug_core.lessons import Lesson, Verdict
from genaug_core.lessons.report import metric_direction, metric_label
from genaug_core.lessons.store import LessonProgress
from genaug_core.lessons.verdict import mean_std_text


def render_progress(progress: LessonProgress) -> None:
    n = len(progress.runs)
    st.progress(progress.fraction, text=f"{progress.finished} of {n} runs finished")
    st.dataframe(pd.DataFrame({
        "run": [r.label for r in progress.runs],
        "state": ["scoring samples" if r.scoring else r.state for r in progress.runs],
        "step": [f"{r.step:,}/{r.total:,}" for r in progress.runs],
        "problem": [r.error or "" for r in progress.runs],
    }), hide_index=True, width="stretch")  # fmt: skip


def _summary_table(v: Verdict) -> pd.DataFrame:
    rows = list(dict.fromkeys(r["setting"] for r in v.per_seed))
    columns: dict[str, list[str]] = {"setting": rows, "seeds measured": [str(v.counts.get(r, 0)) for r in rows]}
    for m in v.metrics:
        columns[m] = [mean_std_text(v.summary.get(m, {}).get(row), v.counts.get(row, 0)) for row in rows]
    return pd.DataFrame(columns)


def render_verdict(v: Verdict, lesson: Lesson) -> None:
    """Held / did not hold with the generated reason, each comparison, the tables and one chart per metric."""
    size = "quick size (checks the plumbing, not the science)" if v.quick else "full size"
    if not any(c["measured"] for c in v.comparisons):
        st.warning("No verdict: the runs the claim needs have no numbers (cancelled, failed or not scored)",
                   icon=":material/help:")
    elif v.held:
        st.success("The claim held", icon=":material/check_circle:")
    else:
        st.error("The claim did not hold", icon=":material/cancel:")
    st.text(f"{size}, {v.seeds} seed{'s' if v.seeds != 1 else ''} per setting")
    for c in v.comparisons:
        st.text(("held: " if c["held"] else "failed: ") + c["text"])
    if v.missing:
        st.warning(f"{len(v.missing)} run(s) have no numbers, so the verdict rests on the others:")
        st.text("\n".join(v.missing))
    st.subheader("Mean ± standard deviation over seeds")
    st.dataframe(_summary_table(v), hide_index=True, width="stretch")
    st.subheader("Per seed")
    table = pd.DataFrame(v.per_seed)
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={m: st.column_config.NumberColumn(format="%.4g") for m in v.metrics})
    st.subheader("Charts")
    cols = st.columns(2)
    drawn = 0
    for m in v.metrics:
        points = {r["setting"]: [] for r in v.per_seed}
        for r in v.per_seed:
            if m in r:
                points[r["setting"]].append(r[m])
        if any(points.values()):
            fig = viz.mean_bars(points, metric_label(m), higher_is_better=metric_direction(lesson.claim, m))
            cols[drawn % 2].plotly_chart(fig, width="stretch", key=f"lessons.bar.{m}")
            drawn += 1
    if lesson.full.rounds:
        from genaug_core.train.selftrain import round_records

        series = {f"{r.setting} · seed {r.seed}": round_records(r.run_dir) for r in v.runs if r.metrics}
        if any(series.values()):
            claimed = [c.metric.removesuffix("_change") for c in lesson.claim if c.metric.endswith("_change")]
            metrics = tuple(dict.fromkeys([*claimed, "val_bpc", "distinct_4"]))[:3]  # the claim's curves first
            st.subheader("Per round")
            st.plotly_chart(viz.collapse_curves(series, metrics), width="stretch", key="lessons.rounds")
    if v.notes:
        st.text(f"Note: {v.notes}")
