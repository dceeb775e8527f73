"""Budgets that keep one user's request from taking a shared server's memory or cores.

    check_op_bytes("preprocessing", nbytes, what="...")   # ConfigError beyond $GENAUG_MAX_OP_BYTES
    max_run_seconds()                                      # $GENAUG_MAX_RUN_SECONDS or None (no cap)

An operation that would allocate a large array (preprocessing a dataset,
drawing samples in the app) computes the size of what it is about to
allocate first and asks check_op_bytes, which refuses with a ConfigError
naming the operation, the size and the budget. A training process stops at
the wall-time cap with a checkpoint (train/loop.py). The README's "Budgets"
table lists them all, with the per-workspace run limits of train/jobs.py.
"""

from __future__ import annotations

import os

from genaug_core.errors import ConfigError

GiB = 1024**3
OP_BYTES_ENV = "GENAUG_MAX_OP_BYTES"
DEFAULT_OP_BYTES = 1 * GiB
RUN_SECONDS_ENV = "GENAUG_MAX_RUN_SECONDS"


def _positive(name: str) -> float | None:
    value = os.environ.get(name, "").strip()
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number > 0 else None


def max_op_bytes() -> int:
    """Bytes one operation may allocate: $GENAUG_MAX_OP_BYTES, default 1 GiB."""
    value = _positive(OP_BYTES_ENV)
    return int(value) if value else DEFAULT_OP_BYTES


def max_run_seconds() -> float | None:
    """Wall-clock seconds one launch of a training process may train: $GENAUG_MAX_RUN_SECONDS (unset: no cap)."""
    return _positive(RUN_SECONDS_ENV)


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
