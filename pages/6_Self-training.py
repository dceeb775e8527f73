"""Self-training: train, sample, filter, train again on the result; watch for model collapse."""

import pandas as pd
import streamlit as st

from genaug_core import kinds, runs, viz
from genaug_core.config import SelfTrainConfig, read_run_config
from genaug_core.errors import GenAugError
from genaug_core.textsafe import escape_markdown
from genaug_core.train import jobs
from genaug_core.train import selftrain as stm
from ui import state
from ui import workspace as ws
from ui.data import current_dataset, current_spec, describe
from ui.runs import render_progress, start_run
from ui.sidebar import page_config, render_sidebar
from ui.widgets import param_widget

st.set_page_config(**page_config(__file__))
st.title("Self-training")
render_sidebar()

st.markdown(
    "The article's *unsupervised augmentation*: train a model, sample synthetic data from it, train the next "
    "model on that data, repeat. Every round is scored on the **same held-out real data**. What to expect:\n"
    "- **replace** (each round trains only on the previous round's samples): *model collapse*. The rare cases "
    "(the tails) are sampled less and less, so held-out loss or FD **rises** and diversity **falls** round "
    "after round (Shumailov et al., *Nature* 2024; Alemohammad et al., *Self-Consuming Generative Models Go "
    "MAD*, ICLR 2024).\n"
    "- **accumulate** (keep the real data and every round's samples): the curves stay near round 1, because "
    "the real data never leaves the training set (Gerstgrasser et al., *Is Model Collapse Inevitable?*, 2024).\n"
    "- **mix** (real data plus a fixed share of the latest samples) lies in between.\n"
    "- a **low sampling temperature** makes samples safer but less varied, so diversity falls faster.\n\n"
    "Samples are filtered before reuse (duplicates, copies of training items, invalid items, an optional quality "
    "threshold); each round reports what every filter dropped. At this small scale the clearest signal is the "
    "held-out loss: the duplicate and copy filters remove repeated samples before reuse, which hides part of the "
    "diversity loss (turn them off, or lower the temperature, to see distinct-n fall)."
)

# --- presets: each launches two runs in the background -----------------------------------------
st.subheader("Presets")
cols = st.columns(len(stm.PRESETS))
for col, (key, (title, _files, expect)) in zip(cols, stm.PRESETS.items(), strict=True):
    with col:
        st.markdown(f"**{title}**")
        st.caption(f"5 rounds each. Expect: {expect}.")
        if st.button("Run preset", key=f"selftrain.preset.{key}"):
            group = f"selftrain-{key}-{runs.new_run_id()}"
            try:
                configs = stm.preset_configs(key, group)
                ws.check_room(len(configs))  # both runs fit in this workspace's share, or neither starts
                dirs = [ws.start(cfg) for cfg in configs]
            except GenAugError as exc:
                st.error(escape_markdown(exc))
            else:
                st.session_state["selftrain.group"] = group
                st.session_state[state.ACTIVE_RUN] = dirs[0].name
                st.toast(f"Started {len(dirs)} runs: {', '.join(d.name for d in dirs)}")

# --- custom rounds on the current dataset -----------------------------------------------------
ds = current_dataset()
spec = current_spec()
kind = kinds.kinds_for_dataset(ds)[0]  # rounds train the data's default kind
stc = SelfTrainConfig()  # the defaults
with st.expander(f"Your own rounds on **{escape_markdown(describe(ds))}**"), st.form("selftrain.form"):
    c1, c2, c3 = st.columns(3)
    with c1:
        rounds = st.slider("Rounds", 1, 10, 5, key="selftrain.rounds")
        mode = st.radio("Mode", ["replace", "mix", "accumulate"], horizontal=True, key="selftrain.mode",
                        help="replace: synthetic data only; mix: real + a fixed share; accumulate: real + all rounds")
        mix_ratio = st.slider("Synthetic share (mix)", 0.05, 0.95, stc.mix_ratio, 0.05, key="selftrain.mix")
        warm = st.checkbox("Warm start (round k starts from round k-1's weights)", key="selftrain.warm")
    with c2:
        steps = st.number_input("Training steps per round", 10, 100_000, 400, step=50, key="selftrain.steps")
        n = st.number_input("Synthetic samples per round", 16, 100_000, stc.synthetic_per_round, step=100,
                            key="selftrain.n")
        options = {spec.name: param_widget(spec, spec.default, key=f"selftrain.{spec.name}")
                   for spec in kind.self_train_options}
    with c3:
        st.caption("Filters before reuse")
        dups = st.checkbox("Drop exact duplicates", stc.drop_duplicates, key="selftrain.dups")
        copies = st.checkbox("Drop copies of training items", stc.drop_copies, key="selftrain.copies")
        quality = st.slider("Quality threshold (0 = off)", 0.0, 1.0, stc.quality_threshold, 0.01, key="selftrain.quality",
                            help="Text: geometric-mean probability per character under a bigram model of the real "
                                 "data. Images: the real-data classifier's confidence.")
    started = st.form_submit_button("Start self-training", type="primary")
if started:
    self_train = {"rounds": int(rounds), "mode": mode, "mix_ratio": float(mix_ratio), "warm_start": bool(warm),
                  "synthetic_per_round": int(n), "drop_duplicates": dups, "drop_copies": copies,
                  "quality_threshold": float(quality)}
    self_train |= options
    overrides = {"name": f"{ds.name} · self-training · {mode}", "self_train": self_train,
                 "train": {"steps": int(steps), "eval_every": 0, "num_samples": 0, "checkpoint_every": 0}}
    start_run(spec, ds, overrides)


@st.fragment(run_every=3)
def live_panel() -> None:
    """Re-read the self-training run folders every 3 s (the training children do the work)."""
    jobs.tick()
    records = [r for r in ws.my_runs() if r.state != "broken" and stm.is_self_training(r.path)]
    if not records:
        st.info("No self-training runs yet: press a preset above, or start your own rounds.")
        return
    by_id = {r.id: r for r in records}
    group = st.session_state.get("selftrain.group")
    default = [r.id for r in records if group and read_run_config(r.path).group == group] or [records[0].id]
    # labels without the state: the browser keeps a selection by its label, so a label that changed when a
    # run finished would silently empty the selection (and the curves)
    picked = st.multiselect("Runs to compare", list(by_id), default=default, key="selftrain.pick",
                            format_func=lambda i: f"{by_id[i].name or i} ({i})")
    chosen = [by_id[i] for i in picked if i in by_id]
    if not chosen:
        return
    for rec in chosen:
        if rec.state in ("running", "queued", "failed", "cancelled"):
            render_progress(rec)
            mine = ws.can_control(rec)  # another workspace's published run: read-only
            if mine and rec.state in ("running", "queued") and st.button("Cancel", key=f"selftrain.cancel.{rec.id}"):
                ws.control("cancel", rec, "Stopping after the current step")
            if mine and jobs.can_resume(rec) and st.button("Resume", key=f"selftrain.resume.{rec.id}"):
                ws.control("resume", rec, "Queued: finished rounds are kept, the interrupted round continues")
    kind = kinds.for_run(chosen[0].path) or kinds.kinds_for("text")[0]  # its headline metrics are the defaults
    loss_metric, diversity_metric = kind.headline
    series = {f"{rec.name or rec.id}": stm.round_records(rec.path) for rec in chosen}
    st.subheader("Collapse curves")
    options = list(viz.ROUND_METRICS)
    c1, c2 = st.columns(2)
    left = c1.selectbox("Quality metric", options, index=options.index(loss_metric), key="selftrain.metric.q")
    right = c2.selectbox("Diversity metric", options, index=options.index(diversity_metric), key="selftrain.metric.d")
    if not any(series.values()):
        st.caption("The first point appears when round 1 has trained, sampled and been scored.")
    else:
        st.plotly_chart(viz.collapse_curves(series, (left, right)), width="stretch", key="selftrain.curves")
        rows = [{"run": label, **{k: r.get(k) for k in ("round", "train_items", "synthetic_items", left, right,
                                                        "kept", "sampled")}}
                for label, recs in series.items() for r in recs]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.subheader("Samples per round")
    gallery = st.selectbox("Run", [r.id for r in chosen], key="selftrain.gallery",
                           format_func=lambda i: by_id[i].name or i)
    rounds = [int(r["round"]) for r in stm.round_records(by_id[gallery].path)]
    if not rounds:
        st.caption("Each round's kept samples appear here once the round has sampled and filtered.")
        return
    for tab, k in zip(st.tabs([f"round {k}" for k in rounds]), rounds, strict=True):
        with tab:
            items = stm.round_samples(by_id[gallery].path, k)
            if items is None or len(items) == 0:
                st.caption("The filters kept no samples in this round.")
            elif isinstance(items, list):
                st.code("\n".join(items), language=None)
            else:
                st.image(viz.tile_images(items, 10, factor=max(1, 64 // items.shape[2])))  # >= 64 px an image


live_panel()
