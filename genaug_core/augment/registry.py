"""The augmenter registry: one entry per augmenter, each with a parameter spec.

An entry (`AugmenterSpec`) says what the augmenter is (name, image or text,
category, the library class it wraps, one line of help), which parameters it
takes (`ParamSpec`: name, type, default, range, one line of help), one example
parameter set the tests run it with, and a `build` function that turns checked
parameters into the real library object. The Augment page draws one widget per
`ParamSpec` (ui/widgets.py), so adding an augmenter is one decorated function
in image.py or text.py and no page edit (catalog.py imports both modules, so
every entry is registered for whoever asks `catalog.list_augmenters()`):

    @augmenter("horizontal_flip", kind="image", category="geometry",
               library="albumentations.HorizontalFlip", help="mirror left-right", example={})
    def horizontal_flip(params, height, width):
        import albumentations as A
        return A.HorizontalFlip()

Non-leaking image augmenters (Karras et al. 2022, EDM's "augmentation pipe")
also declare a describing vector: `vector` names its components and
`describe(drawn, params, height, width)` computes them from the parameters
albumentations drew when the step ran. A diffusion model conditioned on that
vector learns the augmented images as their own distribution, and sampling
with a zero vector ("no augmentation") gives the clean one. An entry without a
vector (noise, blur, dropout, warps with a random field) leaks into samples.

This module holds only the registry (the dict, the decorator, the spec class)
and imports no entry module and no augmentation library: the entry modules
import it, and catalog.py imports them (no import cycle). The builders import
their library when first called, so listing the augmenters is cheap.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from genaug_core.params import PARAM_TYPES, ParamSpec, check_params
from genaug_core.registry import Registry

__all__ = [  # ParamSpec and PARAM_TYPES live in genaug_core.params; augmenter modules import them from here
    "AUGMENTERS", "KINDS", "PARAM_TYPES", "AugmenterSpec", "Describe", "ParamSpec", "augmenter",
]  # fmt: skip

KINDS = ("image", "text")

# describe(drawn, params, height, width) -> one float per vector component. drawn: what albumentations
# drew for the step (its leaves' `params`, merged), only asked when the step ran; params: the step's checked
# parameters; height, width: the size the transform saw (after any padding of tiny images)
Describe = Callable[[dict[str, Any], dict[str, Any], int, int], Sequence[float]]


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
    # images: names of the describing vector's components ("dx", "dy"); empty = it leaks into samples
    vector: tuple[str, ...] = ()
    # images: the vector of one application (see Describe); None exactly when `vector` is empty
    describe: Describe | None = None

    @property
    def non_leaking(self) -> bool:
        """Does a describing vector say what this augmenter did (so a conditioned model need not copy it)?"""
        return bool(self.vector)

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
    vector: tuple[str, ...] = (),
    describe: Describe | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator that registers `build` as augmenter `name` (see the module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"augmenter {name!r}: kind must be image or text, got {kind!r}")
    if bool(vector) != (describe is not None) or (vector and kind != "image"):
        raise ValueError(f"augmenter {name!r}: vector and describe go together, and only on image augmenters")

    def wrap(build: Callable[..., Any]) -> Callable[..., Any]:
        AUGMENTERS.add(
            name,
            AugmenterSpec(name, kind, category, library, help, tuple(params), example, build, needs_rgb, min_size,
                          requires, tuple(vector), describe),
        )
        return build

    return wrap
