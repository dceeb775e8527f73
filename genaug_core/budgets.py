"""Budgets that keep one user's request from taking a shared server's memory or cores.

    check_op_bytes("preprocessing", nbytes, what="...")   # ConfigError beyond $GENAUG_MAX_OP_BYTES
    max_run_seconds()                                      # $GENAUG_MAX_RUN_SECONDS or None (no cap)
    check_run_items(items, what="...")                     # ConfigError beyond $GENAUG_MAX_RUN_ITEMS
    check_pipeline_steps(n)                                # ConfigError beyond $GENAUG_MAX_PIPELINE_STEPS
    check_workspace_disk(used_bytes)                       # RunError at $GENAUG_WORKSPACE_MAX_RUN_BYTES

An operation that would allocate a large array (preprocessing a dataset,
drawing samples in the app) computes the size of what it is about to
allocate first and asks check_op_bytes, which refuses with a ConfigError
naming the operation, the size and the budget. A training process stops at
the wall-time cap with a checkpoint (train/loop.py). A run is refused at
Start when it would train on more items (steps x batch, x rounds for
self-training) than the compute budget, and a workspace may not start a run
while its run folders fill its disk quota. An augmentation pipeline holds at
most a few dozen steps. The README's "Budgets"
table lists them all, with the per-workspace run limits of train/jobs.py.
"""

from __future__ import annotations

import os

from genaug_core.errors import ConfigError, RunError

GiB = 1024**3
OP_BYTES_ENV = "GENAUG_MAX_OP_BYTES"
DEFAULT_OP_BYTES = 1 * GiB
RUN_SECONDS_ENV = "GENAUG_MAX_RUN_SECONDS"
RUN_ITEMS_ENV = "GENAUG_MAX_RUN_ITEMS"
# 8x the largest shipped config (configs/shapes_ddpm.toml: 2,000 steps x batch 64); a GPT-2 names run of
# that size takes minutes on 2 cores, not the ~40 hours of 100,000 steps x batch 1,024
DEFAULT_RUN_ITEMS = 1_000_000
PIPELINE_STEPS_ENV = "GENAUG_MAX_PIPELINE_STEPS"
DEFAULT_PIPELINE_STEPS = 32  # a useful pipeline has a handful; each step costs time on every training batch
WORKSPACE_RUN_BYTES_ENV = "GENAUG_WORKSPACE_MAX_RUN_BYTES"
DEFAULT_WORKSPACE_RUN_BYTES = 2 * GiB  # run folders (checkpoints, samples, logs) of one workspace


def positive_env(name: str, default: float | None = None) -> float | None:
    """The positive number in environment variable `name`, else `default` (unset, empty, non-numeric or <= 0)."""
    value = os.environ.get(name, "").strip()
    try:
        number = float(value)
    except ValueError:
        return default
    return number if number > 0 else default


def max_op_bytes() -> int:
    """Bytes one operation may allocate: $GENAUG_MAX_OP_BYTES, default 1 GiB."""
    value = positive_env(OP_BYTES_ENV)
    return int(value) if value else DEFAULT_OP_BYTES


def max_run_seconds() -> float | None:
    """Wall-clock seconds one launch of a training process may train: $GENAUG_MAX_RUN_SECONDS (unset: no cap)."""
    return positive_env(RUN_SECONDS_ENV)


def fmt_bytes(n: float) -> str:
    for unit, size in (("GiB", GiB), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{int(n):,} bytes"


def check_op_bytes(operation: str, nbytes: int, what: str = "") -> None:
    """ConfigError when `operation` would allocate more than max_op_bytes() (`what`: the detail to name)."""
    budget = max_op_bytes()
    if nbytes > budget:
        detail = f" ({what})" if what else ""
        raise ConfigError(
            f"{operation}{detail} would allocate about {fmt_bytes(nbytes)}, more than the budget of "
            f"{fmt_bytes(budget)} per operation ({OP_BYTES_ENV}); use fewer or smaller items"
        )


def max_run_items() -> int:
    """Training items (steps x batch, x rounds) one run may take: $GENAUG_MAX_RUN_ITEMS, default 1,000,000."""
    value = positive_env(RUN_ITEMS_ENV)
    return int(value) if value else DEFAULT_RUN_ITEMS


def check_run_items(items: int, what: str = "") -> None:
    """ConfigError when a run would train on more than max_run_items() items (`what`: how they add up)."""
    budget = max_run_items()
    if items > budget:
        detail = f" ({what})" if what else ""
        raise ConfigError(
            f"this run would train on {items:,} items{detail}, more than the budget of {budget:,} per run "
            f"({RUN_ITEMS_ENV}); use fewer steps or a smaller batch"
        )


def max_pipeline_steps() -> int:
    """Steps one augmentation pipeline may hold: $GENAUG_MAX_PIPELINE_STEPS, default 32."""
    value = positive_env(PIPELINE_STEPS_ENV)
    return int(value) if value else DEFAULT_PIPELINE_STEPS


def check_pipeline_steps(n: int) -> None:
    """ConfigError when a pipeline has more than max_pipeline_steps() steps."""
    budget = max_pipeline_steps()
    if n > budget:
        raise ConfigError(
            f"the pipeline has {n:,} steps, more than the {budget} a pipeline may hold ({PIPELINE_STEPS_ENV}); "
            "remove some steps"
        )


def max_workspace_run_bytes() -> int:
    """Bytes the run folders of one workspace may hold: $GENAUG_WORKSPACE_MAX_RUN_BYTES, default 2 GiB."""
    value = positive_env(WORKSPACE_RUN_BYTES_ENV)
    return int(value) if value else DEFAULT_WORKSPACE_RUN_BYTES


def folder_bytes(path: str | os.PathLike) -> int:
    """Bytes of the files under `path` (links not followed; files that vanish meanwhile count 0), for the
    per-workspace disk quota."""
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return total


def check_workspace_disk(used: int) -> None:
    """RunError when a workspace whose runs hold `used` bytes is at or over its disk quota (a new run
    would only add to it)."""
    budget = max_workspace_run_bytes()
    if used >= budget:
        raise RunError(
            f"this workspace's runs take {fmt_bytes(used)} of disk, its quota is {fmt_bytes(budget)} "
            f"({WORKSPACE_RUN_BYTES_ENV}); delete runs you no longer need on the Train page (select a run, "
            "Delete) before starting another"
        )
