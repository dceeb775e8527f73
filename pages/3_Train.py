"""Train: a tiny GPT-2 or a tiny DDPM on the current dataset, in a background process."""

import streamlit as st

from genaug_core import kinds
from genaug_core.config import AugmentConfig, RegularizationConfig, TrainConfig
from genaug_core.textsafe import escape_markdown
from genaug_core.train import jobs
from ui import state
from ui import workspace as ws
from ui.data import current_dataset, current_spec, describe
from ui.latent import render_reconstructions
from ui.runs import (
    active_record,
    render_curves,
    render_latest_samples,
    render_progress,
    run_label,
    runs_table,
    start_run,
)
from ui.sidebar import page_config, render_sidebar
from ui.widgets import LEAKING_EXPLAINED

st.set_page_config(**page_config(__file__))
st.title("Train")
render_sidebar()

ds = current_dataset()
spec = current_spec()
pipeline = st.session_state.get(state.PIPELINE) or {}
n_steps = len(pipeline.get("steps", [])) if pipeline.get("kind") == ds.kind else 0
st.markdown(f"Dataset **{escape_markdown(describe(ds))}** · augmentation pipeline: **{n_steps} step{'s' * (n_steps != 1)}** "
            "(set them on the Data and Augment pages)")

kind = st.selectbox("Model", kinds.kinds_for_dataset(ds), format_func=lambda k: k.title, key="train.kind",
                    help="The model kinds that train on this kind of data (genaug_core/kinds/); the first is the default.")

with st.form("train.form"):
    c1, c2, c3 = st.columns(3)
    with c1:
        st.subheader("Model and schedule")
        name = st.text_input("Run name (optional)", key="train.name", max_chars=100)
        presets = kind.presets()
        preset = st.selectbox("Model size", presets, index=presets.index(kind.settings().preset),
                              key="train.preset", help=kind.settings.__doc__)
        tc = TrainConfig()
        steps = st.number_input("Training steps", 1, None, tc.steps, step=100, key="train.steps")
        batch = st.number_input(f"Batch size (0 = the model's: {kind.batch_size})", 0, None, tc.batch_size,
                                key="train.batch")
        lr = st.number_input(f"Learning rate (0 = the model's: {kind.lr:g})", 0.0, 1.0, tc.lr, format="%.5f",
                             key="train.lr")
    with c2:
        st.subheader("L1/L2 regularization")
        penalty = st.radio("Weight penalty", ["none", "l1", "l2"], horizontal=True, key="train.penalty")
        st.caption("Adds λ·Σ|w| (L1: pushes weights to exactly zero) or λ·Σw² (L2: keeps all weights small) to the loss.")
        reg = RegularizationConfig()
        lam = st.number_input("Penalty strength λ", 0.0, 1.0, reg.penalty_lambda, format="%.6f", key="train.lambda")
        eps = st.number_input("Input noise radius ε (0 = off)", 0.0, None, reg.noise_eps, format="%.3f",
                              key="train.eps")
        norm = st.radio("Noise ball", ["l2", "l1", "linf"], horizontal=True, key="train.norm")
        st.caption(f"Every training input is moved by random noise of norm at most ε, on the {kind.noise_target}"
                   + (" (pixels scaled to [-1, 1])." if kind.noise_target == "pixels" else "."))
        neftune = st.checkbox("NEFTune scaling (ε is α, radius α/√(L·d))", key="train.neftune",
                              disabled=kind.noise_target != "embeddings")
    with c3:
        st.subheader("Augmentation")
        p = st.slider("Share of items augmented on the fly", 0.0, 1.0, kind.augment_p if n_steps else 0.0, 0.05,
                      key="train.p", disabled=not n_steps)
        st.caption("Each item drawn for a batch goes through the pipeline with this probability; "
                   "the validation data is never augmented.")
        non_leaking = st.checkbox("Non-leaking augmentation", AugmentConfig().non_leaking, key="train.non_leaking",
                                  disabled=not (n_steps and kind.augment_conditioning), help=LEAKING_EXPLAINED)
        st.caption("Plain augmentation leaks into a generator's samples: trained on rotated digits, it draws rotated "
                   "digits. Non-leaking augmentation also tells the model what each augmentation did and samples "
                   "with \"none\", so it learns from the variety without copying it (images only).")
        st.page_link("pages/7_Lessons.py", label="Measured in the image-augmentation lesson", icon=":material/school:")
        seed = st.number_input("Seed", 0, 2**32 - 1, tc.seed, key="train.seed")
    started = st.form_submit_button("Start training", type="primary")

if started:
    overrides = {
        "name": name,
        "model": {"kind": kind.name, kind.section: {"preset": preset}},
        "train": {"steps": int(steps), "batch_size": int(batch), "lr": float(lr), "seed": int(seed)},
        "regularization": {"penalty": penalty, "penalty_lambda": float(lam) if penalty != "none" else 0.0,
                           "noise_eps": float(eps), "noise_norm": norm,
                           "neftune": bool(neftune and kind.noise_target == "embeddings")},
        "augment": {"pipeline": pipeline if n_steps else {}, "p": float(p) if n_steps else 0.0,
                    "non_leaking": bool(non_leaking)},
    }
    start_run(spec, ds, overrides)


@st.fragment(run_every=2)
def live_panel() -> None:
    """Re-read the run folders every 2 s (only reads; the training child does the work)."""
    jobs.tick()
    records = ws.my_runs()  # this workspace's runs and published ones (all in single-user mode)
    if not records:
        st.info("No runs yet: choose the settings above and press Start training.")
        return
    rec = active_record(records)
    mine = ws.can_control(rec)
    left, right = st.columns(2)  # the samples get half the page: a grid of >= 64 px images
    with left:
        render_progress(rec)
        b1, b2, b3, b4 = st.columns([1, 1, 1, 2])
        if b1.button("Cancel", key="train.cancel", disabled=not mine or rec.state not in ("running", "queued")):
            ws.control("cancel", rec)
        if b2.button("Resume", key="train.resume", disabled=not mine or not jobs.can_resume(rec)):
            ws.control("resume", rec)
        with b3.popover("Delete", disabled=not mine or rec.state in ("running", "queued")):
            st.caption("Delete this run folder (model, checkpoints, samples, log) for good?")
            if st.button("Delete for good", key="train.delete", type="primary"):
                if ws.control("delete", rec):
                    st.session_state.pop(state.ACTIVE_RUN, None)
                    st.rerun(scope="fragment")
        if ws.viewer().teacher:
            if b4.button("Unpublish" if rec.published else "Publish to every workspace", key="train.publish"):
                ws.control("unpublish" if rec.published else "publish", rec)
        render_curves(rec, key=f"train.curves.{rec.id}")
    with right:
        render_latest_samples(rec)
        if rec.loadable:  # a running run too: the Sample page samples its newest checkpoint
            st.page_link("pages/4_Sample.py", label="Sample this run's newest weights", icon=":material/casino:")
    render_reconstructions(rec)  # latent runs: what the autoencoder keeps
    st.subheader("All runs")
    ids = [r.id for r in records]
    st.session_state["train.pick"] = rec.id  # the widget follows the active run (set before it is drawn)
    st.selectbox("Active run", ids, key="train.pick", format_func=lambda i: run_label(records[ids.index(i)]),
                 on_change=lambda: st.session_state.update({state.ACTIVE_RUN: st.session_state["train.pick"]}))
    st.dataframe(runs_table(records), hide_index=True, width="stretch")


live_panel()
