"""Sample: draw text or images from a trained run; see which samples are new."""

import numpy as np
import pandas as pd
import streamlit as st

from genaug_core import viz
from genaug_core.config import TrainConfig
from genaug_core.data import ImageDataset
from genaug_core.data.export import images_to_zip
from genaug_core.errors import GenAugError
from genaug_core.metrics.text import normalise
from genaug_core.textsafe import escape_markdown
from ui import state
from ui import workspace as ws
from ui.runs import run_label
from ui.sampling import load_model, sample, training_set
from ui.sidebar import page_config, render_sidebar
from ui.widgets import param_widget

st.set_page_config(**page_config(__file__))
st.title("Sample")
render_sidebar()

visible = ws.my_runs()  # own runs and published ones (all in single-user mode)
records = [r for r in visible if r.loadable]
waiting = [r for r in visible if not r.loadable and r.state in ("running", "queued")]
if waiting:
    every = TrainConfig().checkpoint_every_s
    st.caption(f"{len(waiting)} run(s) training without a checkpoint yet: by default a run saves one every "
               f"{every:g} s of training (train.checkpoint_every_s), and can be sampled from then on.")
if not records:
    st.info("No run has a model yet. Train one on the Train page; a run can be sampled once it has a checkpoint.")
    st.stop()
ids = [r.id for r in records]
active = st.session_state.get(state.ACTIVE_RUN)
c1, c2 = st.columns([3, 1])
run_id = c1.selectbox("Run", ids, index=ids.index(active) if active in ids else 0, key="sample.run",
                      format_func=lambda i: run_label(records[ids.index(i)]))
rec = records[ids.index(run_id)]
training = rec.state in ("running", "queued")
# "latest" follows a running run: its newest complete checkpoint (EMA weights when the run keeps them)
choices = (["final"] if rec.has_model else []) + (["latest"] if rec.checkpoints else []) + [
    f"checkpoint-{s}" for s in reversed(rec.checkpoints)]  # fmt: skip
checkpoint = c2.selectbox("Weights", choices, key="sample.checkpoint",
                          format_func=lambda c: {"final": "final model", "latest": "newest checkpoint"}.get(c, c))
if training:
    st.info(f"This run is still training (step {rec.step:,} of {rec.total:,}). \"newest checkpoint\" samples the "
            "newest weights it has saved; after Sample, Refresh samples again as it improves.")
try:
    # reloaded when the folder's weights change (a training run's status changes every few steps: not a reason)
    model = load_model(str(rec.path), checkpoint, (None if training else rec.updated, tuple(rec.checkpoints),
                                                   rec.has_model))  # fmt: skip
except GenAugError as exc:
    st.error(ws.error_text(exc, rec))
    st.stop()

result_key = f"sample.result.{rec.id}.{checkpoint}"
kind = model.model_kind
with st.form("sample.form"):
    cols = st.columns(2)
    n = cols[0].number_input("How many", 1, 256, kind.sample_count, key="sample.n")
    seed = cols[1].number_input("Seed", 0, 2**31 - 1, 0, key="sample.seed")
    defaults = kind.sample_defaults(model)
    cols = st.columns(len(kind.sample_options))
    options = {}
    for col, spec in zip(cols, kind.sample_options, strict=True):  # widgets drawn from the kind's option specs
        with col:
            options[spec.name] = param_widget(spec, defaults.get(spec.name, spec.default), key=f"sample.{spec.name}")
    names = kind.class_names(model)
    if names:
        every, uncond = "every class in turn", "no class (unconditional)"
        cls = st.selectbox("Class", [every, uncond, *names], key="sample.class")
        options["class_ids"] = {every: [i % len(names) for i in range(int(n))], uncond: None}.get(
            cls, names.index(cls) if cls in names else None)
    go = st.form_submit_button("Sample", type="primary", key="sample.go")


def draw() -> dict | None:
    """Sample with the form's settings and keep the result per run and weights; after an error (shown), the
    result kept before, if any."""
    try:
        st.session_state[result_key] = {"samples": sample(model, int(n), int(seed), **options),
                                        "weights": model.weights, "step": model.step}  # fmt: skip
    except GenAugError as exc:
        st.error(escape_markdown(exc))
    return st.session_state.get(result_key)


# {"samples": ..., "weights": "step 1,200 of 3,000, EMA weights", "step"}
drawn = draw() if go else st.session_state.get(result_key)
if checkpoint == "latest" and drawn is not None:  # drawn after sampling, so it is offered at once
    r1, r2 = st.columns([1, 4])
    if r1.button("Refresh", key="sample.refresh", icon=":material/refresh:",
                 help="Sample again, with the same settings, from the newest checkpoint"):  # fmt: skip
        drawn = draw()
    if drawn is not None and rec.checkpoints and rec.checkpoints[-1] != drawn["step"]:
        r2.caption(f"The run has saved newer weights (step {rec.checkpoints[-1]:,}): Refresh samples them.")
result = drawn["samples"] if drawn else None
if drawn:
    st.markdown(f"Sampled from **{escape_markdown(drawn['weights'])}**.")
if result is None:
    st.caption("Press Sample to draw from the model.")
elif model.kind == "text":
    try:
        seen = training_set(str(rec.path))
    except GenAugError as exc:
        st.warning("The training set of this run cannot be read, so samples are not compared with it: "
                   + ws.error_text(exc, rec))
        seen = None
    table = pd.DataFrame({"sample": result})
    if seen is not None:
        new = [normalise(s) not in seen for s in result]
        st.markdown(f"**{sum(new)} of {len(result)} samples are new** ({sum(new) / len(result):.0%}); "
                    "the rest copy an item of the training set.")
        table[""] = ["new" if x else "in training set" for x in new]
    st.dataframe(table, hide_index=True, width="stretch")
    st.download_button("Download samples (.txt)", "\n".join(result) + "\n", file_name=f"{rec.id}-samples.txt",
                       key="sample.download", on_click="ignore")
else:
    st.image(viz.image_grid(result, ncols=8, cell=viz.READABLE_CELL), caption=f"{len(result)} samples")
    zipped = images_to_zip(ImageDataset(name="samples", source=rec.id, images=np.asarray(result)))
    st.download_button("Download samples (.zip of PNGs)", zipped, file_name=f"{rec.id}-samples.zip",
                       key="sample.download", on_click="ignore")
