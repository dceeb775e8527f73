"""Augment: build a pipeline, see exactly what it does to your data, take it with you."""

import numpy as np
import streamlit as st

from genaug_core.augment import export, preview
from genaug_core.augment.pipeline import Pipeline, default_pipeline
from genaug_core.data import BUILTINS
from genaug_core.errors import GenAugError
from genaug_core.textsafe import escape_markdown
from ui import state
from ui.data import current_dataset, describe
from ui.sidebar import page_config, render_sidebar
from ui.widgets import LEAKING_EXPLAINED, pipeline_editor, seed_widget, set_pipeline, text_variants_view

st.set_page_config(**page_config(__file__))
st.title("Augment")
ds = current_dataset()
channels = ds.channels if ds.kind == "image" else None
st.caption(f"Dataset: **{escape_markdown(describe(ds))}**. The pipeline below is the one training uses.")

try:
    stored = st.session_state.get(state.PIPELINE)
    if not stored or stored.get("kind") != ds.kind:  # first visit, or the dataset changed kind
        set_pipeline(default_pipeline(ds.kind))
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.subheader("Pipeline")
        if ds.kind == "image":
            st.caption(LEAKING_EXPLAINED)
        pipe = pipeline_editor(Pipeline.from_dict(st.session_state[state.PIPELINE]), channels)
        pipe = seed_widget(pipe)
        st.session_state[state.PIPELINE] = pipe.to_dict()
    with right:
        view = st.radio("View", ["Variants", "Dataset grid", "L1/L2 noise", "Export"], horizontal=True,
                        key="augment.view", label_visibility="collapsed")
        if view == "Variants":
            c1, c2 = st.columns([3, 1])
            ids = c1.multiselect("Items", range(min(len(ds), 2000)), default=list(range(min(4, len(ds)))),
                                 key="augment.items", max_selections=16, help="up to 16 of the first 2,000 items")
            n_var = c2.slider("Variants", 1, 8, 4, key="augment.n_variants")
            if not ids:
                st.info("Pick at least one item.")
            elif ds.kind == "image":
                grid, drawn = preview.image_variants(pipe, ds.images[ids], ids, n_var, pipe.seed)
                st.image(preview.tile(grid), caption="each row: the original, then its variants")
            else:
                table, drawn = preview.text_variants(pipe, [ds.texts[i] for i in ids], ids, n_var, pipe.seed)
                st.caption("each item, then its variants below it: edits highlighted, deletions struck through")
                text_variants_view(table, n_var)
            if ids:
                with st.expander("Parameters drawn per variant"):
                    st.dataframe(drawn, hide_index=True, key="augment.drawn_table")
        elif view == "Dataset grid":
            if ds.kind == "image":
                st.image(preview.dataset_grid(pipe, ds.images[:64], pipe.seed), caption="items 0-63, augmented once")
            else:
                texts = ds.texts[:20]
                st.dataframe({"original": texts, "augmented": pipe.apply(texts)}, key="augment.grid_table")
        elif view == "L1/L2 noise" and ds.kind == "image":
            c1, c2 = st.columns([1, 2])
            norm = c1.radio("Ball", ["l2", "l1", "linf"], horizontal=True, key="augment.noise_norm")
            limit = preview.eps_limit(norm, ds.height * ds.width * ds.channels)
            eps = c2.slider("eps: radius, pixels in [0, 1]", 0.0, limit, limit / 4, limit / 100,
                            key=f"augment.noise_eps.{norm}")
            noised, norms = preview.noise_preview(ds.images[:64], eps, norm, pipe.seed)
            st.image(preview.tile(np.stack([ds.images[:8], noised[:8]])), caption="top: originals; bottom: noised")
            import plotly.express as px

            st.plotly_chart(px.histogram(x=norms, nbins=30, labels={"x": f"{norm} norm of each perturbation"},
                                         title=f"{len(norms)} draws, all within eps = {eps:.3g}"), key="augment.hist")
        elif view == "L1/L2 noise":
            st.info("For text, ball noise is added to token embeddings while training (NEFTune scales it "
                    "by alpha / sqrt(L·d)); set its strength on the Train page.")
        else:
            st.download_button("Pipeline JSON", pipe.to_json(), "pipeline.json", "application/json",
                               key="augment.dl_json", on_click="ignore")
            source = (st.session_state.get(state.DATASET_SPEC) or {}).get("source")
            snippet = export.python_snippet(pipe, source if source in BUILTINS else None)
            st.download_button("Python snippet", snippet, "augment_pipeline.py", "text/x-python",
                               key="augment.dl_py", on_click="ignore")
            st.code(snippet, language="python")
            formats = export.IMAGE_FORMATS if ds.kind == "image" else export.TEXT_FORMATS
            c1, c2 = st.columns(2)
            copies = int(c1.number_input("Copies per item", 1, export.MAX_COPIES, 2, key="augment.copies"))
            fmt = c2.selectbox("Format", list(formats), key="augment.export_format")
            suffix, mime = formats[fmt]
            try:
                export.check_export(ds, copies)  # refused here, before the button, not when it is clicked
            except GenAugError as exc:
                st.error(escape_markdown(exc))
            else:
                st.download_button(f"Augmented copy ({copies} per item, {suffix})",
                                   lambda: export.to_bytes(export.augment_copies(ds, pipe, copies, pipe.seed), fmt),
                                   f"{ds.name}-augmented{suffix}", mime, key="augment.dl_copy", on_click="ignore")
            upload = st.file_uploader("Load a pipeline JSON", type=["json"], key="augment.import")
            if upload is not None and st.button("Use this pipeline", key="augment.import_use"):
                new = Pipeline.from_json(upload.getvalue(), source=upload.name)
                if new.kind != ds.kind:
                    raise GenAugError(f"{upload.name} is a {new.kind} pipeline; the current dataset holds {ds.kind}s")
                set_pipeline(new)
                st.rerun()
except GenAugError as exc:
    st.error(escape_markdown(exc))
    st.button("Start again from the default pipeline", key="augment.reset",
              on_click=lambda: set_pipeline(default_pipeline(ds.kind)))
render_sidebar()
