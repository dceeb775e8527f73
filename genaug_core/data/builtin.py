"""Built-in datasets: generated or read from installed packages, never downloaded.

- digits: scikit-learn's 1,797 labelled 8x8 handwritten digits (grayscale).
- shapes: procedural RGB images of circles, squares, triangles and crosses,
  labelled by shape, drawn from a seed at the size the user picks.
- names: first names from the 1990 US census (the `names` package, MIT), one
  per line, lower-case: makemore's character-level generation task.
- prose: English sentences or paragraphs from the Python documentation that
  ships with every CPython (`pydoc_data.topics`), code blocks removed.

Each entry declares its parameters as `ParamSpec`s (name, type, default,
range, help; the same class the augmenters use) so the Data page draws
widgets for them and the CLI can validate them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from importlib import resources
from typing import Any

import numpy as np

from genaug_core.data.containers import ImageDataset, TextDataset
from genaug_core.params import ParamSpec, check_params
from genaug_core.registry import Registry


@dataclasses.dataclass(frozen=True)
class BuiltinDataset:
    name: str
    kind: str  # "text" or "image"
    description: str
    params: tuple[ParamSpec, ...]
    load: Callable[..., TextDataset | ImageDataset]


BUILTINS: Registry[BuiltinDataset] = Registry("built-in dataset")


def builtin(name: str, kind: str, description: str, *params: ParamSpec):
    def wrap(fn):
        BUILTINS.add(name, BuiltinDataset(name, kind, description, tuple(params), fn))
        return fn

    return wrap


def validate_params(entry: BuiltinDataset, params: dict[str, Any]) -> dict[str, Any]:
    """Fill defaults and check types and ranges; unknown or bad values raise ConfigError."""
    return check_params(entry.params, params, entry.name, f"dataset {entry.name!r}")


def load_builtin(name: str, val_fraction: float = 0.1, split_seed: int = 0, **params: Any) -> TextDataset | ImageDataset:
    """Load a built-in dataset by name with validated parameters and its train/validation split settings."""
    entry = BUILTINS.get(name)
    ds = entry.load(**validate_params(entry, params))
    ds.val_fraction, ds.seed = val_fraction, split_seed
    return ds


# --- images ------------------------------------------------------------------


@builtin("digits", "image", "1,797 handwritten digits 0-9, 8x8 grayscale (scikit-learn)")
def digits() -> ImageDataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]  # (N, 8, 8, 1)
    return ImageDataset(
        name="digits",
        source="builtin:digits",
        images=images,
        labels=bunch.target.astype(np.int64),
        class_names=[str(i) for i in range(10)],
        meta={"original_sizes": {"8x8": len(images)}, "original_modes": {"L": len(images)}},
    )


SHAPES = ("circle", "square", "triangle", "cross")


@builtin(
    "shapes",
    "image",
    "procedural RGB circles, squares, triangles and crosses on a coloured background, labelled by shape",
    ParamSpec("n", "int", 800, "number of images", 8, 20_000),
    ParamSpec("size", "int", 32, "height and width in pixels", 8, 128),
    ParamSpec("seed", "int", 0, "seed of the generator: the same seed draws the same images", 0, 2**31 - 1),
)
def shapes(n: int = 800, size: int = 32, seed: int = 0) -> ImageDataset:
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    scale = 4  # draw 4x larger and downsample, for smooth edges at small sizes
    big = size * scale
    labels = np.arange(n, dtype=np.int64) % len(SHAPES)
    rng.shuffle(labels)
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    for i, label in enumerate(labels):
        bg = rng.integers(0, 96, 3)  # dark background, bright shape: always visible
        fg = rng.integers(128, 256, 3)
        img = Image.new("RGB", (big, big), tuple(int(v) for v in bg))
        draw = ImageDraw.Draw(img)
        r = rng.uniform(0.22, 0.4) * big  # half the shape's extent
        cx, cy = rng.uniform(r + 1, big - r - 1, 2)
        colour = tuple(int(v) for v in fg)
        kind = SHAPES[label]
        if kind == "circle":
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
        elif kind == "square":
            s = r * 0.85
            draw.rectangle([cx - s, cy - s, cx + s, cy + s], fill=colour)
        elif kind == "triangle":
            draw.polygon([(cx, cy - r), (cx - r, cy + r * 0.8), (cx + r, cy + r * 0.8)], fill=colour)
        else:  # cross
            w = r * 0.3
            draw.rectangle([cx - r, cy - w, cx + r, cy + w], fill=colour)
            draw.rectangle([cx - w, cy - r, cx + w, cy + r], fill=colour)
        images[i] = np.asarray(img.resize((size, size), Image.Resampling.BOX))
    return ImageDataset(
        name="shapes",
        source="builtin:shapes",
        images=images,
        labels=labels,
        class_names=list(SHAPES),
        meta={"original_sizes": {f"{size}x{size}": n}, "original_modes": {"RGB": n}, "generator_seed": seed},
    )


# --- text --------------------------------------------------------------------


@builtin(
    "names",
    "text",
    "first names from the 1990 US census, one per line, lower-case (the names package)",
    ParamSpec("which", "choice", "first", "first names (~5,000) or last names (~89,000)", choices=("first", "last")),
    ParamSpec("max_items", "int", 0, "keep only the most common N names (0 = all)", 0, 100_000),
)
def names(which: str = "first", max_items: int = 0) -> TextDataset:
    files = ("dist.female.first", "dist.male.first") if which == "first" else ("dist.all.last",)
    ranked: dict[str, float] = {}  # name -> frequency (percent), summed over the lists
    for fname in files:
        text = resources.files("names").joinpath(fname).read_text(encoding="ascii")
        for line in text.splitlines():
            parts = line.split()
            if len(parts) >= 2:
                ranked[parts[0].lower()] = ranked.get(parts[0].lower(), 0.0) + float(parts[1])
    ordered = sorted(ranked, key=lambda k: (-ranked[k], k))  # most common first, ties alphabetical
    if max_items:
        ordered = ordered[:max_items]
    return TextDataset(name=f"names-{which}", source=f"builtin:names:{which}", texts=ordered)


def _doc_paragraphs() -> list[str]:
    """Prose paragraphs of the Python docs, without headings, grammar and code blocks."""
    from pydoc_data.topics import topics

    paragraphs: list[str] = []
    for key in sorted(topics):
        for block in re.split(r"\n\s*\n", topics[key]):
            lines = block.splitlines()
            if not lines or any(line.startswith((" ", "\t")) for line in lines):
                continue  # indented: code, grammar or a table
            if len(lines) >= 2 and set(lines[-1].strip()) <= set("*=-~^"):
                continue  # a heading with its underline
            text = " ".join(line.strip() for line in lines)
            if len(text) >= 40 and text[-1] in ".:)" and ">>>" not in text:
                paragraphs.append(text)
    return paragraphs


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


@builtin(
    "prose",
    "text",
    "English sentences or paragraphs from the Python documentation (ships with CPython)",
    ParamSpec("unit", "choice", "sentence", "one sentence or one paragraph per item", choices=("sentence", "paragraph")),
    ParamSpec("max_chars", "int", 400, "leave out items longer than this", 40, 5_000),
)
def prose(unit: str = "sentence", max_chars: int = 400) -> TextDataset:
    items = _doc_paragraphs()
    if unit == "sentence":
        items = [s.strip() for p in items for s in _SENTENCE_END.split(p)]
        items = [s for s in items if len(s) >= 20]
    seen: set[str] = set()
    unique = [t for t in items if len(t) <= max_chars and not (t in seen or seen.add(t))]
    return TextDataset(name=f"prose-{unit}s", source=f"builtin:prose:{unit}", texts=unique)
