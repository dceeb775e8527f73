"""Compare: runs side by side (settings, curves, scores, samples, memorisation), one-click ablations, reports."""

import streamlit as st

from genaug_core import ablation, compare, kinds, runs, workspaces
from genaug_core.config import RunConfig
from genaug_core.errors import GenAugError
from genaug_core.textsafe import escape_markdown
from genaug_core.train import jobs
from genaug_core.train.setup import run_config_for
from ui import state
from ui import workspace as ws
from ui.compare import render_curves, render_galleries, render_memorisation, render_metric_bars, render_table
from ui.data import current_dataset, current_spec, describe
from ui.sidebar import page_config, render_sidebar

st.set_page_config(**page_config(__file__))
st.title("Compare")
render_sidebar()

# --- one-click ablation on the current dataset --------------------------------------------------
ds = current_dataset()
spec = current_spec()
pipeline = st.session_state.get(state.PIPELINE) or {}
has_pipeline = bool(pipeline.get("steps")) and pipeline.get("kind") == ds.kind
KIND_LABELS = {"augmentation": "augmentation on vs off", "penalty": "L1/L2 weight penalty λ",
               "noise": "input noise radius ε"}
with st.expander(f"One-click ablation on **{escape_markdown(describe(ds))}**", expanded=not ws.my_runs()):
    st.caption("A group of short runs that differ in one setting only, trained on a reduced training set "
               "(where augmentation matters most) and scored on the same held-out real data.")
    c1, c2, c3 = st.columns(3)
    kind = c1.radio("Vary", list(KIND_LABELS), format_func=KIND_LABELS.get, key="compare.kind")
    sizes = ablation.train_size_choices(len(ds.split.train))
    size = c2.selectbox("Training set", list(sizes), key="compare.size")
    steps = c3.number_input("Steps per run", 10, 100_000, 300, step=50, key="compare.steps")
    base_values = ablation.default_values(kind, RunConfig(), ds.kind)
    values_text = c1.text_input("Values (2-5, comma separated)", ", ".join(f"{v:g}" for v in base_values),
                                key=f"compare.values.{kind}",
                                help="augmentation: share of items augmented (0 = off); penalty: λ; noise: ε")
    norm = c2.radio("Penalty", ["l2", "l1"], horizontal=True, key="compare.norm", disabled=kind != "penalty")
    model_kind = kinds.kinds_for_dataset(ds)[0]  # ablations train the data's default kind
    presets = model_kind.presets()
    preset = c3.selectbox("Model size", presets, index=presets.index(model_kind.settings().preset),
                          key="compare.preset")
    if kind == "augmentation" and not has_pipeline:
        st.info("An augmentation ablation needs a pipeline: build one on the Augment page first.")
    if st.button("Run ablation", type="primary", key="compare.ablate", disabled=kind == "augmentation" and not has_pipeline):
        try:
            values = [float(v) for v in values_text.replace(";", ",").split(",") if v.strip()]
        except ValueError:
            st.error(f"Values must be numbers separated by commas, got {escape_markdown(repr(values_text))}")
            st.stop()
        overrides = {
            "model": {model_kind.section: {"preset": preset}},
            "train": {"steps": int(steps)},
            "regularization": {"penalty": norm if kind == "penalty" else "none"},
            "augment": {"pipeline": pipeline if has_pipeline else {}, "p": model_kind.augment_p if has_pipeline else 0.0},
        }
        try:
            base = run_config_for(spec, ds, overrides, owner=workspaces.owner_for(ws.viewer()))
            configs = ablation.ablation_configs(base, kind, values, max_train_items=sizes[size], data_kind=ds.kind)
            ws.check_room(len(configs))  # the whole group fits in this workspace's share, or none starts
            for cfg in configs:
                ws.start(cfg)
        except GenAugError as exc:
            st.error(escape_markdown(exc))
        else:
            st.session_state[state.COMPARE_GROUP] = configs[0].group
            st.session_state.pop("compare.runs", None)  # show the new group
            st.toast(f"Started {len(configs)} runs: {KIND_LABELS[kind]}")

# --- which runs ---------------------------------------------------------------------------------
summaries = compare.summarize_runs(ws.my_runs())  # this workspace's and published runs (all in single-user mode)
if not summaries:
    st.info("No runs yet. Train some on the Train page, or start an ablation above.")
    st.stop()
by_id = {s.id: s for s in summaries}
groups = compare.groups(summaries)
group = st.session_state.get(state.COMPARE_GROUP)
if "compare.runs" not in st.session_state:  # first visit, or a new group: its runs, else the newest scored ones
    default = [s.id for s in groups.get(group, [])] or [s.id for s in summaries if s.evaluation][:3] or [summaries[0].id]
    st.session_state["compare.runs"] = default
st.session_state["compare.runs"] = [i for i in st.session_state["compare.runs"] if i in by_id]
g1, g2 = st.columns([1, 3])
pick = g1.selectbox("Ablation group", ["(choose runs)", *groups], key="compare.group",
                    format_func=lambda g: g if g == "(choose runs)" else f"{g} ({len(groups[g])} runs)")
if pick != "(choose runs)" and st.session_state.get("compare.group_shown") != pick:
    st.session_state["compare.runs"] = [s.id for s in groups[pick]]
    st.session_state["compare.group_shown"] = pick
ids = g2.multiselect("Runs", list(by_id), key="compare.runs", format_func=lambda i: by_id[i].label)
chosen = [by_id[i] for i in ids]
if not chosen:
    st.info("Choose one or more runs to compare.")
    st.stop()


@st.fragment(run_every=3)
def progress(ids: list[str]) -> None:
    """While chosen runs train (or are scored), launch queued ones and show how far the group is."""
    jobs.tick()
    pending = []
    for run_id in ids:
        s = compare.summarize(runs.inspect_run(by_id[run_id].path))
        if s.state in ("queued", "running") or s.scoring:
            pending.append(f"{s.label}: {'scoring samples' if s.scoring else s.state}")
    if pending:
        st.progress(1 - len(pending) / len(ids), text=f"{len(ids) - len(pending)} of {len(ids)} runs finished")
        st.caption(escape_markdown(" · ".join(pending)))
    else:
        st.rerun()  # all finished: draw the scores


if any(s.state in ("queued", "running") or s.scoring for s in chosen):
    progress(ids)

# --- the comparison -------------------------------------------------------------------------------
t_table, t_curves, t_metrics, t_samples, t_mem = st.tabs(
    ["Runs", "Loss curves", "Metrics", "Samples", "Memorisation"])
with t_table:
    render_table(chosen)
with t_curves:
    render_curves(chosen)
with t_metrics:
    render_metric_bars(chosen)
with t_samples:
    render_galleries(chosen)
with t_mem:
    scored = [s for s in chosen if s.evaluation]
    if not scored:
        st.caption("No chosen run is scored yet.")
    for s in scored:
        st.markdown(f"**{escape_markdown(s.label)}**")
        try:
            render_memorisation(s)
        except Exception as exc:  # noqa: BLE001 - one damaged details file must not hide the other runs
            st.caption(f"The scoring details of this run are damaged: {escape_markdown(exc)}")

d1, d2, _ = st.columns([1, 1, 3])
d1.download_button("Report (HTML)", data=lambda: compare.html_report(chosen).encode("utf-8"),
                   file_name="genaug-comparison.html", mime="text/html", key="compare.html", on_click="ignore")
d2.download_button("Table (CSV)", data=compare.comparison_csv(chosen), file_name="genaug-comparison.csv",
                   mime="text/csv", key="compare.csv", on_click="ignore")
