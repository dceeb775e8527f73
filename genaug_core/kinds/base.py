"""What a model kind is, the registry of kinds, and loading a run's model by its kind.

A model kind is one registered object (the timm `register_model` pattern, like the augmenter
registry): the data it takes, its config section and presets, its Task for the training loop,
how it saves, loads and samples, how self-training sampling and filters work for it, and its
headline metrics. Everything outside the kind modules asks the run's kind instead of asking
"text or image?":

    kind = kinds.for_run_config(cfg, data_kind)   # "auto" -> the default kind of that data
    task = kind.make_task(cfg, ds, device, rank, resume_dir)
    loaded = kinds.load_run_model(run_dir)         # LoadedModel; loaded.sample(n=16, seed=0)

Adding a kind is one new module that subclasses TextKind or ImageKind (families.py: what
all kinds of one data type share, such as how samples are scored) and calls `register_kind`,
plus its import line in genaug_core/kinds/__init__.py. Its tests come from the registry walk
in tests/test_kinds.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import threading
import time
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from genaug_core import runs
from genaug_core.errors import ConfigError, GenAugError, RunError
from genaug_core.registry import Registry

META_FILE = "genaug.json"  # written by every kind beside its save_pretrained files: {"kind": ..., "model_kind": ...}


class ModelKind:
    """Base of every model kind; a subclass fills the fields and the methods below."""

    name: str = ""  # registry key, recorded in run folders and genaug.json (e.g. "gpt2")
    title: str = ""  # shown in the app (e.g. "GPT-2 (transformers)")
    data: str = ""  # the dataset kind it trains on: "text" or "image"
    default_for_data: bool = False  # the kind that model.kind = "auto" picks for its data
    section: str = ""  # its settings table in a run config, [model.<section>] (GPT-2's is "text", DDPM's "image")
    settings: type = type(None)  # the frozen dataclass of that table
    unit: str = ""  # what the training speed counts: "tokens" or "images"
    noise_target: str = ""  # where the L1/L2-ball input noise goes: "embeddings" or "pixels"
    lr: float = 1e-3  # the "auto" peak learning rate
    batch_size: int = 64  # the "auto" batch size
    bf16_autocast: bool = False  # does bf16 autocast speed it up where the hardware has native bf16?
    # train.compile = "auto" compiles a run planned for more steps than this, per resolved precision ("no" =
    # fp32, "bf16"; a precision not listed: never): the step count at which compiling's cost is won back by
    # faster steps, measured on CPU cores by bench/compile.py
    compile_break_even: dict[str, int] = {}
    augment_conditioning: bool = False  # can it be told what augmentation did (augment.non_leaking)?
    augment_p: float = 0.5  # the share of training items augmented that the pages start from
    val_metric: str = "loss"  # the validation-curve metric shown first ("bpc" or "loss")
    headline: tuple[str, str] = ("val_loss", "")  # (held-out quality, diversity) of collapse curves and lessons
    metrics: tuple = ()  # (metric, label, higher is better or None) of its evaluation.json, for tables and charts
    better: dict[str, str] = {}  # metric -> "lower" or "higher", for verdicts
    sample_count: int = 16  # how many the Sample page draws by default
    sample_options: tuple = ()  # ParamSpecs of sample()'s options: the Sample page draws one widget each
    self_train_options: tuple = ()  # ParamSpecs of the SelfTrainConfig fields that apply to this kind

    # --- settings ------------------------------------------------------------------------
    def presets(self) -> tuple[str, ...]:
        """The preset names of its settings' `preset` field (its Literal choices), in order."""
        hint = typing.get_type_hints(self.settings).get("preset")
        return tuple(typing.get_args(hint)) if hint is not None else ()

    def settings_of(self, cfg) -> Any:
        """This kind's section of a RunConfig (cfg.model.<section>)."""
        return getattr(cfg.model, self.section)

    def check_noise_target(self, cfg) -> None:
        """RegularizationConfig.noise_target must be auto or where this kind puts its input noise."""
        target = cfg.regularization.noise_target
        if target not in ("auto", self.noise_target) and cfg.regularization.noise_eps > 0:
            raise ConfigError(
                f"RegularizationConfig.noise_target = {target!r} does not fit {self.data} data; "
                f"use 'auto' or {self.noise_target!r}"
            )

    # --- training, saving, loading, sampling (each kind implements these) -------------------
    def make_task(self, cfg, ds, device, rank: int, resume_dir: Path | None):
        """The loop's Task: .model, .loss(model, step), .evaluate(model), .write_samples(...),
        .save(model, folder), .describe(), .train_record(loss) (see genaug_core/train/loop.py)."""
        raise NotImplementedError

    def load(self, model_dir: Path) -> tuple[Any, dict[str, Any], dict[str, Any]]:
        """(model in eval mode, extras for sampling such as a tokenizer, genaug meta) from a saved folder."""
        raise NotImplementedError

    def sample(self, loaded: LoadedModel, n: int, seed: int, **options: Any):
        """n samples (list[str] for text, uint8 (n, H, W, C) for images)."""
        raise NotImplementedError

    def default_for(self, size: int) -> bool:
        """Is this the kind model.kind = "auto" picks for its data at this image side (0 = unknown or text)?"""
        return self.default_for_data

    def sample_bytes(self, loaded: LoadedModel, n: int) -> int:
        """About how many bytes drawing n samples allocates at its peak (0: small enough not to ask)."""
        return 0

    def sample_defaults(self, loaded: LoadedModel) -> dict[str, Any]:
        """The sample options' defaults for this saved model (default: the specs' own)."""
        return {}

    def class_names(self, loaded: LoadedModel) -> list[str]:
        """The classes a conditional model can be asked for ([] = unconditional)."""
        return []


KINDS: Registry[ModelKind] = Registry("model kind")


def register_kind(cls: type[ModelKind]) -> type[ModelKind]:
    """Class decorator: register one instance of a ModelKind subclass under its `name`."""
    KINDS.add(cls.name, cls())
    return cls


def get_kind(name: str) -> ModelKind:
    return KINDS.get(name)


def kinds_for(data: str, size: int = 0) -> list[ModelKind]:
    """The kinds that train on this data kind ("text" or "image"), the default first.

    size: the image side after preprocessing (0 = unknown, or text); the default for images depends on it
    (pixel-space DDPM up to 16 pixels, latent diffusion above: kinds/ldm.py).
    """
    found = [k for _, k in KINDS.items() if k.data == data]
    return sorted(found, key=lambda k: not k.default_for(size))


def kinds_for_dataset(ds) -> list[ModelKind]:
    """kinds_for a loaded (preprocessed) Dataset: its data kind and, for images, its side."""
    return kinds_for(ds.kind, ds.height if ds.kind == "image" else 0)


def resolve(name: str, data: str, size: int = 0) -> ModelKind:
    """ModelConfig.kind for data of this kind: "auto" = the default kind (for images of this side, 0 =
    unknown); a named kind must fit the data."""
    if name == "auto":
        found = kinds_for(data, size)
        if not found:
            raise ConfigError(f"no model kind trains on {data!r} data; known kinds: {', '.join(KINDS.names())}")
        return found[0]
    kind = KINDS.get(name)
    if kind.data != data:
        fitting = ", ".join(k.name for k in kinds_for(data)) or "none"
        raise ConfigError(
            f"model.kind = {name!r} trains on {kind.data} data, but this dataset is {data}; for {data} use: {fitting}"
        )
    return kind


def for_run_config(cfg, data: str, size: int = 0) -> ModelKind:
    """The kind a RunConfig trains, for a dataset of kind `data` (images: of side `size`, 0 = unknown)."""
    return resolve(cfg.model.kind, data, size)


def for_run(run_dir: str | Path) -> ModelKind | None:
    """The kind a run folder trains (status.json's model_kind, else its data kind's default), or None."""
    status = runs.read_status(run_dir)
    name, data = status.get("model_kind"), status.get("kind")
    if isinstance(name, str) and name in KINDS:
        return KINDS.get(name)
    if isinstance(data, str) and kinds_for(data):
        return kinds_for(data)[0]
    return None


# --- a run's model, loaded to sample -----------------------------------------------------------


@dataclasses.dataclass
class LoadedModel:
    """A run's model ready to sample, and the kind that knows how."""

    model_kind: ModelKind
    source: Path  # the folder it was loaded from
    step: int | None  # the checkpoint's step, or None for the final model
    model: Any
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)  # e.g. tokenizer, scheduler_config
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)  # genaug.json
    ema: bool = False  # a checkpoint's EMA (averaged) weights were loaded
    total: int | None = None  # the run's planned steps, as the checkpoint recorded them

    @property
    def weights(self) -> str:
        """Which weights these are, for the pages: "step 1,200 of 3,000, EMA weights" or "the final model"."""
        if self.step is None:
            return "the final model"
        of = f" of {self.total:,}" if self.total else ""
        return f"step {self.step:,}{of}, {'EMA' if self.ema else 'training'} weights"

    @property
    def kind(self) -> str:
        """The data kind of the samples: "text" or "image"."""
        return self.model_kind.data

    @property
    def tokenizer(self):
        return self.extras.get("tokenizer")

    @property
    def scheduler_config(self) -> dict[str, Any] | None:
        return self.extras.get("scheduler_config")

    def sample(self, n: int = 16, seed: int = 0, **options: Any):
        """Text: list[str]; images: uint8 (n, H, W, C). Options are the kind's (see its sample method)."""
        return self.model_kind.sample(self, n=n, seed=seed, **options)


def read_meta(model_dir: Path) -> dict[str, Any]:
    try:
        meta = json.loads((model_dir / META_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        raise RunError(f"{model_dir}: {META_FILE} is missing or unreadable") from None
    if not isinstance(meta, dict):
        raise RunError(f"{model_dir}: {META_FILE} is not a table")
    return meta


def kind_of_meta(meta: dict[str, Any], where: Path) -> ModelKind:
    """The kind that saved a model folder: genaug.json's model_kind, else (older runs) its data kind's default."""
    name = meta.get("model_kind")
    if isinstance(name, str) and name in KINDS:
        return KINDS.get(name)
    data = meta.get("kind")
    if isinstance(data, str) and kinds_for(data):
        return kinds_for(data)[0]
    raise RunError(f"{where}: {META_FILE} names no known model kind (known: {', '.join(KINDS.names())})")


LOAD_ATTEMPTS = 5  # checkpoints pruned by the training loop while we link them: pick the newest again


def load_run_model(run_dir: str | Path, checkpoint: int | str | None = None) -> LoadedModel:
    """Load a run's model for sampling; safe while the run is still training.

    checkpoint: None = the final model/ if complete, else the newest complete
    checkpoint; "final" = model/ only; "latest" = the newest complete
    checkpoint; an int (or "checkpoint-<step>") = that checkpoint.
    With EMA on, a checkpoint's averaged weights are used, as in the final model.

    A running loop writes checkpoints as .tmp- folders renamed when complete
    (runs.atomic_dir), so a half-written one is never picked, and then deletes
    the oldest (train.keep_checkpoints). A checkpoint is therefore read from
    hard links of its files (stable_checkpoint), which outlive the
    pruning; when it is pruned before it could be linked, the newest complete
    one is picked again (None / "latest"), or a RunError names the step.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such run folder")
    for attempt in range(LOAD_ATTEMPTS):
        folder, step = runs.pick_model_folder(run_dir, checkpoint)
        if step is None:  # the final model/: written once at the end, never pruned
            return _load_folder(folder, folder, None)
        try:
            with stable_checkpoint(folder) as stable:
                return _load_folder(stable, folder, step)
        except FileNotFoundError:
            if checkpoint not in (None, "latest"):
                raise RunError(
                    f"{run_dir}: checkpoint-{step} was removed while it was being loaded (the run keeps only its "
                    "newest checkpoints); choose a newer one"
                ) from None
            if attempt == LOAD_ATTEMPTS - 1:
                raise RunError(f"{run_dir}: its checkpoints changed too fast to be read; try again") from None
    raise AssertionError("unreachable")


@contextlib.contextmanager
def stable_checkpoint(folder: str | Path) -> Iterator[Path]:
    """Yield a private, complete copy of checkpoint-<step>/ that nobody else deletes; removed afterwards.

    The files are hard-linked (no data copied; a plain copy where the file system has no hard links)
    into a .tmp-read- folder beside it, so a reader is unaffected when the training loop prunes the
    original mid-load: the linked files stay readable. Raises FileNotFoundError when the folder went
    away (or lost files) while being linked: the caller picks the newest checkpoint again.
    """
    folder = Path(folder)
    dest = folder.with_name(f"{runs.READ_PREFIX}{folder.name}-{os.getpid()}-{threading.get_ident()}-{time.time_ns()}")
    try:
        for src in sorted(folder.rglob("*")):
            target = dest / src.relative_to(folder)
            if src.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, target)
            except FileNotFoundError:
                raise
            except OSError:  # no hard links here (EXDEV, EPERM, EMLINK, ...): copy
                shutil.copy2(src, target)
        problem = runs.check_checkpoint(dest) if dest.is_dir() else f"{folder.name} is gone"
        if problem:
            raise FileNotFoundError(f"{folder.name} changed while it was read: {problem}")
        yield dest
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def _load_folder(folder: Path, shown: Path, step: int | None) -> LoadedModel:
    """The model saved in folder/model/ (+ a checkpoint's EMA weights and state.json's total steps);
    `shown` is the folder that errors and LoadedModel.source name (folder may be a private copy)."""
    model_dir, shown_dir = folder / runs.MODEL_DIR, shown / runs.MODEL_DIR
    kind = kind_of_meta(read_meta(model_dir), shown_dir)
    try:
        model, extras, meta = kind.load(model_dir)
        loaded = LoadedModel(kind, shown_dir, step, model, extras=extras, meta=meta)
        if step is not None:
            ema = folder / "ema.safetensors"
            total = json.loads((folder / "state.json").read_text(encoding="utf-8")).get("total")
            loaded.total = int(total) if isinstance(total, int) else None
            if ema.exists():
                from safetensors.torch import load_file

                loaded.model.load_state_dict(load_file(ema), strict=False)
                loaded.ema = True
    except GenAugError:
        raise
    except Exception as exc:  # a damaged file: say which run and why, not a traceback
        raise RunError(f"{shown_dir}: cannot load the model ({type(exc).__name__}: {exc})") from None
    return loaded
