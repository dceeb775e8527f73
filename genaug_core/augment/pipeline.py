"""Augmentation pipelines: an ordered list of steps plus a seed, as data.

A `Pipeline` is what the Augment page builds, what is saved as JSON, what the
CLI reads and what training applies to every batch:

    pipe = Pipeline("image", (Step("affine", {"rotate": [-10, 10]}, p=0.5), Step("gauss_noise")), seed=0)
    pipe.to_json()                       # {"kind": "image", "seed": 0, "steps": [...]}
    Pipeline.from_dict(d).apply(images, seed=step_seed)   # (N, H, W, C) uint8 -> same shape, new array
    Pipeline.from_dict(d).apply(["some text", ...])       # list[str] -> list[str]
    images, vectors = pipe.apply_with_vectors(images, seed=step_seed)  # + float32 (N, pipe.augment_dim)

Describing vectors (non-leaking augmentation, Karras et al. 2022): an image
pipeline's vector is its steps' vectors (registry entries' `vector`) one after
another, so its layout (`augment_layout`) and length (`augment_dim`) are fixed
for the pipeline; a step that did not run on an item, or was skipped on
grayscale, writes zeros, and a step with no vector (`leaking_steps`) adds no
components. A model trained on (image, vector) pairs and sampled with a zero
vector produces un-augmented images.

Rules every apply keeps: the input is never modified; the same items and seed
give the same output; a step with probability 0 never runs; images keep their
shape and dtype; grayscale images skip steps that need 3 channels.

The library objects (one albumentations Compose, nlpaug augmenters) are built
once per distinct pipeline and image shape and cached at module level, keyed by
the pipeline's JSON, so a training loop that calls `Pipeline.from_dict(d)` on
every step pays for validation only. Randomness: the Compose's generators are
reset from the seed on every call (one shared stream, so two steps with p=0.5
fire independently). nlpaug draws from the global `random` and NumPy states,
so those are seeded for the call and restored afterwards, under a lock.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import random
import threading
from pathlib import Path
from typing import Any, Literal

import numpy as np

from genaug_core.augment.catalog import get_augmenter, list_augmenters
from genaug_core.augment.registry import AugmenterSpec
from genaug_core.budgets import check_pipeline_steps, max_pipeline_steps
from genaug_core.errors import ConfigError, DataError, RegistryError

MAX_SEED = 2**32 - 1
PIPELINE_KEYS = ("kind", "seed", "steps")
STEP_KEYS = ("augmenter", "params", "p")


def _spec(name: Any, where: str, kind: str | None = None) -> AugmenterSpec:
    if not isinstance(name, str):
        raise ConfigError(f"{where} must be an augmenter name, got {name!r}")
    try:
        spec = get_augmenter(name)
    except RegistryError:
        known = ", ".join(s.name for s in list_augmenters(kind))
        raise ConfigError(
            f"{where} = {name!r} is not a known augmenter; known{f' ({kind})' if kind else ''}: {known}"
        ) from None
    if kind is not None and spec.kind != kind:
        raise ConfigError(f"{where} = {name!r} is a {spec.kind} augmenter; this is a {kind} pipeline")
    return spec


def _check_p(p: Any, where: str) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ConfigError(f"{where} = {p!r} must be a probability between 0 and 1")
    return float(p)


def check_seed(seed: Any, where: str) -> int:
    """A seed as int, or ConfigError: 0 <= seed <= 2**32 - 1 (what NumPy's legacy seeding accepts)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"{where} = {seed!r} must be a whole number from 0 to {MAX_SEED}")
    return int(seed)


@dataclasses.dataclass(frozen=True)
class Step:
    augmenter: str  # registry name, e.g. "affine"
    params: dict[str, Any] = dataclasses.field(default_factory=dict)  # checked, defaults filled in
    p: float = 1.0  # probability the step runs on an item, 0-1

    def __post_init__(self) -> None:
        spec = _spec(self.augmenter, "step augmenter")
        object.__setattr__(self, "params", spec.check_params(self.params, self.augmenter))
        object.__setattr__(self, "p", _check_p(self.p, f"{self.augmenter}.p"))

    def __hash__(self) -> int:  # params is a dict: hash the JSON form
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    @property
    def spec(self) -> AugmenterSpec:
        return get_augmenter(self.augmenter)

    def to_dict(self) -> dict[str, Any]:
        return {"augmenter": self.augmenter, "p": self.p, "params": json.loads(json.dumps(self.params))}


@dataclasses.dataclass(frozen=True)
class Pipeline:
    kind: Literal["image", "text"]
    steps: tuple[Step, ...] = ()
    seed: int = 0  # used when apply() is given no seed

    def __post_init__(self) -> None:
        if self.kind not in ("image", "text"):
            raise ConfigError(f"pipeline.kind = {self.kind!r} is not allowed; choose one of: 'image', 'text'")
        steps = tuple(self.steps)
        check_pipeline_steps(len(steps))  # at most a few dozen ($GENAUG_MAX_PIPELINE_STEPS)
        for i, step in enumerate(steps):
            if not isinstance(step, Step):
                raise ConfigError(f"pipeline.steps[{i}] must be a Step, got {type(step).__name__}")
            _spec(step.augmenter, f"pipeline.steps[{i}].augmenter", self.kind)
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "seed", check_seed(self.seed, "pipeline.seed"))

    def __hash__(self) -> int:
        return hash(self.to_json())

    # --- serialisation -----------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "seed": self.seed, "steps": [s.to_dict() for s in self.steps]}

    @classmethod
    def from_dict(cls, d: Any) -> Pipeline:
        """A pipeline from its dict form; any bad field raises ConfigError naming it."""
        if not isinstance(d, dict):
            raise ConfigError(f"a pipeline must be a JSON object with {', '.join(PIPELINE_KEYS)}; got {type(d).__name__}")
        unknown = sorted(set(d) - set(PIPELINE_KEYS))
        if unknown:
            raise ConfigError(f"pipeline: unknown field(s) {', '.join(map(repr, unknown))}; known: {', '.join(PIPELINE_KEYS)}")
        if "kind" not in d:
            raise ConfigError("pipeline.kind is missing; choose one of: 'image', 'text'")
        kind = d["kind"]
        if kind not in ("image", "text"):
            raise ConfigError(f"pipeline.kind = {kind!r} is not allowed; choose one of: 'image', 'text'")
        raw_steps = d.get("steps", [])
        if not isinstance(raw_steps, list):
            raise ConfigError(f"pipeline.steps must be a list of steps, got {raw_steps!r}")
        steps = []
        for i, raw in enumerate(raw_steps):
            where = f"pipeline.steps[{i}]"
            if not isinstance(raw, dict):
                raise ConfigError(f"{where} must be an object with {', '.join(STEP_KEYS)}; got {raw!r}")
            unknown = sorted(set(raw) - set(STEP_KEYS))
            if unknown:
                raise ConfigError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}; known: {', '.join(STEP_KEYS)}")
            if "augmenter" not in raw:
                raise ConfigError(f"{where}.augmenter is missing")
            spec = _spec(raw["augmenter"], f"{where}.augmenter", kind)
            params = spec.check_params(raw.get("params", {}), f"{where}.params")
            steps.append(Step(spec.name, params, _check_p(raw.get("p", 1.0), f"{where}.p")))
        return cls(kind, tuple(steps), check_seed(d.get("seed", 0), "pipeline.seed"))

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, s: str | bytes, source: str = "pipeline JSON") -> Pipeline:
        try:
            d = json.loads(s)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{source} is not valid JSON ({exc})") from None
        return cls.from_dict(d)

    @classmethod
    def load(cls, path: str | Path) -> Pipeline:
        """A pipeline from a JSON file (the Augment page's download); errors name the file."""
        from genaug_core.settings import read_settings_file

        return cls.from_json(read_settings_file(path, "pipeline"), source=str(path))

    # --- editing (each returns a new pipeline) -------------------------------------

    @property
    def full(self) -> bool:
        """Does the pipeline hold as many steps as a pipeline may (genaug_core.budgets)?"""
        return len(self.steps) >= max_pipeline_steps()

    def add(self, augmenter: str, params: dict[str, Any] | None = None, p: float = 1.0) -> Pipeline:
        return dataclasses.replace(self, steps=(*self.steps, Step(augmenter, params or {}, p)))

    def remove(self, index: int) -> Pipeline:
        self._check_index(index)
        return dataclasses.replace(self, steps=self.steps[:index] + self.steps[index + 1 :])

    def move(self, index: int, offset: int) -> Pipeline:
        """Move step `index` by `offset` places (clamped to the ends)."""
        self._check_index(index)
        steps = list(self.steps)
        step = steps.pop(index)
        steps.insert(min(max(index + offset, 0), len(steps)), step)
        return dataclasses.replace(self, steps=tuple(steps))

    def replace_step(self, index: int, params: dict[str, Any] | None = None, p: float | None = None) -> Pipeline:
        self._check_index(index)
        old = self.steps[index]
        new = Step(old.augmenter, old.params if params is None else params, old.p if p is None else p)
        return dataclasses.replace(self, steps=self.steps[:index] + (new,) + self.steps[index + 1 :])

    def with_seed(self, seed: int) -> Pipeline:
        return dataclasses.replace(self, seed=seed)

    def _check_index(self, index: int) -> None:
        if not 0 <= index < len(self.steps):
            raise ConfigError(f"step index {index} is out of range; the pipeline has {len(self.steps)} step(s)")

    # --- what will not run ------------------------------------------------------------

    def step_notes(self, channels: int | None = None) -> dict[int, str]:
        """Step index -> why it will not run here: unavailable (text) or skipped on grayscale images."""
        notes = {}
        for i, step in enumerate(self.steps):
            spec = step.spec
            reason = spec.unavailable_reason(step.params)
            if reason:
                notes[i] = f"unavailable: {reason}"
            elif spec.needs_rgb and channels is not None and channels != 3:
                notes[i] = f"skipped: needs 3 colour channels (RGB); these images have {channels}"
        return notes

    # --- describing vectors (non-leaking augmentation) -------------------------------------

    @property
    def augment_layout(self) -> tuple[str, ...]:
        """Names of the vector's components, step by step: ("s1.affine.rot_cos-1", ..., "s3.pad_and_crop.dy")."""
        steps = enumerate(self.steps, 1)
        return tuple(f"s{i}.{step.augmenter}.{name}" for i, step in steps for name in step.spec.vector)

    @property
    def augment_dim(self) -> int:
        """D, the length of the vector apply_with_vectors returns per item (0: no step has one)."""
        return sum(len(step.spec.vector) for step in self.steps)

    def vector_rms(self, shape: tuple[int, int, int], n: int = 256, seed: int = 0) -> np.ndarray:
        """(augment_dim,) float32: the root mean square of each component when every step runs, measured on
        n random images of `shape` (H, W, C); 1 for a component that stays 0 there (a step skipped on grayscale,
        a shear range of [0, 0]).

        The components come in their natural units (a 1-pixel shift of an 8x8 digit is 0.125, a 10 degree
        rotation's sine 0.17); a model that divides by this gets each at about unit size, as EDM's labels are.
        """
        forced = Pipeline(self.kind, tuple(dataclasses.replace(s, p=1.0) for s in self.steps), self.seed)
        images = np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)
        rms = np.sqrt(np.mean(np.square(forced.apply_with_vectors(images, seed=seed)[1], dtype=np.float64), axis=0))
        return np.where(rms > 1e-6, rms, 1.0).astype(np.float32)  # never scale rounding noise up

    @property
    def leaking_steps(self) -> tuple[int, ...]:
        """Indices of the steps with no describing vector: what they do can show up in a model's samples."""
        return tuple(i for i, step in enumerate(self.steps) if not step.spec.non_leaking)

    # --- applying ---------------------------------------------------------------------

    @functools.cached_property
    def _key(self) -> str:
        """The steps as canonical JSON: the cache key of the built library objects (seed excluded)."""
        return json.dumps([s.to_dict() for s in self.steps], sort_keys=True)

    def apply(self, items, seed: int | None = None):
        """Augment a batch: uint8 images (N, H, W, C) -> a new array of the same shape; list[str] -> list[str]."""
        return self.apply_with_params(items, seed, record=False)[0]

    def apply_with_params(self, items, seed: int | None = None, record: bool = True):
        """(outputs, drawn): drawn[i] lists, per step, whether it ran on item i and the parameters it drew."""
        seed = self.seed if seed is None else check_seed(seed, "seed")
        if self.kind == "image":
            images = _check_images(items)
            out, drawn, _ = self._plan_for(images).run(images, seed, record=record)
            return out, drawn
        texts = _check_texts(items)
        return _text_plan(self._key).run(texts, seed, record)

    def apply_with_vectors(self, images: np.ndarray, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(augmented uint8 images (N, H, W, C), describing vectors float32 (N, augment_dim)).

        The images are exactly those apply() returns for the same seed; row i of the vectors says what
        the non-leaking steps did to image i (all zeros: none of them ran).
        """
        if self.kind != "image":
            raise ConfigError("describing vectors exist for image pipelines only")
        seed = self.seed if seed is None else check_seed(seed, "seed")
        images = _check_images(images)
        out, _, vectors = self._plan_for(images).run(images, seed, record=False, vectors=True)
        return out, vectors

    def _plan_for(self, images: np.ndarray) -> _ImagePlan:
        """The built albumentations objects for these (checked) images' shape, cached."""
        n, h, w, c = images.shape
        return _image_plan(self._key, h, w, c)


def _check_images(items: Any) -> np.ndarray:
    if not isinstance(items, np.ndarray) or items.dtype != np.uint8 or items.ndim != 4 or items.shape[-1] not in (1, 3):
        shape = getattr(items, "shape", None)
        dtype = getattr(items, "dtype", type(items).__name__)
        raise DataError(f"an image pipeline needs a uint8 array (N, H, W, 1 or 3); got shape {shape}, dtype {dtype}")
    if items.shape[1] == 0 or items.shape[2] == 0:
        raise DataError(f"images must be at least 1x1 pixels; got shape {items.shape}")
    return items


def _check_texts(items: Any) -> list[str]:
    if isinstance(items, str) or not isinstance(items, (list, tuple)):
        raise DataError(f"a text pipeline needs a list of strings; got {type(items).__name__}")
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise DataError(f"a text pipeline needs a list of strings; item {i} is {type(t).__name__}")
    return list(items)


def default_pipeline(kind: str) -> Pipeline:
    """A sensible 5-step starting pipeline (works on grayscale 8x8 digits and on short texts).

    Images: only steps with a describing vector (nothing that leaks when training non-leaking): a small zoom
    and rotation, a one-pixel shift, brightness/contrast and gamma. The mirror step is there but off (p = 0):
    turn it on only for data whose mirror images are real items too (shapes, yes; digits and letters, no).
    """
    if kind == "image":
        return Pipeline("image", (
            Step("affine", {"rotate": [-10.0, 10.0], "scale": [0.9, 1.1], "translate": [0.0, 0.0]}, p=0.5),
            Step("pad_and_crop", {"pad": 1}, p=0.5),
            Step("brightness_contrast", {"brightness": [-0.2, 0.2], "contrast": [-0.2, 0.2]}, p=0.5),
            Step("gamma", {"gamma": [80.0, 120.0]}, p=0.3),
            Step("horizontal_flip", {}, p=0.0),
        ))  # fmt: skip
    if kind == "text":
        return Pipeline("text", (
            Step("keyboard", {"aug_char_p": 0.1, "aug_word_p": 0.1}, p=0.3),
            Step("ocr", {"aug_char_p": 0.1, "aug_word_p": 0.1}, p=0.3),
            Step("char_swap", {"aug_char_p": 0.1, "aug_word_p": 0.1}, p=0.3),
            Step("word_delete", {"aug_p": 0.1}, p=0.2),
            Step("spelling", {"aug_p": 0.1}, p=0.3),
        ))  # fmt: skip
    raise ConfigError(f"kind = {kind!r} is not allowed; choose one of: 'image', 'text'")


# --- the built library objects ----------------------------------------------------------


def _summarise(value: Any) -> Any:
    """A drawn parameter in a form a table can show: rounded numbers, big arrays as their shape."""
    if isinstance(value, dict):
        return {str(k): _summarise(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        if value.size <= 9:  # a 3x3 matrix is still readable
            return _summarise(value.tolist())
        if np.issubdtype(value.dtype, np.number):
            v = value.astype(np.float64)
            return f"array{tuple(value.shape)} mean {v.mean():.3g} std {v.std():.3g}"
        return f"array{tuple(value.shape)}"
    if isinstance(value, (list, tuple)):
        if len(value) > 9:
            return f"{len(value)} values"
        return [_summarise(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return round(float(value), 3)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (int, str, bool)) or value is None:
        return value
    return str(value)


# bookkeeping albumentations keeps beside the drawn values; not worth a column in the preview
_HIDDEN_PARAMS = {"shape", "interpolation", "mask_interpolation", "fill", "fill_mask", "border_mode", "bbox_matrix",
                  "matrix_bbox", "output_shape", "pad_params", "seed"}


def _leaves(transform: Any) -> list[Any]:
    """The transforms that draw parameters: a Compose/Sequential's children, else the transform itself.

    (Only composes count: ColorJitter also has a `transforms` attribute, its four colour functions.)
    """
    from albumentations.core.composition import BaseCompose

    if not isinstance(transform, BaseCompose):
        return [transform]
    return [leaf for child in transform.transforms for leaf in _leaves(child)]


class _ImagePlan:
    """One albumentations Compose for a pipeline at one image shape, plus padding for tiny images."""

    def __init__(self, steps: tuple[Step, ...], h: int, w: int, c: int):
        import albumentations as A

        self.steps = steps
        self.h, self.w = h, w
        self.skipped: dict[int, str] = {}
        active = []
        for i, step in enumerate(steps):
            if step.spec.needs_rgb and c != 3:
                self.skipped[i] = f"needs 3 colour channels (RGB); these images have {c}"
            else:
                active.append((i, step))
        # pad tiny images to the largest min_size of the steps that run, crop back afterwards
        m = max((step.spec.min_side(step.params) for _, step in active), default=1)
        ph, pw = max(h, m), max(w, m)
        self.ph, self.pw = ph, pw  # the size the transforms see (and describe their shifts against)
        # step index -> its slice of the describing vector (skipped steps keep theirs, as zeros)
        self.slices: dict[int, slice] = {}
        start = 0
        for i, step in enumerate(steps):
            self.slices[i] = slice(start, start + len(step.spec.vector))
            start += len(step.spec.vector)
        self.dim = start
        self.pad = ((ph - h) // 2, ph - h - (ph - h) // 2, (pw - w) // 2, pw - w - (pw - w) // 2)
        self.padded = ph != h or pw != w
        self.transforms: list[tuple[int, Any]] = []
        for i, step in active:
            try:
                t = step.spec.build(step.params, ph, pw)
            except (ValueError, TypeError) as exc:
                raise ConfigError(
                    f"step {i + 1} ({step.augmenter}): albumentations rejected the parameters: {exc}"
                ) from None
            t.p = step.p
            self.transforms.append((i, t))
        self.compose = A.Compose([t for _, t in self.transforms], seed=0) if self.transforms else None
        self.lock = threading.Lock()  # the Compose holds random state: one batch at a time

    def run(self, images: np.ndarray, seed: int, record: bool = False,
            vectors: bool = False) -> tuple[np.ndarray, list[list[dict]], np.ndarray | None]:
        """(images, drawn rows per image when record, describing vectors (N, D) when vectors)."""
        n = len(images)
        drawn: list[list[dict]] = []
        vec = np.zeros((n, self.dim), np.float32) if vectors else None
        if self.compose is None:
            if record:
                drawn = [self._drawn() for _ in range(n)]
            return images.copy(), drawn, vec
        out = np.empty_like(images)
        top, bottom, left, right = self.pad
        leaves = [leaf for _, t in self.transforms for leaf in _leaves(t)] if record or vectors else []
        with self.lock:
            self.compose.set_random_state(np.random.default_rng(seed), random.Random(seed))
            for k in range(n):
                img = images[k]
                if self.padded:
                    img = np.pad(img, ((top, bottom), (left, right), (0, 0)), mode="edge")
                for leaf in leaves:  # a step that does not run leaves these empty
                    leaf.params = {}
                res = self.compose(image=img)["image"]
                if res.ndim == 2:  # some OpenCV paths drop a single channel
                    res = res[:, :, None]
                if self.padded:
                    res = res[top : top + self.h, left : left + self.w]
                out[k] = res
                if record:
                    drawn.append(self._drawn())
                if vec is not None:
                    self._describe(vec[k])
        return out, drawn, vec

    def _describe(self, row: np.ndarray) -> None:
        """Fill one item's vector (D,) from what the steps with a vector drew; a step that did not run stays 0."""
        for i, t in self.transforms:
            spec = self.steps[i].spec
            leaves = _leaves(t)
            if not spec.non_leaking or not any(leaf.params for leaf in leaves):
                continue
            drawn: dict[str, Any] = {}
            for leaf in leaves:
                drawn.update(leaf.params)
            values = spec.describe(drawn, self.steps[i].params, self.ph, self.pw)
            if len(values) != len(spec.vector):  # a registry entry's bug, not the user's
                raise RuntimeError(f"{spec.name}: describe gave {len(values)} numbers for {len(spec.vector)} names")
            row[self.slices[i]] = values

    def _drawn(self) -> list[dict]:
        rows = []
        for i, t in self.transforms:
            params: dict[str, Any] = {}
            for leaf in _leaves(t):
                params.update({k: v for k, v in leaf.params.items() if k not in _HIDDEN_PARAMS})
            applied = any(leaf.params for leaf in _leaves(t))
            rows.append({"step": i, "augmenter": self.steps[i].augmenter, "applied": applied,
                         "params": _summarise(params) if applied else {}})
        for i, reason in self.skipped.items():
            rows.append({"step": i, "augmenter": self.steps[i].augmenter, "applied": False, "skipped": reason,
                         "params": {}})
        return sorted(rows, key=lambda r: r["step"])


@functools.lru_cache(maxsize=64)
def _image_plan(key: str, h: int, w: int, c: int) -> _ImagePlan:
    steps = tuple(Step(s["augmenter"], s["params"], s["p"]) for s in json.loads(key))
    return _ImagePlan(steps, h, w, c)


@functools.lru_cache(maxsize=128)
def _text_step(augmenter: str, params_json: str) -> Any:
    """One built text augmenter, cached per step so editing step 3 does not rebuild step 1."""
    spec = get_augmenter(augmenter)
    return spec.build(json.loads(params_json))


# nlpaug draws from the process-wide random states: one seeded batch at a time
_GLOBAL_RANDOM_LOCK = threading.Lock()


def _word_changes(before: str, after: str, limit: int = 6) -> list[str]:
    """What a step changed, word by word: ["quick -> quikc", "- the", "+ very"]."""
    a, b = before.split(), after.split()
    changes = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "replace":
            changes.append(f"{' '.join(a[i1:i2])} -> {' '.join(b[j1:j2])}")
        elif op == "delete":
            changes.append(f"- {' '.join(a[i1:i2])}")
        elif op == "insert":
            changes.append(f"+ {' '.join(b[j1:j2])}")
    if not changes and before != after:
        changes.append("spacing or punctuation")
    return changes[:limit] + ([f"... {len(changes) - limit} more"] if len(changes) > limit else [])


class _TextPlan:
    def __init__(self, steps: tuple[Step, ...]):
        self.steps = steps
        self.fns = []
        for i, step in enumerate(steps):
            reason = step.spec.unavailable_reason(step.params)
            if reason:
                raise ConfigError(f"step {i + 1} ({step.augmenter}) is unavailable: {reason}")
            try:
                fn = _text_step(step.augmenter, json.dumps(step.params, sort_keys=True))
            except (ValueError, TypeError, OSError) as exc:
                raise ConfigError(f"step {i + 1} ({step.augmenter}): cannot build it: {exc}") from None
            self.fns.append(fn)

    def run(self, texts: list[str], seed: int, record: bool) -> tuple[list[str], list[list[dict]]]:
        rng = random.Random(seed)  # draws the step probabilities and feeds our own augmenters
        out: list[str] = []
        drawn: list[list[dict]] = []
        if not self.steps:
            return list(texts), [[] for _ in texts] if record else []
        with _GLOBAL_RANDOM_LOCK:
            py_state, np_state = random.getstate(), np.random.get_state()
            try:
                random.seed(seed)
                np.random.seed(seed)
                for text in texts:
                    rows = []
                    for i, (step, fn) in enumerate(zip(self.steps, self.fns, strict=True)):
                        if rng.random() >= step.p:  # p = 0 never runs, p = 1 always does
                            if record:
                                rows.append({"step": i, "augmenter": step.augmenter, "applied": False, "params": {}})
                            continue
                        new = fn(text, rng)
                        if record:
                            rows.append({"step": i, "augmenter": step.augmenter, "applied": True,
                                         "params": {"changes": _word_changes(text, new)}})
                        text = new
                    out.append(text)
                    if record:
                        drawn.append(rows)
            finally:  # callers' own random streams continue as if we had never run
                random.setstate(py_state)
                np.random.set_state(np_state)
        return out, drawn


@functools.lru_cache(maxsize=64)
def _text_plan(key: str) -> _TextPlan:
    return _TextPlan(tuple(Step(s["augmenter"], s["params"], s["p"]) for s in json.loads(key)))
