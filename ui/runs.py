"""Run panels shared by the Train and Sample pages and the sidebar: they only read run folders."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import streamlit as st

from genaug_core import runs, viz, workspaces
from genaug_core.textsafe import escape_markdown, redact_paths
from genaug_core.train import jobs
from ui import state
from ui import workspace as ws

STATE_BADGE = {
    "queued": ":gray[:material/schedule: queued]",
    "running": ":blue[:material/autorenew: running]",
    "done": ":green[:material/check_circle: done]",
    "failed": ":red[:material/error: failed]",
    "cancelled": ":orange[:material/cancel: cancelled]",
    "broken": ":red[:material/broken_image: broken]",
}


def run_label(rec: runs.RunRecord) -> str:
    """A run's name in select boxes. No state in it: the browser keeps a choice by its label, so a label that
    changes when the run finishes would drop the choice (the runs table shows the state)."""
    name = f" · {rec.name}" if rec.name else ""
    return f"{rec.id}{name} ({rec.dataset or '?'})"


def fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def _problem(rec: runs.RunRecord, viewer: workspaces.Viewer) -> str:
    """What is wrong with a run, for the runs table: in full for whoever controls it, else paths shortened."""
    text = rec.broken or rec.error or ""
    return text if workspaces.can_control(rec, viewer) else redact_paths(text)


def runs_table(records: list[runs.RunRecord]) -> pd.DataFrame:
    """The runs list; in classroom mode also whose run it is (for the teacher) and whether it is published."""
    viewer = ws.viewer()
    extra = {}
    if viewer.teacher and not viewer.single_user:
        extra["workspace"] = [workspaces.short_id(r.workspace) for r in records]
    if not viewer.single_user:
        extra["published"] = ["yes" if r.published else "" for r in records]
    return pd.DataFrame(
        {
            "run": [r.id for r in records],
            "name": [r.name for r in records],
            "dataset": [r.dataset or "" for r in records],
            "state": [r.state for r in records],
            "step": [f"{r.step:,}/{r.total:,}" for r in records],
            "started": [time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created)) if r.created else "" for r in records],
            "problem": [_problem(r, viewer) for r in records],
            **extra,
        }
    )


def active_record(records: list[runs.RunRecord]) -> runs.RunRecord | None:
    """The run the user last started or picked (else the newest), from an already-read list."""
    wanted = st.session_state.get(state.ACTIVE_RUN)
    by_id = {r.id: r for r in records}
    return by_id.get(wanted) or (records[0] if records else None)


def render_progress(rec: runs.RunRecord) -> None:
    """A run's name, state, progress and problems. Its log (tracebacks, server paths) only for whoever may
    control it; others read the error message alone, with server paths shortened."""
    owner = ws.can_control(rec)
    shared = " · published" if rec.published else ""
    st.markdown(f"**{escape_markdown(rec.name or rec.id)}** — {STATE_BADGE.get(rec.state, rec.state)}{shared}")
    frac = min(1.0, rec.step / rec.total) if rec.total else 0.0
    eta = f", about {fmt_eta(rec.eta_s)} left" if rec.state == "running" and rec.eta_s is not None else ""
    st.progress(frac, text=f"step {rec.step:,} of {rec.total:,}{eta}")
    if rec.state == "queued":
        pos = jobs.queue_position(rec.path)
        if pos:
            st.info(f"Waiting for a free slot: number {pos} in the queue "
                    f"(at most {jobs.max_concurrent()} runs train at once on this machine).")
    if rec.state == "cancelled" and rec.error:  # e.g. stopped at the time budget
        st.info(ws.error_text(rec.error, rec))
    if rec.state == "failed":
        st.error("The run failed: " + ws.error_text(rec.error or "no message", rec))
        if owner:
            with st.expander("End of the run's log"):
                st.code(runs.read_log_tail(rec.path, 40) or "(empty)")
            log = rec.path / runs.LOG_FILE
            if log.is_file():
                st.download_button("Download the run's log", lambda: log.read_bytes(), file_name=f"{rec.id}-log.txt",
                                   mime="text/plain", key=f"runs.log.{rec.id}", on_click="ignore")
    if rec.broken:
        st.warning("This run folder is broken: " + ws.error_text(rec.broken, rec))


def render_curves(rec: runs.RunRecord, key: str) -> None:
    records = runs.read_metrics(rec.path)
    if not records:
        st.caption("No measurements yet: the first loss appears after a few steps.")
        return
    metric = "bpc" if any("bpc" in r for r in records) else "loss"
    title = "Bits per character (lower is better)" if metric == "bpc" else "Denoising loss (lower is better)"
    st.plotly_chart(viz.loss_curves({rec.id: records}, metric=metric, title=title), width="stretch", key=key)


def render_latest_samples(rec: runs.RunRecord) -> None:
    samples = runs.list_samples(rec.path)
    if not samples:
        st.caption("Samples appear here at every evaluation.")
        return
    step, path = samples[-1]
    st.caption(f"Samples at step {step:,}")
    if path.suffix == ".png":
        st.image(readable_samples(rec, path))
    else:
        st.code("\n".join(runs.read_text_samples(path)[:20]) or "(empty)", language=None)


def readable_samples(rec: runs.RunRecord, path) -> np.ndarray | str:
    """A samples/ grid PNG enlarged (nearest neighbour) so each image shows at 64 px or more; the file's path
    when it cannot be read as a grid."""
    from PIL import Image, UnidentifiedImageError

    from genaug_core.config import read_run_config
    from genaug_core.errors import GenAugError

    try:
        n = read_run_config(rec.path).train.num_samples
        with Image.open(path) as img:
            picture = np.asarray(img.convert("RGB"))
    except (GenAugError, OSError, UnidentifiedImageError):
        return str(path)
    return viz.readable_grid_png(picture, n)


def start_run(spec: dict, ds, overrides: dict) -> None:
    """Launch a run for the current dataset with the page's settings; it becomes the active run."""
    from genaug_core.errors import GenAugError
    from genaug_core.train.setup import run_config_for

    try:
        run_dir = ws.start(run_config_for(spec, ds, overrides, owner=workspaces.owner_for(ws.viewer())))
    except GenAugError as exc:
        st.error(escape_markdown(exc))
    else:
        st.session_state[state.ACTIVE_RUN] = run_dir.name
        st.toast(f"Run {run_dir.name} started")
