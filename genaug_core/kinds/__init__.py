"""The registered model kinds: import this package to have them all.

    from genaug_core import kinds
    kinds.KINDS.names()                  # ["gpt2", "ddpm", ...]
    kind = kinds.for_run_config(cfg, "text")
    loaded = kinds.load_run_model(run_dir)

One import line per kind below registers it (genaug_core/kinds/base.py says what a kind is).
"""

from genaug_core.kinds import char_lstm, ddpm, gpt2, ldm  # noqa: F401 - the kinds: importing one registers it
from genaug_core.kinds.base import (
    KINDS,
    LoadedModel,
    ModelKind,
    for_run,
    for_run_config,
    get_kind,
    kinds_for,
    kinds_for_dataset,
    load_run_model,
    register_kind,
    resolve,
)

__all__ = [
    "KINDS", "LoadedModel", "ModelKind", "for_run", "for_run_config", "get_kind", "kinds_for", "kinds_for_dataset",
    "load_run_model",
    "register_kind", "resolve",
]  # fmt: skip
