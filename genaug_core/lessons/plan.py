"""From a lesson spec to the validated RunConfigs of its runs: sizes, dataset, settings, seeds, names.

    planned = plan_runs(lesson, quick=False, seeds=3, dataset="digits", group="lesson-...")
    [(p.setting, p.seed, p.config) for p in planned]   # settings in the lesson's order, seeds within each

A run's config is built in layers, each a nested dict merged into the one before
(genaug_core.config.merge_settings):

    the lesson's base config
    -> its size: train.steps, data.max_train_items, train.eval_samples, train.eval_every, rounds, ...
    -> the chosen dataset (lessons that offer several)
    -> the caller's overrides (the bench's --train-items)
    -> the setting's overrides
    -> seed k: train.seed + k (and self_train.seed + k); the name and the group

so every run of a lesson differs from the others only in its setting and its seed. A layer that makes
an invalid config raises ConfigError naming the lesson and the setting. `lesson_info` is what each run
folder's lesson.json records about the run. Pure: nothing here touches the disk.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from typing import Any

from genaug_core.config import RunConfig, merge_settings
from genaug_core.errors import ConfigError
from genaug_core.lessons.spec import MAX_SEEDS, Lesson, Sizes


@dataclasses.dataclass(frozen=True)
class PlannedRun:
    """One run a lesson launches."""

    setting: str  # the setting's name
    seed: int  # the seed index, 0 to seeds - 1 (train.seed is the base's seed plus this)
    config: RunConfig  # validated, with name and group set


def new_group_id(lesson_id: str) -> str:
    """A fresh group id like "lesson-l1-l2-20261118-181847-3fa2": generated, never user text."""
    return f"lesson-{lesson_id}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def sizes_for(lesson: Lesson, quick: bool) -> Sizes:
    return lesson.quick if quick else lesson.full


def seeds_for(lesson: Lesson, quick: bool, seeds: int | None = None) -> int:
    """The number of seeds: `seeds` if given (1-10), else the lesson's default for the size."""
    if seeds is None:
        return lesson.quick_seeds if quick else lesson.seeds
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= MAX_SEEDS:
        raise ConfigError(f"seeds = {seeds!r} is out of range; allowed: 1 to {MAX_SEEDS}")
    return seeds


def dataset_for(lesson: Lesson, dataset: str | None) -> str | None:
    """The chosen dataset label (None: the lesson's default, or a lesson without a choice)."""
    if dataset is None or dataset == "":
        return next(iter(lesson.datasets), None)
    if dataset not in lesson.datasets:
        known = ", ".join(lesson.datasets) or "(none: this lesson's data is fixed)"
        raise ConfigError(f"lesson {lesson.id!r}: dataset {dataset!r} is not offered; choose one of: {known}")
    return dataset


def size_overrides(sizes: Sizes) -> dict[str, Any]:
    """The config sections a size sets."""
    out: dict[str, Any] = {
        "data": {"max_train_items": sizes.max_train_items},
        "train": {"steps": sizes.steps, "eval_samples": sizes.eval_samples, "eval_every": sizes.eval_every},
    }
    if sizes.rounds:
        out["self_train"] = {"rounds": sizes.rounds}
        if sizes.synthetic_per_round:
            out["self_train"]["synthetic_per_round"] = sizes.synthetic_per_round
    return merge_settings(out, sizes.overrides)


def run_name(lesson_id: str, setting: str, seed: int) -> str:
    return f"lesson {lesson_id} · {setting} · seed {seed}"


def plan_runs(
    lesson: Lesson,
    quick: bool = False,
    seeds: int | None = None,
    dataset: str | None = None,
    overrides: dict[str, Any] | None = None,
    group: str = "",
) -> list[PlannedRun]:
    """Every run of `lesson` (see the module docstring), settings in order, seeds 0..K-1 within each."""
    k = seeds_for(lesson, quick, seeds)
    label = dataset_for(lesson, dataset)
    layers = [size_overrides(sizes_for(lesson, quick))]
    if label is not None:
        layers.append({"data": lesson.datasets[label]})
    layers.append(overrides or {})
    base = lesson.base().to_dict()
    for layer in layers:
        base = merge_settings(base, layer)
    self_training = sizes_for(lesson, quick).rounds > 0
    out = []
    for setting in lesson.settings:
        arm = merge_settings(base, setting.overrides)
        for seed in range(k):
            change: dict[str, Any] = {"name": run_name(lesson.id, setting.name, seed), "group": group,
                                      "train": {"seed": int(arm["train"]["seed"]) + seed}}
            if self_training:
                change["self_train"] = {"seed": int(arm["self_train"]["seed"]) + seed}
            try:
                cfg = RunConfig.from_dict(merge_settings(arm, change))
            except ConfigError as exc:
                raise ConfigError(f"lesson {lesson.id!r}, setting {setting.name!r}: {exc}") from None
            out.append(PlannedRun(setting.name, seed, cfg))
    return out


def lesson_info(lesson: Lesson, run: PlannedRun, *, quick: bool, seeds: int, dataset: str | None) -> dict[str, Any]:
    """What a run folder's lesson.json says: which lesson, setting and seed the run belongs to."""
    return {
        "lesson": lesson.id,
        "setting": run.setting,
        "seed": run.seed,
        "train_seed": run.config.train.seed,
        "seeds": seeds,
        "group": run.config.group,
        "quick": bool(quick),
        "dataset": dataset,
        "created": time.time(),
    }
