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
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

from genaug_core.errors import ConfigError

C = TypeVar("C", bound="Config")


# --- validation helpers ------------------------------------------------------


def check_range(owner: str, field: str, value: float, lo: float | None = None, hi: float | None = None) -> None:
    """Raise ConfigError unless lo <= value <= hi (either bound may be open)."""
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        lo_s = "-inf" if lo is None else f"{lo:g}"
        hi_s = "inf" if hi is None else f"{hi:g}"
        raise ConfigError(f"{owner}.{field} = {value!r} is out of range; allowed: {lo_s} to {hi_s}")


def check_choice(owner: str, field: str, value: Any, choices: typing.Iterable[Any]) -> None:
    choices = list(choices)
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ConfigError(f"{owner}.{field} = {value!r} is not allowed; choose one of: {allowed}")


# --- the base class ----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Config:
    """Base for all configs: dict and TOML round trips with type checking."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Config):
                value = value.to_dict()
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, dict):
                value = dict(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any] | None) -> C:
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise ConfigError(f"{cls.__name__} must be a table of settings, got {type(data).__name__}")
        hints = get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ConfigError(
                f"{cls.__name__}: unknown setting(s) {', '.join(map(repr, unknown))}; known: {', '.join(fields)}"
            )
        kwargs = {name: _coerce(cls.__name__, name, hints[name], data[name]) for name in fields if name in data}
        return cls(**kwargs)

    def replace(self: C, **changes: Any) -> C:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_toml(self) -> str:
        import tomli_w

        return tomli_w.dumps(_drop_none(self.to_dict()))

    @classmethod
    def from_toml(cls: type[C], text: str, source: str = "config") -> C:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: not valid TOML ({exc})") from None
        return cls.from_dict(data)

    @classmethod
    def load(cls: type[C], path: str | Path) -> C:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read config ({exc.strerror or exc})") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: config is not UTF-8 text") from None
        return cls.from_toml(text, source=str(path))


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value


def _coerce(owner: str, name: str, hint: Any, value: Any) -> Any:
    """Check `value` against the annotation `hint`, converting lists to tuples."""
    where = f"{owner}.{name}"
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = get_args(hint)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(owner, name, arg, value)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if origin is Literal:
        check_choice(owner, name, value, get_args(hint))
        return value
    if isinstance(hint, type) and issubclass(hint, Config):
        return hint.from_dict(value)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        args = get_args(hint)
        item_hint = args[0] if args else Any
        return tuple(_coerce(owner, name, item_hint, v) for v in value)
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table, got {value!r}")
        return dict(value)
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be a whole number, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be text, got {value!r}")
        return value
    return value


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

    def __post_init__(self) -> None:
        if not self.source.strip():
            raise ConfigError("DataConfig.source must name a built-in dataset or a file")
        check_range("DataConfig", "val_fraction", self.val_fraction, 0.05, 0.5)
        check_range("DataConfig", "seed", self.seed, 0, 2**32 - 1)


@dataclasses.dataclass(frozen=True)
class PreprocessConfig(Config):
    """The article's first step: clean, fill and shape the data before training."""

    # what to do with empty or whitespace-only text items: drop them or replace by `fill_value`
    missing: Literal["drop", "fill"] = "drop"
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
