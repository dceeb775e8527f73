"""Sample: draw text or images from a trained run; see which samples are new."""

import numpy as np
import pandas as pd
import streamlit as st

from genaug_core import runs, viz
from genaug_core.data import ImageDataset
from genaug_core.data.export import images_to_zip
from genaug_core.errors import GenAugError
from genaug_core.metrics.text import normalise
from ui import state
from ui.runs import run_label
from ui.sampling import load_model, sample, training_set
from ui.sidebar import render_sidebar

st.set_page_config(page_title="Sample · GenAug Studio", page_icon=":material/auto_awesome:", layout="wide")
st.title("Sample")
render_sidebar()

records = [r for r in runs.list_runs() if r.loadable]
if not records:
    st.info("No run has a model yet. Train one on the Train page; a run can be sampled once it has a checkpoint.")
    st.stop()
ids = [r.id for r in records]
active = st.session_state.get(state.ACTIVE_RUN)
c1, c2 = st.columns([3, 1])
run_id = c1.selectbox("Run", ids, index=ids.index(active) if active in ids else 0, key="sample.run",
                      format_func=lambda i: run_label(records[ids.index(i)]))
rec = records[ids.index(run_id)]
choices = (["final"] if rec.has_model else []) + [f"checkpoint-{s}" for s in reversed(rec.checkpoints)]
checkpoint = c2.selectbox("Weights", choices, key="sample.checkpoint")
try:
    model = load_model(str(rec.path), checkpoint, (rec.updated, tuple(rec.checkpoints), rec.has_model))
except GenAugError as exc:
    st.error(str(exc))
    st.stop()

result_key = f"sample.result.{rec.id}.{checkpoint}"
with st.form("sample.form"):
    cols = st.columns(4)
    n = cols[0].number_input("How many", 1, 256, 32 if model.kind == "text" else 64, key="sample.n")
    seed = cols[1].number_input("Seed", 0, 2**31 - 1, 0, key="sample.seed")
    if model.kind == "text":
        prompt = cols[2].text_input("Prompt (optional)", key="sample.prompt", max_chars=200)
        max_len = cols[3].number_input("Max length (tokens)", 1, 1000, 64, key="sample.max_len")
        c = st.columns(3)
        temperature = c[0].slider("Temperature", 0.0, 2.0, 1.0, 0.05, key="sample.temperature",
                                  help="Below 1: safer, more repetitive. Above 1: more surprising, more mistakes.")
        top_k = c[1].number_input("Top-k (0 = off)", 0, 1000, 0, key="sample.top_k")
        top_p = c[2].slider("Top-p", 0.05, 1.0, 1.0, 0.05, key="sample.top_p")
        options = dict(prompt=prompt, max_new_tokens=int(max_len), temperature=temperature, top_k=int(top_k), top_p=top_p)
    else:
        steps = cols[2].number_input("Denoising steps", 1, 1000, int(model.meta.get("sample_steps", 25)), key="sample.steps")
        sampler = cols[3].selectbox("Sampler", ["ddim", "dpm"], key="sample.sampler",
                                    format_func={"ddim": "DDIM", "dpm": "DPM-Solver++"}.get)
        names = list(model.meta.get("class_names") or [])
        every, uncond = "every class in turn", "no class (unconditional)"
        cls = st.selectbox("Class", [every, uncond, *names], key="sample.class") if names else uncond
        class_ids = {every: [i % len(names) for i in range(int(n))] if names else None, uncond: None}.get(
            cls, names.index(cls) if cls in names else None)
        options = dict(steps=int(steps), sampler=sampler, class_ids=class_ids)
    go = st.form_submit_button("Sample", type="primary", key="sample.go")

if go:
    try:
        st.session_state[result_key] = sample(model, int(n), int(seed), **options)
    except GenAugError as exc:
        st.error(str(exc))
result = st.session_state.get(result_key)
if result is None:
    st.caption("Press Sample to draw from the model.")
elif model.kind == "text":
    try:
        seen = training_set(str(rec.path))
    except GenAugError as exc:
        st.warning(f"The training set of this run cannot be read, so samples are not compared with it: {exc}")
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
    st.image(viz.image_grid(result, ncols=16, cell=48), caption=f"{len(result)} samples")
    zipped = images_to_zip(ImageDataset(name="samples", source=rec.id, images=np.asarray(result)))
    st.download_button("Download samples (.zip of PNGs)", zipped, file_name=f"{rec.id}-samples.zip",
                       key="sample.download", on_click="ignore")
