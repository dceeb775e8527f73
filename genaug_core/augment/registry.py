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
from collections.abc import Callable
from typing import Any

from genaug_core.params import PARAM_TYPES, ParamSpec, check_params
from genaug_core.registry import Registry

__all__ = [  # ParamSpec and PARAM_TYPES live in genaug_core.params; augmenter modules import them from here
    "AUGMENTERS", "KINDS", "PARAM_TYPES", "AugmenterSpec", "ParamSpec", "augmenter", "get_augmenter", "list_augmenters",
]  # fmt: skip

KINDS = ("image", "text")


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
        return check_params(self.params, params, where, f"{where}: augmenter {self.name!r}")

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
