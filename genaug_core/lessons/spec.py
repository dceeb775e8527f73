"""What a lesson is, as data, and the registry the lessons are entered in.

A lesson (`Lesson`) makes one published effect checkable on a laptop CPU: what was published and
where, the settings it trains (each a name and a config-override dict applied to the lesson's base
RunConfig), how many seeds, a full and a quick size (`Sizes`), and the claim as data: comparisons of
measured metrics that must all hold (AND):

    Compare("val_bpc", "lower", a="char edits", b="none")          # mean of a < mean of b
    Compare("val_bpc_change", "higher", a="replace", b=0.0)        # against a fixed number: "rises"
    Compare("val_loss", "lower", a=("L2 λ=0.01", "L2 λ=0.1"), b="early stopped")  # the best of several
    InteriorOptimum("val_loss", "lower", sweep=("none", "λ=0.01", "λ=0.1", "λ=1"))  # an interior value
                                                                   # beats both ends of the sweep

A `Derived` row is measured on another setting's runs (the unregularised run stopped early at its best
validation record) and can take part in the claim like a setting.

    @lesson("text-augmentation", title=..., settings=(...), claim=(...), ...)
    def text_augmentation() -> RunConfig:    # the base config every setting overrides
        ...

    LESSONS.get("text-augmentatio")          # RegistryError: unknown lesson ...; known: ...

Specs are checked when they are made (`__post_init__`): a claim that names a missing setting, a sweep
of fewer than three settings or a bad size raises ConfigError naming the lesson and the field. The
entries live in catalog.py; planning the runs in plan.py; the verdict in verdict.py. Nothing here
imports torch, and nothing here trains.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any, Literal

from genaug_core.config import RunConfig, check_choice, check_range
from genaug_core.errors import ConfigError
from genaug_core.registry import Registry

BETTER = ("lower", "higher")
MAX_SEEDS = 10
_ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclasses.dataclass(frozen=True)
class Setting:
    """One arm of a lesson: the base config with some sections changed."""

    # shown in tables, plots and run names; unique in the lesson, up to 60 characters
    name: str
    # nested RunConfig sections merged into the base, e.g. {"augment": {"pipeline": {...}, "p": 0.5}};
    # a dataset's params and a pipeline are replaced whole (genaug_core.config.merge_settings)
    overrides: dict[str, Any] = dataclasses.field(default_factory=dict)
    # one line: what this arm changes
    help: str = ""


@dataclasses.dataclass(frozen=True)
class Derived:
    """A row measured on another setting's runs, e.g. the unregularised run stopped early at its best."""

    # the row's name in tables and claims, unique among settings and derived rows
    name: str
    # the setting whose runs it reads
    of: str
    # row metric -> the run metric it takes, e.g. {"val_loss": "best_val_loss"} (see verdict.run_metrics)
    metrics: dict[str, str]
    # one line: how it is measured
    help: str = ""


@dataclasses.dataclass(frozen=True)
class Compare:
    """The mean of `a` beats the mean of `b` on `metric`: a < b when better = "lower", a > b when "higher"."""

    # a run metric: an evaluation.json key ("val_bpc", "fd"), or one verdict.run_metrics derives
    # ("best_val_loss", "val_bpc_change")
    metric: str
    # which way is better: "lower" or "higher"
    better: Literal["lower", "higher"]
    # a setting or derived row; or several, of which the best by mean is compared
    a: str | tuple[str, ...]
    # a setting or derived row, or a fixed number (e.g. 0.0 for "rises above zero")
    b: str | float
    # how the reason names `a` when it is several rows, e.g. "the best regularised run"
    a_label: str = ""

    @property
    def rows(self) -> tuple[str, ...]:
        a = self.a if isinstance(self.a, tuple) else (self.a,)
        return a + ((self.b,) if isinstance(self.b, str) else ())


@dataclasses.dataclass(frozen=True)
class InteriorOptimum:
    """Along a sweep (weakest first), the best interior setting beats both the first and the last one."""

    # the run metric, as in Compare
    metric: str
    # which way is better: "lower" or "higher"
    better: Literal["lower", "higher"]
    # at least three settings or derived rows, in order of strength; the first is usually "off"
    sweep: tuple[str, ...]

    @property
    def rows(self) -> tuple[str, ...]:
        return self.sweep


Claim = Compare | InteriorOptimum


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How big each run of a lesson is: full (minutes, the page's default) or quick (seconds, tests)."""

    # optimizer steps of a run (self-training: of each round), 1-100,000
    steps: int
    # data.max_train_items of every run: a seeded subset of the training part (0 = all of it);
    # the validation part stays whole, so every run is scored on the same held-out real items
    max_train_items: int
    # samples drawn and scored into evaluation.json when a run ends, 0-10,000
    eval_samples: int
    # a validation record every N steps (0 = only at the end); early stopping reads them
    eval_every: int = 0
    # self-training rounds (0 = plain training runs), 0-10
    rounds: int = 0
    # self-training: samples drawn from each round's model (0 = keep the base's)
    synthetic_per_round: int = 0
    # anything else this size changes, as nested RunConfig sections (e.g. a smaller model for quick)
    overrides: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        check_range("Sizes", "steps", self.steps, 1, 100_000)
        check_range("Sizes", "max_train_items", self.max_train_items, 0, 10_000_000)
        check_range("Sizes", "eval_samples", self.eval_samples, 0, 10_000)
        check_range("Sizes", "eval_every", self.eval_every, 0, 100_000)
        check_range("Sizes", "rounds", self.rounds, 0, 10)
        if self.synthetic_per_round:
            check_range("Sizes", "synthetic_per_round", self.synthetic_per_round, 16, 100_000)


@dataclasses.dataclass(frozen=True)
class Lesson:
    """One registered lesson (see the module docstring)."""

    # registry key, kebab-case: "text-augmentation"
    id: str
    # one line for the picker
    title: str
    # what was published, in plain words (a few sentences; shown as plain text)
    published: str
    # where: authors, title, venue, year (plain text)
    reference: str
    # the claim in words, exactly what `claim` checks
    claim_text: str
    # the decorated function: the RunConfig every setting starts from
    base: Callable[[], RunConfig]
    # the arms, in the order tables and plots show them
    settings: tuple[Setting, ...]
    # the claim as data: every item must hold
    claim: tuple[Claim, ...]
    # the metrics of the verdict table and plots (the claim's metrics are added)
    metrics: tuple[str, ...]
    # full size (the page's default; all seeds together fit in about 10 minutes on 2 cores) and quick size
    full: Sizes
    quick: Sizes
    # seeds per setting: full runs / quick runs, 1-10
    seeds: int = 3
    quick_seeds: int = 1
    # rows measured on other settings' runs (early stopping)
    derived: tuple[Derived, ...] = ()
    # optional datasets to choose from: label -> DataConfig overrides (the first is the default); empty = fixed
    datasets: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    # caveats shown with the verdict (plain text)
    notes: str = ""

    def __post_init__(self) -> None:
        where = f"lesson {self.id!r}"
        if not _ID_RE.match(self.id or ""):
            raise ConfigError(f"{where}: the id must be kebab-case (a-z, 0-9 and single dashes)")
        for field in ("title", "published", "reference", "claim_text"):
            if not str(getattr(self, field)).strip():
                raise ConfigError(f"{where}: {field} is empty")
        if not self.settings:
            raise ConfigError(f"{where}: needs at least one setting")
        names = [s.name for s in self.settings] + [d.name for d in self.derived]
        for name in names:
            if not name.strip() or len(name) > 60 or name != name.strip():
                raise ConfigError(f"{where}: row name {name!r} must be 1 to 60 characters without surrounding spaces")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"{where}: row names must be unique; repeated: {', '.join(dupes)}")
        settings = {s.name for s in self.settings}
        for d in self.derived:
            if d.of not in settings:
                raise ConfigError(f"{where}: derived row {d.name!r} reads setting {d.of!r}; known: {', '.join(settings)}")
            if not d.metrics:
                raise ConfigError(f"{where}: derived row {d.name!r} has no metrics")
        if not self.claim:
            raise ConfigError(f"{where}: the claim is empty; a lesson checks at least one comparison")
        for i, item in enumerate(self.claim):
            _check_claim(item, f"{where}: claim[{i}]", names)
        if not self.metrics:
            raise ConfigError(f"{where}: metrics is empty")
        check_range(where, "seeds", self.seeds, 1, MAX_SEEDS)
        check_range(where, "quick_seeds", self.quick_seeds, 1, MAX_SEEDS)
        if (self.full.rounds > 0) != (self.quick.rounds > 0):
            raise ConfigError(f"{where}: full and quick sizes must both self-train (rounds > 0) or both not")

    @property
    def rows(self) -> list[str]:
        """Settings then derived rows, in table order."""
        return [s.name for s in self.settings] + [d.name for d in self.derived]

    @property
    def report_metrics(self) -> list[str]:
        """The table's metrics: `metrics`, then any claim metric not among them."""
        out = list(self.metrics)
        out += [m for m in dict.fromkeys(c.metric for c in self.claim) if m not in out]
        return out

    def setting(self, name: str) -> Setting:
        for s in self.settings:
            if s.name == name:
                return s
        raise ConfigError(f"lesson {self.id!r} has no setting {name!r}; known: {', '.join(self.rows)}")


def _check_claim(item: Any, where: str, names: list[str]) -> None:
    if not isinstance(item, (Compare, InteriorOptimum)):
        raise ConfigError(f"{where} must be a Compare or an InteriorOptimum, got {type(item).__name__}")
    check_choice(where, "better", item.better, BETTER)
    if not item.metric.strip():
        raise ConfigError(f"{where}: metric is empty")
    if isinstance(item, InteriorOptimum) and (len(item.sweep) < 3 or len(set(item.sweep)) != len(item.sweep)):
        raise ConfigError(f"{where}: a sweep needs at least 3 different rows, got {len(item.sweep)}")
    if isinstance(item, Compare) and isinstance(item.b, bool):
        raise ConfigError(f"{where}: b must be a row name or a number, got {item.b!r}")
    unknown = [r for r in item.rows if r not in names]
    if unknown:
        raise ConfigError(f"{where} names unknown row(s) {', '.join(map(repr, unknown))}; known: {', '.join(names)}")


LESSONS: Registry[Lesson] = Registry("lesson")


def lesson(id: str, **fields: Any) -> Callable[[Callable[[], RunConfig]], Callable[[], RunConfig]]:
    """Decorator: register a Lesson whose base config the decorated function builds (fields: see Lesson)."""

    def wrap(base: Callable[[], RunConfig]) -> Callable[[], RunConfig]:
        LESSONS.add(id, Lesson(id=id, base=base, **fields))
        return base

    return wrap
