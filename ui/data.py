"""Dataset access for pages: cached loaders and the session's current dataset."""

from __future__ import annotations

import json

import streamlit as st

from genaug_core.data import Dataset, load_builtin
from ui import state

DEFAULT_DATASET = "digits"


@st.cache_data(show_spinner="Loading dataset…", max_entries=16)
def cached_builtin(name: str, params_json: str = "{}", val_fraction: float = 0.1, seed: int = 0) -> Dataset:
    """A built-in dataset, loaded once per parameter set (params as sorted JSON: hashable)."""
    return load_builtin(name, val_fraction=val_fraction, split_seed=seed, **json.loads(params_json))


def describe(ds: Dataset) -> str:
    if ds.kind == "image":
        what = f"{len(ds):,} images, {ds.height}x{ds.width}x{ds.channels}"
    else:
        what = f"{len(ds):,} texts"
    if ds.class_names:
        what += f", {len(ds.class_names)} classes"
    return f"{ds.name} ({what})"


def set_current(ds: Dataset, spec: dict) -> None:
    """Make `ds` the dataset every page works on; `spec` says how to load it again."""
    st.session_state[state.DATASET] = ds
    st.session_state[state.DATASET_SPEC] = spec
    st.session_state[state.DATASET_LABEL] = describe(ds)


def current_dataset() -> Dataset:
    """The session's dataset; the built-in digits until the user picks another on the Data page."""
    if state.DATASET not in st.session_state:
        set_current(cached_builtin(DEFAULT_DATASET), {"source": DEFAULT_DATASET, "params": {}})
    return st.session_state[state.DATASET]


def current_spec() -> dict:
    """How the session's dataset was loaded ({"source": ..., "params": {...}}), for the run config."""
    current_dataset()  # sets the default dataset and its spec on first use
    return st.session_state[state.DATASET_SPEC]


@st.cache_data(show_spinner="Reading upload…", max_entries=8)
def cached_upload(
    file_ids: tuple[str, ...], _files: list[tuple[str, bytes]], text_column: str, label_column: str, has_header: bool
) -> Dataset:
    """An uploaded dataset, parsed once per set of uploaded files (keyed by Streamlit's file ids)."""
    from genaug_core.data.uploads import load_files

    return load_files(_files, text_column=text_column, label_column=label_column, has_header=has_header)


def param_widgets(params, key_prefix: str, disabled: bool = False) -> dict:
    """One widget per built-in dataset ParamSpec: typed number boxes (sizes and seeds span too wide a range
    for the sliders the augmenters get), a select box for choices, a checkbox, a text box."""
    values = {}
    for p in params:
        key = f"{key_prefix}.{p.name}"
        label = p.name.replace("_", " ")
        if p.type == "choice":
            values[p.name] = st.selectbox(label, p.choices, index=p.choices.index(p.default), help=p.help, key=key, disabled=disabled)
        elif p.type == "bool":
            values[p.name] = st.checkbox(label, value=p.default, help=p.help, key=key, disabled=disabled)
        elif p.type == "int":
            values[p.name] = int(
                st.number_input(label, int(p.min), int(p.max), int(p.default), step=1, help=p.help, key=key, disabled=disabled)
            )
        elif p.type == "float":
            values[p.name] = float(
                st.number_input(label, float(p.min), float(p.max), float(p.default), help=p.help, key=key, disabled=disabled)
            )
        else:
            values[p.name] = st.text_input(label, str(p.default), help=p.help, key=key, disabled=disabled)
    return values


@st.cache_resource(show_spinner=False)
def cleanup_staged_once() -> int:
    """Remove expired staged uploads once per app process (at its first Data page run); staging does it too."""
    from genaug_core.data import staged

    return len(staged.cleanup())


def storage_note() -> str:
    """What the server stores of an upload, and for how long (the numbers come from genaug_core.data.staged)."""
    from genaug_core.budgets import fmt_bytes
    from genaug_core.data import staged

    return (
        "An upload is read in memory and kept only in this browser session. Starting a training run stores the "
        "prepared dataset (what this page shows) on the server for this workspace, so the run can read it; it is "
        f"removed {staged.ttl_seconds() / 3600:g} h after its last use, and a workspace may hold "
        f"{fmt_bytes(staged.quota_bytes())} of them. Limits are listed in the README."
    )


PREPARED = "genaug.data.prepared"  # (spec fingerprint, cleaned dataset, notes, report) of the last Data page run


def prepared(raw: Dataset, spec: dict, clean, check):
    """(cleaned dataset, notes, report), recomputed only when `spec` changes.

    Preprocessing and the sanity report take up to ~1 s on large datasets;
    without this every click on the Data page (a preview page, a download
    format) would pay it again. `spec` must name everything that shapes the
    data: source, parameters or file ids, split and preprocessing.
    """
    key = json.dumps(spec, sort_keys=True, default=str)
    hit = st.session_state.get(PREPARED)
    if hit is None or hit[0] != key:
        ds, notes = clean(raw)
        hit = (key, ds, notes, check(ds))
        st.session_state[PREPARED] = hit
    return hit[1], hit[2], hit[3]
