"""Typed, validated settings: one frozen dataclass per concern.

Every config is a frozen dataclass with CPU-tiny defaults and a comment per
field giving its meaning and safe range. `__post_init__` rejects bad values
with a ConfigError that names the field and the allowed range, so a wrong TOML
file or widget value fails at once, not half way through a training run.

All configs share `to_dict` / `from_dict` / `to_toml` / `from_toml`
(`from_dict` rejects unknown keys and names the known ones). The full config
of a run is saved in its run folder as JSON.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal

from genaug_core import kinds, runs
from genaug_core.errors import ConfigError, RunError
from genaug_core.settings import Config, check_choice, check_range, check_zero_or_range, read_settings_file  # noqa: F401 - re-exported

# --- data settings -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DataConfig(Config):
    # a built-in dataset name (digits, shapes, names, prose) or a path to a file
    source: str = "digits"
    # keyword arguments for a built-in dataset, e.g. {n = 600, size = 32} for shapes
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    # share of items held out as real validation data, 0.05-0.5
    val_fraction: float = 0.1
    # seed of the train/validation split
    seed: int = 0
    # for .csv/.tsv/.jsonl uploads: the column or field that holds the text ("" = first text column)
    text_column: str = ""
    # for .csv/.tsv/.jsonl uploads: an optional column or field with class labels
    label_column: str = ""
    # train on at most this many items of the training part, a seeded subset (0 = all), 0-10,000,000;
    # the validation part stays whole, so runs with different sizes are scored on the same real data
    max_train_items: int = 0
    # how the user knows the dataset (an upload's file name), shown in the runs table and the log ("" = source)
    name: str = ""
    # the SHA-256 of a staged upload (genaug_core/data/staged.py): source is then read back exactly as staged,
    # with no upload limit applied again, and a changed file is refused ("" = an ordinary path or built-in)
    sha256: str = ""

    def __post_init__(self) -> None:
        if self.sha256 and (len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256)):
            raise ConfigError(f"DataConfig.sha256 must be 64 lowercase hex digits or empty, got {self.sha256[:80]!r}")
        if not self.source.strip():
            raise ConfigError("DataConfig.source must name a built-in dataset or a file")
        check_range("DataConfig", "val_fraction", self.val_fraction, 0.05, 0.5)
        check_range("DataConfig", "seed", self.seed, 0, 2**32 - 1)
        check_range("DataConfig", "max_train_items", self.max_train_items, 0, 10_000_000)


@dataclasses.dataclass(frozen=True)
class PreprocessConfig(Config):
    """The article's first step: clean, fill and shape the data before training."""

    # what to do with empty or whitespace-only text items: drop them, replace them by `fill_value`, or keep
    # them as they are ("keep": what a staged upload's run uses, its data already cleaned on the Data page)
    missing: Literal["drop", "fill", "keep"] = "drop"
    # the text that replaces an empty item when missing = "fill"
    fill_value: str = "<empty>"
    # strip leading/trailing whitespace and collapse runs of spaces in text
    normalize_whitespace: bool = True
    # cut texts longer than this many characters (0 = keep all), 0-100000
    max_chars: int = 0
    # pad shorter texts with `pad_char` up to this many characters (0 = no padding), 0-100000
    pad_to: int = 0
    # the padding character (one character)
    pad_char: str = " "
    # images: target height and width in pixels (0 = keep the dataset's size), 0-512
    image_size: int = 0
    # how an image reaches image_size: resize (may change aspect), crop (centre) or pad (letterbox)
    fit: Literal["resize", "crop", "pad"] = "resize"
    # images: number of channels, 0 = keep, 1 = grayscale, 3 = RGB
    channels: Literal[0, 1, 3] = 0
    # rescale each image so its pixel vector has the dataset's mean L1 or L2 norm ("none" = off)
    feature_norm: Literal["none", "l1", "l2"] = "none"

    def __post_init__(self) -> None:
        check_range("PreprocessConfig", "max_chars", self.max_chars, 0, 100_000)
        check_range("PreprocessConfig", "pad_to", self.pad_to, 0, 100_000)
        check_range("PreprocessConfig", "image_size", self.image_size, 0, 512)
        if len(self.pad_char) != 1:
            raise ConfigError(f"PreprocessConfig.pad_char must be exactly one character, got {self.pad_char!r}")
        if self.max_chars and self.pad_to > self.max_chars:
            raise ConfigError(
                f"PreprocessConfig.pad_to = {self.pad_to} exceeds max_chars = {self.max_chars}; allowed: 0 to max_chars"
            )


# --- models, training and regularization (the training engine) ---------------
#
# A run is described by one RunConfig: what data, how it is cleaned, which
# model, how it is trained, how strongly it is regularized and augmented.
# The model and batch fields use 0 or "auto" for "the preset's / the data
# kind's default", so one TOML file works for text and image data alike.


# The model section: which registered kind trains (genaug_core/kinds/), and one table of
# settings per kind ([model.text] for GPT-2 and [model.image] for DDPM, the names these tables had
# before there were other kinds; [model.char_lstm] ...). The tables come from the kinds' own
# settings classes, so adding a kind adds its table here with no edit.


def _model_config_class() -> type[Config]:
    fields: list[Any] = [("kind", str, dataclasses.field(default="auto"))]
    for _, kind in kinds.KINDS.items():
        fields.append((kind.section, kind.settings, dataclasses.field(default_factory=kind.settings)))

    def __post_init__(self) -> None:
        if self.kind != "auto":
            check_choice("ModelConfig", "kind", self.kind, ["auto", *kinds.KINDS.names()])

    cls = dataclasses.make_dataclass(
        "ModelConfig", fields, bases=(Config,), frozen=True, namespace={"__post_init__": __post_init__}
    )
    cls.__doc__ = (
        "The generative model: `kind` names a registered model kind (auto = the data kind's default: "
        + ", ".join(f"{k.name} for {k.data}" for k in (kinds.kinds_for("text")[:1] + kinds.kinds_for("image")[:1]))
        + "); one settings table per kind."
    )
    cls.__module__ = __name__
    return cls


ModelConfig = _model_config_class()
# the settings classes of the two default kinds, under the names older code and configs know
TextModelConfig = kinds.get_kind("gpt2").settings
ImageModelConfig = kinds.get_kind("ddpm").settings


@dataclasses.dataclass(frozen=True)
class TrainConfig(Config):
    """The optimisation: nanoGPT's knobs (AdamW, warmup + cosine, clipping), logging and checkpoints."""

    # optimizer steps in total (a resumed run continues up to this number), 1-10,000,000
    steps: int = 2000
    # items (images) or token windows (text) per step and process (0 = auto: the model kind's, 12 for GPT-2, 64 for DDPM)
    batch_size: int = 0
    # peak learning rate of AdamW, 1e-6 to 1 (0 = auto: the model kind's; 2e-3 for GPT-2, which reached a
    # given validation loss in ~15% fewer steps than 1e-3 on prose; 1e-3 for DDPM)
    lr: float = 0.0
    # the cosine schedule decays to lr * min_lr_ratio at the last step, 0-1
    min_lr_ratio: float = 0.1
    # steps of linear warmup from 0 to lr (a run shorter than this warms up over all its steps), 0-1,000,000
    warmup_steps: int = 100
    # AdamW's decoupled weight decay on matrices (the article's L2 control is regularization.penalty), 0-1
    weight_decay: float = 0.0
    # AdamW betas, each 0-1 (0.99 suits small batches, as in nanoGPT's character demo)
    beta1: float = 0.9
    beta2: float = 0.99
    # clip the global gradient norm to this (0 = off), 0-100
    grad_clip: float = 1.0
    # exponential moving average of the weights for the saved model (0 = off, typical 0.995-0.9999), 0-1
    ema_decay: float = 0.0
    # warm-up of the EMA's decay: 0 = min(decay, (1+n)/(10+n)); > 0 = diffusers' use_ema_warmup power form
    # min(decay, 1 - (1+n)^-power), e.g. 2/3, which averages over fewer steps early on; 0 or 0.1-1
    ema_power: float = 0.0
    # evaluate on the held-out real validation set every N steps (0 = only at the end)
    eval_every: int = 250
    # batches averaged per evaluation, 1-1000
    eval_batches: int = 20
    # append a train metrics line every N steps, 1-100,000
    log_every: int = 10
    # samples written to samples/ at every evaluation (0 = none), 0-256
    num_samples: int = 16
    # write checkpoint-<step>/ every N steps (0 = only at the end or on cancel)
    checkpoint_every: int = 500
    # also write one when this many seconds of training passed since the last (0 = steps only), 0-86,400:
    # the Sample page samples a running run from its newest checkpoint, so a slow run shows progress early
    checkpoint_every_s: float = 60.0
    # how many checkpoint folders to keep (the newest), 1-100
    keep_checkpoints: int = 2
    # seed of everything random in the run (init, batches, noise, dropout), 0-2^32-1
    seed: int = 1337
    # torch threads of each training process (0 = auto: the usable cores / processes on this machine), 0-256
    threads: int = 0
    # auto uses CUDA or MPS when present; cpu forces the CPU
    device: Literal["auto", "cpu"] = "auto"
    # mixed precision through Accelerate: auto = bf16 autocast for text models where the hardware has
    # native bf16 (AVX512-BF16/AMX CPUs, recent GPUs; measured ~1.25x faster GPT-2 steps), fp32 for
    # image models (bf16 made a small UNet slower); no = fp32; bf16; fp16 (GPUs only)
    mixed_precision: Literal["auto", "no", "bf16", "fp16"] = "auto"
    # torch.compile the model: auto = only when the planned steps exceed the model kind's measured
    # break-even (`compile_break_even`, bench/compile.py: compiling takes tens of seconds and pays back
    # only on long runs); true / false force it on or off
    compile: Literal["auto"] | bool = "auto"
    # samples drawn and scored against held-out real data when training ends, written to
    # evaluation.json (0 = off), 0-10,000; 256 takes seconds to a minute on 2 CPU cores
    eval_samples: int = 256

    def resolved(self, kind) -> TrainConfig:
        """A copy with the "auto" (0) values decided by the model kind (its `lr` and `batch_size`)."""
        return self.replace(lr=self.lr or kind.lr, batch_size=self.batch_size or kind.batch_size)

    def __post_init__(self) -> None:
        check_range("TrainConfig", "steps", self.steps, 1, 10_000_000)
        check_range("TrainConfig", "batch_size", self.batch_size, 0, 65536)
        if self.lr != 0:
            check_range("TrainConfig", "lr", self.lr, 1e-6, 1.0)
        check_range("TrainConfig", "min_lr_ratio", self.min_lr_ratio, 0.0, 1.0)
        check_range("TrainConfig", "warmup_steps", self.warmup_steps, 0, 1_000_000)
        check_range("TrainConfig", "weight_decay", self.weight_decay, 0.0, 1.0)
        check_range("TrainConfig", "beta1", self.beta1, 0.0, 0.9999)
        check_range("TrainConfig", "beta2", self.beta2, 0.0, 0.99999)
        check_range("TrainConfig", "grad_clip", self.grad_clip, 0.0, 100.0)
        check_range("TrainConfig", "ema_decay", self.ema_decay, 0.0, 0.99999)
        check_zero_or_range("TrainConfig", "ema_power", self.ema_power, 0.1, 1.0)
        check_range("TrainConfig", "eval_every", self.eval_every, 0, 10_000_000)
        check_range("TrainConfig", "eval_batches", self.eval_batches, 1, 1000)
        check_range("TrainConfig", "log_every", self.log_every, 1, 100_000)
        check_range("TrainConfig", "num_samples", self.num_samples, 0, 256)
        check_range("TrainConfig", "checkpoint_every", self.checkpoint_every, 0, 10_000_000)
        check_range("TrainConfig", "checkpoint_every_s", self.checkpoint_every_s, 0.0, 86_400.0)
        check_range("TrainConfig", "keep_checkpoints", self.keep_checkpoints, 1, 100)
        check_range("TrainConfig", "seed", self.seed, 0, 2**32 - 1)
        check_range("TrainConfig", "threads", self.threads, 0, 256)
        check_range("TrainConfig", "eval_samples", self.eval_samples, 0, 10_000)


@dataclasses.dataclass(frozen=True)
class RegularizationConfig(Config):
    """The article's "regularization augmentation": L1/L2 weight penalty and norm-bounded input noise."""

    # penalty on the weight matrices added to the loss: lambda * sum|w| (l1) or lambda * sum w^2 (l2)
    penalty: Literal["none", "l1", "l2"] = "none"
    # its strength lambda (0 = off; typical 1e-6 to 1e-3), 0-1
    penalty_lambda: float = 0.0
    # radius of the noise ball added to every training input (0 = off), 0-1000; in model units:
    # pixels scaled to [-1, 1] for images, token embedding coordinates for text
    noise_eps: float = 0.0
    # the norm whose ball the noise is uniform in: l1, l2 or linf (every coordinate within eps)
    noise_norm: Literal["l1", "l2", "linf"] = "l2"
    # what the noise is added to: pixels (images) or embeddings (text); auto = the data's kind
    noise_target: Literal["auto", "pixels", "embeddings"] = "auto"
    # text: treat noise_eps as NEFTune's alpha, radius alpha / sqrt(context * width) (NEFTune uses linf, alpha 5-15)
    neftune: bool = False

    def __post_init__(self) -> None:
        check_range("RegularizationConfig", "penalty_lambda", self.penalty_lambda, 0.0, 1.0)
        check_range("RegularizationConfig", "noise_eps", self.noise_eps, 0.0, 1000.0)


@dataclasses.dataclass(frozen=True)
class AugmentConfig(Config):
    """The augmentation pipeline (genaug_core.augment.pipeline), applied on the fly while training."""

    # the pipeline as saved by the Augment page (Pipeline.to_dict()); empty = no augmentation
    pipeline: dict[str, Any] = dataclasses.field(default_factory=dict)
    # probability that a training item is augmented when it is drawn, 0-1
    p: float = 0.0
    # images: non-leaking augmentation (Karras et al. 2022): the UNet is told what was done to each training
    # image (the pipeline steps' describing vectors; zeros = not augmented) and samples with zeros, so rotated or
    # shifted training images do not turn into rotated or shifted samples. Ignored for text and for pipelines whose
    # steps have no vector; steps without one still leak (the run log lists them)
    non_leaking: bool = True

    def __post_init__(self) -> None:
        check_range("AugmentConfig", "p", self.p, 0.0, 1.0)


@dataclasses.dataclass(frozen=True)
class RunConfig(Config):
    """Everything a training run needs; saved as config.json in the run folder."""

    # a display name for the run list (never used in paths; run ids are generated)
    name: str = ""
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    preprocess: PreprocessConfig = dataclasses.field(default_factory=PreprocessConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)  # type: ignore[valid-type]
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    regularization: RegularizationConfig = dataclasses.field(default_factory=RegularizationConfig)
    augment: AugmentConfig = dataclasses.field(default_factory=AugmentConfig)
    # self-training rounds (rounds = 0: off, a plain training run); SelfTrainConfig is defined below
    self_train: SelfTrainConfig = dataclasses.field(default_factory=lambda: SelfTrainConfig())
    # runs launched together (an ablation) share this id, so the Compare page shows them side by side
    # ("" = none); generated by genaug_core.ablation, up to 100 characters
    group: str = ""

    def __post_init__(self) -> None:
        if len(self.name) > 200:
            raise ConfigError(f"RunConfig.name is {len(self.name)} characters long; allowed: up to 200")
        if len(self.group) > 100:
            raise ConfigError(f"RunConfig.group is {len(self.group)} characters long; allowed: up to 100")


# --- self-training (the article's "unsupervised augmentation") ------------------------


@dataclasses.dataclass(frozen=True)
class SelfTrainConfig(Config):
    """Train, sample, filter, train again on the result, for R rounds (genaug_core.train.selftrain).

    Round 1 trains on the real data. Round k >= 2 trains on what `mode` says, built from the
    filtered samples of earlier rounds. Every round is scored on the same held-out real data.
    """

    # rounds of train -> sample -> filter (0 = off: a plain training run), 0-10; each round trains train.steps steps
    rounds: int = 0
    # synthetic items sampled from each round's model (before filtering), 16-100,000
    synthetic_per_round: int = 1000
    # replace: round k trains on round k-1's filtered samples only (shows model collapse);
    # mix: the real data plus round k-1's samples, at a synthetic share of mix_ratio;
    # accumulate: the real data plus every earlier round's samples (Gerstgrasser et al. 2024: no collapse)
    mode: Literal["replace", "mix", "accumulate"] = "replace"
    # mix only: share of synthetic items in a round's training set, 0.05-0.95
    mix_ratio: float = 0.5
    # start round k from round k-1's weights (false: a fresh model each round, as in Shumailov et al.)
    warm_start: bool = False
    # text: sampling temperature of the synthetic data, 0.05-2 (below 1: likelier, less diverse samples)
    temperature: float = 1.0
    # text: sample only among the k likeliest next tokens (0 = all), 0-1000
    top_k: int = 0
    # images: sampler steps for the synthetic data (0 = model.image.sample_steps), 0-1000
    sample_steps: int = 0
    # --- filters before reuse (each round reports how many items each one dropped) ---
    # drop exact duplicates among a round's samples (the first one is kept)
    drop_duplicates: bool = True
    # drop copies of items the round's model trained on (real or synthetic)
    drop_copies: bool = True
    # text: drop samples shorter than this many characters, 1-100,000 (empty ones are always dropped)
    min_length: int = 1
    # text: drop samples longer than this many characters (0 = the longest real training item), 0-100,000
    max_length: int = 0
    # images: a sample within this RMS pixel distance (0-1) of a training image counts as its copy, 0-0.5
    copy_distance: float = 0.02
    # images: drop a sample when a classifier trained on the real labelled images gives its class
    # (or, unconditional, any class) less than this probability (0 = off; needs labels), 0-1
    min_confidence: float = 0.1
    # optional quality threshold (0 = off), 0-1: drop items whose quality score is below it. Text: the
    # geometric-mean probability per character under a character-bigram model of the real training data;
    # images: the classifier confidence above (a stricter min_confidence)
    quality_threshold: float = 0.0
    # seed of the synthetic samples; round k samples with seed + k, 0-2^32-1
    seed: int = 0

    def __post_init__(self) -> None:
        check_range("SelfTrainConfig", "rounds", self.rounds, 0, 10)
        check_range("SelfTrainConfig", "synthetic_per_round", self.synthetic_per_round, 16, 100_000)
        check_range("SelfTrainConfig", "mix_ratio", self.mix_ratio, 0.05, 0.95)
        check_range("SelfTrainConfig", "temperature", self.temperature, 0.05, 2.0)
        check_range("SelfTrainConfig", "top_k", self.top_k, 0, 1000)
        check_range("SelfTrainConfig", "sample_steps", self.sample_steps, 0, 1000)
        check_range("SelfTrainConfig", "min_length", self.min_length, 1, 100_000)
        check_range("SelfTrainConfig", "max_length", self.max_length, 0, 100_000)
        if self.max_length and self.max_length < self.min_length:
            raise ConfigError(
                f"SelfTrainConfig.max_length = {self.max_length} is below min_length = {self.min_length}; "
                "allowed: 0 or min_length to 100000"
            )
        check_range("SelfTrainConfig", "copy_distance", self.copy_distance, 0.0, 0.5)
        check_range("SelfTrainConfig", "min_confidence", self.min_confidence, 0.0, 1.0)
        check_range("SelfTrainConfig", "quality_threshold", self.quality_threshold, 0.0, 1.0)
        check_range("SelfTrainConfig", "seed", self.seed, 0, 2**32 - 1)


def read_run_config(run_dir: str | Path) -> RunConfig:
    """The RunConfig saved in a run folder; RunError if it is missing or invalid."""
    data = runs.read_config_data(run_dir)
    try:
        return RunConfig.from_dict(data)
    except ConfigError as exc:
        raise RunError(f"{Path(run_dir) / runs.CONFIG_FILE}: invalid config ({exc})") from None


WHOLE_TABLES = ("params", "pipeline")  # free-form tables an override replaces whole (dataset kwargs, a pipeline)


def merge_settings(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`base` (a RunConfig.to_dict()) with `extra`'s settings on top, table by table; the free-form
    tables in WHOLE_TABLES are replaced, not merged, so an override never keeps stale keys of them."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key not in WHOLE_TABLES:
            out[key] = merge_settings(out[key], value)
        else:
            out[key] = value
    return out
