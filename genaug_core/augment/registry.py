"""The augmenter registry: one entry per augmenter, each with a parameter spec.

An entry (`AugmenterSpec`) says what the augmenter is (name, image or text,
category, the library class it wraps, one line of help), which parameters it
takes (`ParamSpec`: name, type, default, range, one line of help), one example
parameter set the tests run it with, and a `build` function that turns checked
parameters into the real library object. The Augment page draws one widget per
`ParamSpec` (ui/widgets.py), so adding an augmenter is one decorated function
in image.py or text.py and no page edit:

    @augmenter("horizontal_flip", kind="image", category="geometry",
               library="albumentations.HorizontalFlip", help="mirror left-right", example={})
    def horizontal_flip(params, height, width):
        import albumentations as A
        return A.HorizontalFlip()

This module imports no augmentation library; the builders import theirs when
first called, so listing the augmenters (for the page or `--help`) is cheap.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from genaug_core.errors import ConfigError
from genaug_core.registry import Registry

PARAM_TYPES = ("int", "float", "bool", "choice", "int_range", "float_range", "text", "path")
KINDS = ("image", "text")


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    """One parameter of an augmenter (the same shape as data.builtin.Param, with ranges)."""

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


@dataclasses.dataclass(frozen=True)
class AugmenterSpec:
    """One registered augmenter: what it is, its parameters, an example, and how to build it."""

    name: str  # registry key, snake_case: "horizontal_flip"
    kind: str  # "image" or "text"
    category: str  # groups the picker: "geometry", "colour", "character", "word", ...
    library: str  # the wrapped class, for the docs and the export: "albumentations.HorizontalFlip"
    help: str  # one line
    params: tuple[ParamSpec, ...]
    example: dict[str, Any] | None  # parameters the registry tests run it with (None = missing: a test fails)
    # image: build(params, height, width) -> albumentations transform (the pipeline sets its p)
    # text:  build(params) -> callable(text, rng) -> text
    build: Callable[..., Any]
    needs_rgb: bool = False  # images: skipped (with a reason) on 1-channel data
    # images: smaller inputs are edge-padded to this size and cropped back (an int, or a function of the params)
    min_size: int | Callable[[dict[str, Any]], int] = 1
    # requires(params) -> None when it can run, else the reason it cannot (a missing model folder)
    requires: Callable[[dict[str, Any]], str | None] | None = None

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def check_params(self, params: Any, where: str | None = None) -> dict[str, Any]:
        """Defaults filled in, every value checked; unknown names or bad values raise ConfigError."""
        where = where or self.name
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise ConfigError(f"{where} must be a table of parameters, got {type(params).__name__}")
        known = {p.name: p for p in self.params}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ConfigError(
                f"{where}: augmenter {self.name!r} has no parameter {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(known) or '(none)'}"
            )
        return {p.name: p.check(params.get(p.name, p.default), f"{where}.{p.name}") for p in self.params}

    def min_side(self, params: dict[str, Any]) -> int:
        """The smallest image side this augmenter handles with `params` (checked params)."""
        return self.min_size(params) if callable(self.min_size) else self.min_size

    def unavailable_reason(self, params: dict[str, Any] | None = None) -> str | None:
        """Why this augmenter cannot run with `params` (None when it can)."""
        if self.requires is None:
            return None
        return self.requires(self.check_params(params or {}))


AUGMENTERS: Registry[AugmenterSpec] = Registry("augmenter")


def augmenter(
    name: str,
    *,
    kind: str,
    category: str,
    library: str,
    help: str,
    params: tuple[ParamSpec, ...] = (),
    example: dict[str, Any] | None = None,
    needs_rgb: bool = False,
    min_size: int | Callable[[dict[str, Any]], int] = 1,
    requires: Callable[[dict[str, Any]], str | None] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator that registers `build` as augmenter `name` (see the module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"augmenter {name!r}: kind must be image or text, got {kind!r}")

    def wrap(build: Callable[..., Any]) -> Callable[..., Any]:
        AUGMENTERS.add(
            name,
            AugmenterSpec(name, kind, category, library, help, tuple(params), example, build, needs_rgb, min_size, requires),
        )
        return build

    return wrap


_loaded = False


def _load_entries() -> None:
    """Import the modules that register entries (cheap: they import their libraries lazily)."""
    global _loaded
    if not _loaded:
        _loaded = True
        from genaug_core.augment import image, text  # noqa: F401


def get_augmenter(name: str) -> AugmenterSpec:
    """The entry called `name`; an unknown name raises RegistryError listing the known ones."""
    _load_entries()
    return AUGMENTERS.get(name)


def list_augmenters(kind: str | None = None) -> list[AugmenterSpec]:
    """All entries (of one kind), in registration order."""
    _load_entries()
    return [spec for _, spec in AUGMENTERS.items() if kind is None or spec.kind == kind]
