"""Cached model loading and sampling for the Sample page (bounded caches, never mutated)."""

from __future__ import annotations

import contextlib

import streamlit as st

from genaug_core import kinds
from genaug_core.config import read_run_config
from genaug_core.train import jobs


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def load_model(run_path: str, checkpoint: str, signature: tuple) -> kinds.LoadedModel:
    """One loaded model per (run, checkpoint, folder state); the signature changes when files do."""
    return kinds.load_run_model(run_path, None if checkpoint == "latest" else checkpoint)


@st.cache_data(max_entries=8, show_spinner="Reading the training set…")
def training_set(run_path: str) -> frozenset[str]:
    """The run's training texts, normalised (as the novelty metric compares them)."""
    from genaug_core.data import load_dataset
    from genaug_core.data.preprocess import preprocess
    from genaug_core.metrics.text import normalise

    cfg = read_run_config(run_path)
    ds, _ = preprocess(load_dataset(cfg.data), cfg.preprocess)
    return frozenset(normalise(t) for t in ds.train_texts())


@contextlib.contextmanager
def app_threads():
    """Sample with the cores the training children leave free, so neither slows the other down."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(jobs.free_threads())
    try:
        yield
    finally:
        torch.set_num_threads(before)


def sample(model: kinds.LoadedModel, n: int, seed: int, **options):
    """Draw samples with the cores left free; ConfigError first when they would not fit the byte budget."""
    from genaug_core.budgets import check_op_bytes

    check_op_bytes("sampling", model.model_kind.sample_bytes(model, n), f"{n:,} samples")
    with app_threads():
        return model.sample(n=n, seed=seed, **options)
