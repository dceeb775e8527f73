"""The machinery every settings class shares: a frozen-dataclass base with dict and TOML round trips,
type checking of each field against its annotation, and range / choice checks whose errors name the field.

    @dataclasses.dataclass(frozen=True)
    class MySettings(Config):
        steps: int = 100  # a comment per field: meaning and safe range
        def __post_init__(self): check_range("MySettings", "steps", self.steps, 1, 1000)

It imports nothing of the project but its errors, so any module (a model kind declaring its
config section, the augmentation pipeline reading a file) can build settings without a cycle;
genaug_core/config.py assembles the run's settings from them.
"""

from __future__ import annotations

import dataclasses
import functools
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


def check_zero_or_range(owner: str, field: str, value: float, lo: float, hi: float) -> None:
    """Raise ConfigError unless value is 0 ("the preset's" / "the data's") or lo <= value <= hi."""
    if value != 0 and not lo <= value <= hi:
        raise ConfigError(f"{owner}.{field} = {value!r} is out of range; allowed: 0 or {lo:g} to {hi:g}")


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
        hints = _type_hints(cls)
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
        return cls.from_toml(read_settings_file(path, "config"), source=str(path))


def read_settings_file(path: str | Path, what: str) -> str:
    """The text of a user's settings file (a config, a pipeline); an unreadable or non-UTF-8 file raises a
    ConfigError that names it and says why."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the {what} is not UTF-8 text") from None


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    """The resolved field annotations of a config class (resolving them costs ~1 ms a class: do it once)."""
    return get_type_hints(cls)


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
