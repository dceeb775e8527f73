"""Parameter specs: one class for every user-set parameter of an augmenter or a built-in dataset.

A `ParamSpec` names a parameter, its type, default, allowed range or choices
and one line of help; `check` converts a value to its JSON form or raises a
ConfigError that names the field and what is allowed. The pages draw one
widget per spec (ui/widgets.py for augmenters, ui/data.py for datasets).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from genaug_core.errors import ConfigError

PARAM_TYPES = ("int", "float", "bool", "choice", "int_range", "float_range", "text", "path")


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    """One parameter: of an augmenter, or of a built-in dataset."""

    name: str
    type: str  # one of PARAM_TYPES; *_range values are [low, high] pairs; path = a local file or folder
    default: Any
    help: str  # one line, shown under the widget
    min: float | None = None  # smallest allowed value (or range end)
    max: float | None = None  # largest allowed value (or range end)
    choices: tuple[Any, ...] | None = None  # for type "choice"
    step: float | None = None  # slider step; for ints also a rule: (value - min) % step == 0

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f"ParamSpec {self.name!r}: type must be one of {', '.join(PARAM_TYPES)}, got {self.type!r}")
        if self.type == "choice" and not self.choices:
            raise ValueError(f"ParamSpec {self.name!r}: a choice parameter needs choices")
        self.check(self.default, f"default of {self.name}")  # a bad default is a programming error

    def check(self, value: Any, where: str) -> Any:
        """Return `value` converted to its JSON-ready form, or raise ConfigError naming `where`."""
        t = self.type
        if t == "bool":
            if not isinstance(value, bool):
                raise ConfigError(f"{where} must be true or false, got {value!r}")
            return value
        if t == "choice":
            if value not in self.choices:  # type: ignore[operator]
                allowed = ", ".join(repr(c) for c in self.choices or ())
                raise ConfigError(f"{where} = {value!r} is not allowed; choose one of: {allowed}")
            return value
        if t in ("text", "path"):
            if not isinstance(value, str):
                what = "text (a path)" if t == "path" else "text"
                raise ConfigError(f"{where} must be {what}, got {value!r}")
            return value
        if t in ("int", "float"):
            return self._number(value, where, t == "int")
        # ranges: a [low, high] pair of numbers inside [min, max]
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ConfigError(f"{where} must be a [low, high] pair, got {value!r}")
        lo = self._number(value[0], f"{where}[0]", t == "int_range")
        hi = self._number(value[1], f"{where}[1]", t == "int_range")
        if lo > hi:
            raise ConfigError(f"{where} = {list(value)!r}: low must not exceed high")
        return [lo, hi]

    def _number(self, value: Any, where: str, integer: bool) -> int | float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        if integer:
            if isinstance(value, float) and not value.is_integer():
                raise ConfigError(f"{where} must be a whole number, got {value!r}")
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise ConfigError(f"{where} must be a finite number, got {value!r}")
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            lo = "-inf" if self.min is None else f"{self.min:g}"
            hi = "inf" if self.max is None else f"{self.max:g}"
            raise ConfigError(f"{where} = {value!r} is out of range; allowed: {lo} to {hi}")
        if integer and self.step and self.min is not None and (value - self.min) % self.step:
            raise ConfigError(f"{where} = {value!r} is not allowed; use {self.min:g}, {self.min + self.step:g}, ...")
        return value


def check_params(specs: tuple[ParamSpec, ...], values: Any, where: str, owner: str) -> dict[str, Any]:
    """`values` with defaults filled in and each one checked against its spec (errors name `where`.<name>);
    a name no spec has raises ConfigError saying `owner` has no such parameter."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ConfigError(f"{where} must be a table of parameters, got {type(values).__name__}")
    known = [p.name for p in specs]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(
            f"{owner} has no parameter {', '.join(map(repr, unknown))}; known: {', '.join(known) or '(none)'}"
        )
    return {p.name: p.check(values.get(p.name, p.default), f"{where}.{p.name}") for p in specs}
