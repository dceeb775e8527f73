"""Lessons: a published effect re-run on a small training set, and a verdict computed from the runs."""

import time

import pandas as pd
import streamlit as st

from genaug_core import lessons, workspaces
from genaug_core.errors import GenAugError
from genaug_core.lessons.spec import MAX_SEEDS
from genaug_core.textsafe import escape_markdown
from genaug_core.train import jobs
from ui import workspace as ws
from ui.lessons import render_progress, render_verdict
from ui.sidebar import page_config, render_sidebar

st.set_page_config(**page_config(__file__))
st.title("Lessons")
render_sidebar()
st.text("Each lesson re-runs a published result on a small training set, several seeds per setting, and checks "
        "the claim on the measured numbers. The verdict is computed from the runs' own evaluation files; it "
        "says so when the claim did not hold.")

by_id = {le.id: le for le in lessons.list_lessons()}
lesson_id = st.selectbox("Lesson", list(by_id), format_func=lambda i: by_id[i].title, key="lessons.pick")
lesson = by_id[lesson_id]
left, right = st.columns([3, 2])
with left:
    st.subheader("What was published")
    st.text(lesson.published)
    st.text(f"Reference: {lesson.reference}")
    st.subheader("The claim, as checked")
    st.text(lesson.claim_text)
with right:
    st.subheader("Settings")
    st.dataframe(pd.DataFrame({"setting": [s.name for s in lesson.settings],
                               "what it changes": [s.help for s in lesson.settings]}),
                 hide_index=True, width="stretch")
    for d in lesson.derived:
        st.text(f"{d.name}: {d.help}")

# --- launch: widgets drawn from the spec ------------------------------------------------------------------
c1, c2, c3 = st.columns(3)
quick = c1.radio("Size", ["full", "quick"], horizontal=True, key=f"lessons.size.{lesson.id}") == "quick"
sizes = lesson.quick if quick else lesson.full
c1.text(f"{sizes.steps:,} steps a run" + (f" and round ({sizes.rounds} rounds)" if sizes.rounds else "")
        + (f", {sizes.max_train_items:,} training items" if sizes.max_train_items else ", the whole training part"))
seeds = int(c2.number_input("Seeds per setting", 1, MAX_SEEDS, lesson.quick_seeds if quick else lesson.seeds,
                            key=f"lessons.seeds.{lesson.id}.{quick}"))
c2.text(f"{len(lesson.settings) * seeds} runs, two at a time on this machine's cores" if not quick
        else f"{len(lesson.settings) * seeds} runs of a few seconds each")
dataset = c3.selectbox("Dataset", list(lesson.datasets), key=f"lessons.dataset.{lesson.id}") if lesson.datasets else None
launch_key = f"lessons.launch.{lesson.id}"
if st.button("Run lesson", type="primary", key="lessons.run"):
    try:
        launch = lessons.start_lesson(lesson.id, quick=quick, seeds=seeds, dataset=dataset,
                                      owner=workspaces.owner_for(ws.viewer()))
    except GenAugError as exc:
        st.error(escape_markdown(exc))
    else:
        st.session_state[launch_key] = launch.group  # the launch picker below shows the new one
        st.toast(f"Started {len(launch.run_dirs)} runs")

# --- a launch: progress, then the verdict -----------------------------------------------------------------
# this workspace's launches (and published ones): every run of a launch must be visible to this viewer
mine = {rec.id: rec for rec in ws.my_runs()}
found = {la.group: la for la in lessons.launches(lesson.id) if all(p.name in mine for p in la.run_dirs)}
if not found:
    st.info("This lesson has not run yet on this machine: press Run lesson.")
    st.stop()
if st.session_state.get(launch_key) not in found:
    st.session_state[launch_key] = next(iter(found))  # the newest


def launch_label(group: str) -> str:
    la = found[group]
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(la.created))
    return f"{when} · {'quick' if la.quick else 'full'} · {la.seeds} seed(s) · {len(la.run_dirs)} runs" + (
        f" · {la.dataset}" if la.dataset else "")


group = st.selectbox("Launch", list(found), format_func=launch_label, key=launch_key)
run_dirs = found[group].run_dirs


@st.fragment(run_every=2)
def live_progress(run_dirs) -> None:
    """While the runs train (in background processes), launch queued ones and show how far they are."""
    jobs.tick()
    state = lessons.lesson_progress(run_dirs)
    if state.done:
        st.rerun()  # all finished: draw the verdict
    render_progress(state)
    if all(ws.can_control(mine[p.name]) for p in run_dirs) and st.button("Cancel", key="lessons.cancel"):
        n = lessons.cancel_lesson(group)
        st.toast(f"Cancelling {n} runs: running ones save a checkpoint first")


if not lessons.lesson_progress(run_dirs).done:
    st.caption("The verdict appears when every run has finished and been scored.")
    live_progress(run_dirs)
    st.stop()
render_verdict(lessons.verdict_for(lesson.id, run_dirs), lesson)
st.text(f"Group {group}: the Compare page shows these runs side by side (pick the group there).")
st.page_link("pages/5_Compare.py", label="Open the Compare page", icon=":material/compare_arrows:")
