"""Data: choose a built-in dataset or upload your own, clean it, and read its sanity report."""

import json

import streamlit as st

from genaug_core.config import DataConfig, PreprocessConfig
from genaug_core.data import BUILTINS
from genaug_core.data.checks import run_checks
from genaug_core.data.export import IMAGE_FORMATS, TEXT_FORMATS
from genaug_core.data.preprocess import preprocess
from genaug_core.errors import GenAugError
from genaug_core.textsafe import escape_markdown
from ui.data import (
    cached_builtin,
    cached_upload,
    cleanup_staged_once,
    param_widgets,
    prepared,
    set_current,
    storage_note,
)
from ui.report import render_preview, render_report
from ui.sidebar import page_config, render_sidebar

st.set_page_config(**page_config(__file__))
st.title("Data")
cleanup_staged_once()

# --- 1. choose the data --------------------------------------------------------
left, right = st.columns([1, 2])
with left:
    origin = st.radio("Source", ["Built-in", "Upload"], horizontal=True, key="data.origin")
    val_fraction = st.slider("Held out for validation", 0.05, 0.5, 0.1, 0.05, key="data.val_fraction",
                             help="Real items the model never trains on; every score is measured on them.")
    split_seed = st.number_input("Split seed", 0, 2**31 - 1, 0, key="data.split_seed")
try:
    DataConfig(source="x", val_fraction=val_fraction, seed=int(split_seed))
    with right:
        if origin == "Built-in":
            name = st.selectbox("Dataset", BUILTINS.names(), key="data.builtin",
                                format_func=lambda n: f"{n} — {BUILTINS.get(n).description}")
            params = param_widgets(BUILTINS.get(name).params, key_prefix=f"data.{name}")
            raw = cached_builtin(name, json.dumps(params, sort_keys=True), val_fraction, int(split_seed))
            spec = {"source": name, "params": params}
        else:
            files = st.file_uploader("Text (.txt .csv .tsv .jsonl) or images (.zip .npz .npy .png .jpg …)",
                                     accept_multiple_files=True, key="data.upload")
            if not files:
                render_sidebar()
                st.info("Upload a file to check it. " + storage_note())
                st.stop()
            tabular = len(files) == 1 and files[0].name.lower().endswith((".csv", ".tsv", ".jsonl"))
            text_col = label_col = ""
            has_header = True
            if tabular:
                from genaug_core.data.uploads import default_column, table_columns

                has_header = st.checkbox("First row holds column names", True, key="data.header")
                columns = table_columns(files[0].name, files[0].getvalue(), has_header)
                label_col = st.selectbox("Label column (optional)", ["", *columns], key="data.label_col")
                guess = default_column(files[0].name, files[0].getvalue(), has_header, label_col)
                text_col = st.selectbox("Text column", columns, index=columns.index(guess) if guess in columns else 0,
                                        key="data.text_col",
                                        help="Preselected: the column the loader picks by itself, one named like "
                                             "text, else the most text-like.")
                if columns and not guess:
                    st.warning("No column holds text (the values are mostly numbers or empty); the chosen column "
                               "is read as text anyway.")
            raw = cached_upload(tuple(f.file_id for f in files), [(f.name, f.getvalue()) for f in files],
                                text_col, label_col, has_header)
            raw.val_fraction, raw.seed = val_fraction, int(split_seed)
            st.caption(storage_note())
            spec = {"source": "upload", "files": [f.name for f in files], "file_ids": [f.file_id for f in files],
                    "columns": [text_col, label_col, has_header]}

    # --- 2. clean it (the article's preprocessing step) -------------------------
    with st.expander("Preprocessing: fill or drop empty items, cut or pad, resize, normalise"):
        if raw.kind == "text":
            c1, c2, c3 = st.columns(3)
            pre = PreprocessConfig(
                missing=c1.radio("Empty items", ["drop", "fill"], key="pre.missing", horizontal=True),
                fill_value=c1.text_input("Fill with", "<empty>", key="pre.fill"),
                normalize_whitespace=c2.checkbox("Normalise whitespace", True, key="pre.ws"),
                max_chars=int(c2.number_input("Cut to at most N characters (0 = off)", 0, 100_000, 0, key="pre.max")),
                pad_to=int(c3.number_input("Pad to N characters (0 = off)", 0, 100_000, 0, key="pre.pad")),
            )
        else:
            c1, c2, c3 = st.columns(3)
            pre = PreprocessConfig(
                image_size=int(c1.number_input("Size in pixels (0 = keep)", 0, 512, 0, key="pre.size")),
                fit=c1.radio("Fit", ["resize", "crop", "pad"], key="pre.fit", horizontal=True),
                channels=c2.radio("Channels", [0, 1, 3], key="pre.channels", horizontal=True,
                                  format_func={0: "keep", 1: "gray", 3: "RGB"}.get),
                feature_norm=c3.radio("Equalise each image's norm", ["none", "l1", "l2"], key="pre.norm",
                                      help="Rescale every image to the dataset's mean L1 or L2 norm."),
            )
        spec = {**spec, "val_fraction": val_fraction, "seed": int(split_seed), "preprocess": pre.to_dict()}
        ds, notes, report = prepared(raw, spec, lambda d: preprocess(d, pre), run_checks)
        st.caption(escape_markdown("; ".join(notes)) if notes else "No changes.")
    set_current(ds, spec)
except GenAugError as exc:
    render_sidebar()
    st.error(escape_markdown(exc))
    st.stop()

render_sidebar()

# --- 3. look at it -------------------------------------------------------------
tab_report, tab_preview, tab_export = st.tabs(["Sanity report", "Preview", "Download"])
with tab_report:
    render_report(ds, report)
with tab_preview:
    render_preview(ds, key="data.preview")
with tab_export:
    formats = TEXT_FORMATS if ds.kind == "text" else IMAGE_FORMATS
    fmt = st.selectbox("Format", list(formats), key="data.export_format")
    fn, ext, mime = formats[fmt]
    st.download_button(f"Download cleaned dataset (.{ext})", lambda: fn(ds), file_name=f"{ds.name}-clean.{ext}",
                       mime=mime, key="data.download", on_click="ignore")
