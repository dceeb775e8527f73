"""GenAug Studio home page: what the tool does, the current dataset, where to go next.

Run with `streamlit run app.py`; every file in pages/ is a page (its number
sets the order). The sidebar navigation is drawn by ui.sidebar with proper
page titles (Streamlit's own would call this page "app").

Kept light on purpose: no torch, transformers, diffusers, albumentations or
nlpaug is imported here, so the first page a class sees opens at once.
"""

import streamlit as st

import genaug_core  # noqa: F401  (offline and thread defaults before anything heavy loads)
from genaug_core.textsafe import escape_markdown
from ui.data import current_dataset, describe
from ui.sidebar import page_config, render_sidebar

st.set_page_config(**page_config(__file__))
st.title("GenAug Studio")
st.markdown(
    """
See, by doing, how **data augmentation** helps small **generative models**.

1. **Data** — pick a built-in dataset or upload your own text or images, and read the sanity report.
2. **Augment** — preview augmentations side by side: albumentations for images, nlpaug and our own for text,
   and noise bounded in an L1 / L2 ball ("regularization augmentation").
3. **Train** and **Sample** — train a tiny GPT-2 or a tiny diffusion model with your augmentation and
   L1/L2 settings, then sample from it and see which samples are new.
4. **Compare** — put runs side by side, scored on held-out real data: does augmentation help?
5. **Self-training** — train on the model's own samples, round after round, and watch for model collapse.
6. **Lessons** — re-run a published result (text and image augmentation, L2 and noise, model collapse) on a
   small training set, several seeds each, and read the verdict the measured numbers give: held or not.

Everything runs on this machine; nothing is downloaded.
"""
)
try:
    ds = current_dataset()
except Exception as exc:  # a broken session must not hide the home page
    st.error(f"The current dataset could not be loaded: {escape_markdown(exc)}")
else:
    st.info(f"Current dataset: **{escape_markdown(describe(ds))}**. Change it on the Data page.",
            icon=":material/dataset:")
st.page_link("pages/1_Data.py", label="Start with the Data page", icon=":material/arrow_forward:")
render_sidebar()
