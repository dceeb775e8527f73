"""The sidebar every page shows: the current dataset (and, once training exists, the active run)."""

from __future__ import annotations

import streamlit as st

from ui import state


def render_sidebar() -> None:
    with st.sidebar:
        st.caption("Current dataset")
        st.markdown(f"**{st.session_state.get(state.DATASET_LABEL, 'digits (default)')}**")
        pipeline = st.session_state.get(state.PIPELINE)
        steps = len(pipeline.get("steps", [])) if isinstance(pipeline, dict) else 0
        st.caption(f"Augmentation pipeline: {steps} step{'s' if steps != 1 else ''}" if steps else "No augmentation yet")
