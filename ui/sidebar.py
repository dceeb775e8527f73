"""The sidebar every page shows: the current dataset, the pipeline and the active run."""

from __future__ import annotations

import streamlit as st

from ui import state


@st.fragment(run_every=3)
def _active_run() -> None:
    """The active run's state, re-read every 3 s from its status.json (cheap: one small file)."""
    from ui.workspace import find

    rec = find(st.session_state.get(state.ACTIVE_RUN))  # only a run this session may see
    if rec is None:
        return
    st.caption("Active run")
    st.markdown(f"`{rec.id}` {rec.state}" + (f" · step {rec.step:,}/{rec.total:,}" if rec.total else ""))


# (file, title, icon) of every page, in order; Streamlit's own navigation is off (.streamlit/config.toml)
PAGES = [
    ("app.py", "Home", ":material/home:"),
    ("pages/1_Data.py", "Data", ":material/dataset:"),
    ("pages/2_Augment.py", "Augment", ":material/auto_fix_high:"),
    ("pages/3_Train.py", "Train", ":material/model_training:"),
    ("pages/4_Sample.py", "Sample", ":material/auto_awesome:"),
    ("pages/5_Compare.py", "Compare", ":material/compare_arrows:"),
    ("pages/6_Self-training.py", "Self-training", ":material/autorenew:"),
    ("pages/7_Lessons.py", "Lessons", ":material/school:"),
]


def page_config(path: str) -> dict:
    """st.set_page_config's arguments for a page file (its title and icon from PAGES)."""
    for file, title, icon in PAGES:
        if path.replace("\\", "/").endswith(file):
            return {"page_title": "GenAug Studio" if file == "app.py" else f"{title} · GenAug Studio",
                    "page_icon": icon, "layout": "wide"}  # fmt: skip
    raise KeyError(f"{path} is not in ui.sidebar.PAGES")


def render_sidebar() -> None:
    from genaug_core.textsafe import escape_markdown
    from genaug_core.workspaces import teacher_token_problem
    from ui.workspace import describe_viewer, link_params

    params = link_params()  # classroom mode: the links keep ?ws=, so the workspace survives a reload
    with st.sidebar:
        for path, title, icon in PAGES:
            st.page_link(path, label=title, icon=icon, **({"query_params": params} if params else {}))
        whose = describe_viewer()
        if whose:
            st.caption(whose)
        if teacher_token_problem():
            st.error(teacher_token_problem())
        st.divider()
        st.caption("Current dataset")
        st.markdown(f"**{escape_markdown(st.session_state.get(state.DATASET_LABEL, 'digits (default)'))}**")
        pipeline = st.session_state.get(state.PIPELINE)
        steps = len(pipeline.get("steps", [])) if isinstance(pipeline, dict) else 0
        st.caption(f"Augmentation pipeline: {steps} step{'s' if steps != 1 else ''}" if steps else "No augmentation yet")
        _active_run()
