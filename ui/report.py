"""Render a dataset preview and its sanity report (genaug_core.data.checks.Report)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from genaug_core import viz
from genaug_core.data import Dataset
from genaug_core.data.checks import Report
from genaug_core.textsafe import escape_markdown

LEVEL_ICON = {"info": ":blue[:material/info:]", "warn": ":orange[:material/warning:]", "error": ":red[:material/error:]"}
PAGE_SIZE = 64


def render_preview(ds: Dataset, key: str) -> None:
    """A paged image grid or text table of the dataset."""
    n_pages = max(1, -(-len(ds) // PAGE_SIZE))
    page = st.number_input(f"Page (of {n_pages:,})", 1, n_pages, 1, key=f"{key}.page") - 1
    idx = list(range(page * PAGE_SIZE, min(len(ds), (page + 1) * PAGE_SIZE)))
    if ds.kind == "image":
        st.image(viz.image_grid(ds.images[idx], ncols=16, cell=48), caption=f"items {idx[0]}-{idx[-1]}" if idx else "")
        if ds.labels is not None and ds.class_names:
            st.caption("Labels: " + escape_markdown(" ".join(ds.class_names[ds.labels[i]] for i in idx)))
    else:
        table = pd.DataFrame({"id": idx, "text": [ds.texts[i] for i in idx]})
        if ds.labels is not None and ds.class_names:
            table["label"] = [ds.class_names[ds.labels[i]] for i in idx]
        st.dataframe(table, hide_index=True, width="stretch")


def _examples(ds: Dataset, items: tuple[int, ...]) -> None:
    shown = list(items[:32])
    if ds.kind == "image":
        st.image(viz.image_grid(ds.images[shown], ncols=16, cell=40), caption="ids " + ", ".join(map(str, shown)))
    else:
        st.dataframe(pd.DataFrame({"id": shown, "text": [ds.texts[i] for i in shown]}), hide_index=True)


def render_report(ds: Dataset, report: Report) -> None:
    cols = st.columns(4)
    cols[0].metric("Items", f"{report.n_items:,}")
    cols[1].metric("Training", f"{report.n_train:,}")
    cols[2].metric("Validation", f"{report.n_validation:,}")
    cols[3].metric("Skipped", f"{len(report.skipped):,}")
    for c in report.checks:
        text = f"{LEVEL_ICON[c.level]} **{c.code}** — {escape_markdown(c.message)}"
        if c.items:
            with st.expander(text):
                _examples(ds, c.items)
        else:
            st.markdown(text)
    if report.skipped:
        with st.expander(f"Skipped inputs ({len(report.skipped):,})"):
            st.dataframe(pd.DataFrame(report.skipped[:1000]), hide_index=True)

    s = report.stats
    figures = []
    if "length_chars" in s:
        figures.append(viz.histogram(s["length_chars"], "Length in characters", "characters"))
        figures.append(viz.histogram(s["length_words"], "Length in words", "words"))
    if "brightness" in s:
        figures.append(viz.histogram(s["brightness"], "Mean brightness per image", "mean pixel value (0-255)"))
        figures.append(viz.histogram(s["contrast"], "Contrast per image", "pixel standard deviation"))
    if "class_counts" in s:
        figures.append(viz.bar(s["class_counts"], "Items per class", "class"))
    if "original_sizes" in s and len(s["original_sizes"]) > 1:
        figures.append(viz.bar(s["original_sizes"], "Original sizes", "width x height"))
    if "char_counts" in s:
        top = dict(list(s["char_counts"].items())[:40])
        figures.append(viz.bar({repr(k)[1:-1]: v for k, v in top.items()}, "Most common characters", "character", "count"))
    for i in range(0, len(figures), 2):
        for col, fig in zip(st.columns(2), figures[i : i + 2], strict=False):
            col.plotly_chart(fig, width="stretch", key=f"report.fig{i}.{fig.layout.title.text}")
    st.caption(f"Report computed in {report.seconds * 1000:.0f} ms.")
