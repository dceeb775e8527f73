"""One-click ablations: a group of runs that differ in exactly one setting.

    cfgs = ablation_configs(base, kind="augmentation")                  # augmentation off vs on
    cfgs = ablation_configs(base, kind="penalty", values=(0, 1e-5, 1e-4, 1e-3))  # L1/L2 strength sweep
    cfgs = ablation_configs(base, kind="noise", max_train_items=300)    # noise-ball radius sweep, 300 items
    run_dirs = [jobs.start(c) for c in cfgs]

Every config of a group keeps the base's data, model, schedule and seed, so the
only difference is the ablated setting (and `name`); all share one `group` id,
which the Compare page uses to show them together. Augmentation matters most
when real data is scarce, so an ablation usually trains on a reduced training
set (`max_train_items`); the validation part stays whole, and every run is
scored against the same held-out real items.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence

from genaug_core import kinds
from genaug_core.config import RunConfig
from genaug_core.errors import ConfigError
from genaug_core.kinds import families

KINDS = ("augmentation", "penalty", "noise")
MIN_RUNS, MAX_RUNS = 2, 5

# default values per kind (noise: per data kind, in model units: pixels in [-1, 1]; NEFTune alpha for text)
DEFAULT_PENALTY = (0.0, 1e-5, 1e-4, 1e-3)
DEFAULT_NOISE = {family.data: family.noise_sweep for family in (families.TextKind, families.ImageKind)}


def new_group_id(kind: str) -> str:
    """A fresh group id like "ablation-penalty-20261118-181847-3fa2": generated, never user text."""
    return f"ablation-{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def train_size_choices(n_train: int) -> dict[str, int]:
    """Reduced training-set sizes offered for an ablation: label -> max_train_items (0 = all)."""
    out = {}
    for label, size in (("10%", max(2, n_train // 10)), ("100 items", 100), ("300 items", 300)):
        if size < n_train:
            out[f"{label} ({size:,})" if label == "10%" else label] = size
    out[f"all ({n_train:,})"] = 0
    return out


def default_values(kind: str, base: RunConfig, data_kind: str = "image") -> tuple[float, ...]:
    if kind == "augmentation":
        return (0.0, base.augment.p or 0.5)
    if kind == "penalty":
        return DEFAULT_PENALTY
    if kind == "noise":
        return DEFAULT_NOISE.get(data_kind, DEFAULT_NOISE["image"])
    raise ConfigError(f"ablation kind {kind!r} is not known; choose one of: {', '.join(KINDS)}")


def ablation_configs(
    base: RunConfig,
    kind: str = "augmentation",
    values: Sequence[float] | None = None,
    *,
    max_train_items: int | None = None,
    data_kind: str = "image",
    group: str | None = None,
) -> list[RunConfig]:
    """The runs of one ablation of `base`, one per value, all in one group.

    kind "augmentation": augment.p per value (0 = off); needs an augmentation pipeline in base.
    kind "penalty": regularization.penalty_lambda per value, with base's penalty (l2 if none; 0 = off).
    kind "noise": regularization.noise_eps per value (text: as NEFTune's alpha on a linf ball
    unless base already chose a norm with neftune on).
    max_train_items: data.max_train_items for every run (None = keep base's).
    data_kind: "text" or "image", for the default noise values.
    """
    if kind not in KINDS:
        raise ConfigError(f"ablation kind {kind!r} is not known; choose one of: {', '.join(KINDS)}")
    values = tuple(float(v) for v in (values if values is not None else default_values(kind, base, data_kind)))
    if not MIN_RUNS <= len(values) <= MAX_RUNS:
        raise ConfigError(f"an ablation needs {MIN_RUNS} to {MAX_RUNS} values, got {len(values)}")
    if len(set(values)) != len(values):
        raise ConfigError(f"the ablation values must differ, got {', '.join(f'{v:g}' for v in values)}")
    if kind == "augmentation" and not base.augment.pipeline.get("steps"):
        raise ConfigError("an augmentation ablation needs an augmentation pipeline: build one on the Augment page")
    group = group or new_group_id(kind)
    data = base.data if max_train_items is None else base.data.replace(max_train_items=int(max_train_items))
    base = base.replace(data=data, group=group)
    size = f", {data.max_train_items} training items" if data.max_train_items else ""
    out = []
    for v in values:
        if kind == "augmentation":
            cfg = base.replace(augment=base.augment.replace(p=v))
            what = f"augmentation {'off' if v == 0 else f'on (p={v:g})'}"
        elif kind == "penalty":
            penalty = base.regularization.penalty if base.regularization.penalty != "none" else "l2"
            reg = base.regularization.replace(penalty=penalty if v > 0 else "none", penalty_lambda=v)
            cfg = base.replace(regularization=reg)
            what = f"{penalty.upper()} penalty λ={v:g}" if v > 0 else "no weight penalty"
        else:
            reg = base.regularization.replace(noise_eps=v)
            if not base.regularization.neftune:  # the data kind's usual form of input noise (NEFTune for text)
                reg = reg.replace(**kinds.kinds_for(data_kind)[0].noise_settings)
            cfg = base.replace(regularization=reg)
            what = f"input noise ε={v:g} ({reg.noise_norm})" if v > 0 else "no input noise"
        out.append(cfg.replace(name=f"ablation: {what}{size}"))
    return out
