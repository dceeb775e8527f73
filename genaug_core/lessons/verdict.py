"""A lesson's verdict, computed from its runs' own files; never written by hand.

    run_metrics(run_dir)               -> the run's numbers: evaluation.json (the final scoring), the last and the
                                          best validation record of metrics.jsonl (best_val_loss, best_val_bpc,
                                          best_val_step: the early-stopping point), and for self-training runs
                                          per-round figures from the {"split": "round"} records
                                          (<metric>_round1, <metric>_last, <metric>_change = last - round 1)
    verdict_for("l1-l2", run_dirs)     -> Verdict: reads lesson.json, status, evaluation.json and metrics.jsonl only
    judge(lesson, results)             -> the same from RunResults already read (pure)
    check_claim(item, stats)           -> one comparison of per-row means, with its numbers and a generated text

A claim item is decided on the per-setting means over seeds (the spread is shown, and a difference smaller
than the two standard deviations together is marked "within the seeds' spread"); the items combine with
AND. A row without the metric (its runs failed, were cancelled or not scored) makes its item fail as "not
measured": a verdict never holds on missing numbers. The reason text is built from the numbers, e.g.
"names: char edits 4.70 ± 0.10 < names: none 8.68 ± 0.20 on val_bpc".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from genaug_core import runs
from genaug_core.errors import RunError
from genaug_core.lessons.catalog import get_lesson
from genaug_core.lessons.spec import Compare, InteriorOptimum, Lesson
from genaug_core.lessons.store import read_lesson_file

ROUND_METRICS = ("val_bpc", "val_loss", "distinct_2", "distinct_4", "unique_share", "novelty", "fd", "recall", "kept")


# --- a run's numbers ---------------------------------------------------------------------------


def run_metrics(run_dir: str | Path) -> dict[str, float]:
    """Every number a verdict may use, read from the run folder (see the module docstring)."""
    from genaug_core.evaluate import held_out_loss, read_evaluation

    out: dict[str, float] = dict(held_out_loss(run_dir))
    evaluation = read_evaluation(run_dir)
    if evaluation and evaluation.get("checkpoint", "final") == "final":  # a checkpoint's scoring is not the run's
        out.update({k: float(v) for k, v in evaluation.items() if _number(v)})
    rounds = sorted(runs.read_metrics(run_dir, split="round"), key=lambda r: int(r.get("round", 0) or 0))
    if rounds:
        first, last = rounds[0], rounds[-1]
        for key in ROUND_METRICS:
            if _number(first.get(key)) and _number(last.get(key)):
                out[f"{key}_round1"], out[f"{key}_last"] = float(first[key]), float(last[key])
                out[f"{key}_change"] = round(float(last[key]) - float(first[key]), 6)
        out["rounds"] = float(len(rounds))
        return out
    val = [r for r in runs.read_metrics(run_dir, split="val") if _number(r.get("loss"))]
    if val:
        best = min(val, key=lambda r: float(r["loss"]))
        out["best_val_loss"], out["best_val_step"] = float(best["loss"]), float(best.get("step", 0))
        if _number(best.get("bpc")):
            out["best_val_bpc"] = float(best["bpc"])
    return out


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@dataclasses.dataclass
class RunResult:
    """One run of a lesson, as read from its folder."""

    name: str
    setting: str
    seed: int
    run_dir: Path
    state: str
    metrics: dict[str, float]  # empty unless the run is done
    problem: str | None = None  # why it has no numbers (failed, cancelled, not scored)


def read_result(run_dir: Path, info: dict[str, Any]) -> RunResult:
    rec = runs.inspect_run(run_dir)
    result = RunResult(rec.name, info["setting"], int(info["seed"]), run_dir, rec.state, {})
    if rec.state != "done":
        result.problem = rec.state + (f": {rec.broken or rec.error}" if rec.broken or rec.error else "")
        return result
    result.metrics = run_metrics(run_dir)
    if not result.metrics:
        try:
            error = runs.read_status(run_dir).get("evaluation_error")
        except RunError:
            error = None
        result.problem = "not scored" + (f": {error}" if error else "")
    return result


# --- statistics and the claim ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Stat:
    mean: float
    std: float  # sample standard deviation over seeds (0 for one seed)
    n: int

    @classmethod
    def of(cls, values: Iterable[float]) -> Stat:
        v = [float(x) for x in values]
        mean = sum(v) / len(v)
        std = math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
        return cls(mean, std, len(v))

    def text(self) -> str:
        return f"{fmt(self.mean)} ± {fmt(self.std)}" if self.n > 1 else f"{fmt(self.mean)} (1 seed)"


def mean_std_text(mean_std: list[float] | None, n: int) -> str:
    """A summary cell: "3.51 ± 0.02" for several seeds, "3.51" for one, "" when not measured."""
    if not mean_std:
        return ""
    return f"{fmt(mean_std[0])} ± {fmt(mean_std[1])}" if n > 1 else fmt(mean_std[0])


def fmt(x: float) -> str:
    """A number for a reason or a table: 3 significant figures, no exponent for everyday sizes."""
    ax = abs(x)
    if ax == 0:
        return "0"
    if ax >= 1000 or (ax >= 10 and float(x).is_integer()):  # steps, counts
        return f"{x:,.0f}"
    if ax >= 1:
        return f"{x:.2f}"
    if ax >= 0.01:
        return f"{x:.3f}"
    return f"{x:.2g}"


Stats = dict[str, dict[str, Stat]]  # row -> metric -> Stat


def _beats(a: float, b: float, better: str) -> bool:
    return a < b if better == "lower" else a > b


def _best(rows: Iterable[str], metric: str, stats: Stats, better: str) -> str:
    rows = list(rows)
    means = [stats[r][metric].mean for r in rows]
    return rows[means.index(min(means) if better == "lower" else max(means))]


def _not_measured(item, rows: list[str]) -> dict[str, Any]:
    return {"type": type(item).__name__, "metric": item.metric, "better": item.better, "held": False,
            "measured": False, "text": f"not measured: {', '.join(rows)} ha{'s' if len(rows) == 1 else 've'} no "
                                       f"{item.metric} (runs failed, cancelled or not scored)"}


def check_claim(item: Compare | InteriorOptimum, stats: Stats) -> dict[str, Any]:
    """Decide one claim item on per-row statistics; returns its numbers, held, and a generated text."""
    missing = [r for r in item.rows if item.metric not in stats.get(r, {})]
    if missing:
        return _not_measured(item, missing)
    m, better = item.metric, item.better
    if isinstance(item, InteriorOptimum):
        first, last = item.sweep[0], item.sweep[-1]
        best = _best(item.sweep[1:-1], m, stats, better)
        s = {r: stats[r][m] for r in (best, first, last)}
        held = _beats(s[best].mean, s[first].mean, better) and _beats(s[best].mean, s[last].mean, better)
        ends = f"{first} {s[first].text()} and {last} {s[last].text()}"
        text = (f"{best} {s[best].text()} beats both ends of the sweep on {m}, {ends} ({better} is better)" if held
                else f"no interior optimum on {m}: the best interior setting, {best} {s[best].text()}, does not "
                     f"beat both ends, {ends} ({better} is better)")
        return {"type": "InteriorOptimum", "metric": m, "better": better, "held": held, "measured": True,
                "sweep": {r: [stats[r][m].mean, stats[r][m].std] for r in item.sweep}, "best": best, "text": text}
    a_rows = list(item.a) if isinstance(item.a, tuple) else [item.a]
    a = _best(a_rows, m, stats, better)
    sa = stats[a][m]
    sb = stats[item.b][m] if isinstance(item.b, str) else Stat(float(item.b), 0.0, 0)
    held = _beats(sa.mean, sb.mean, better)
    clear = abs(sa.mean - sb.mean) > sa.std + sb.std
    a_text = f"{item.a_label or 'the best of ' + ', '.join(a_rows)}, {a}," if len(a_rows) > 1 else a
    b_text = f"{item.b} {sb.text()}" if isinstance(item.b, str) else fmt(sb.mean)
    op = "<" if better == "lower" else ">"
    text = f"{a_text} {sa.text()} {op if held else 'is not ' + op} {b_text} on {m}"
    if held and not clear and sa.n > 1:
        text += " (within the seeds' spread)"
    return {"type": "Compare", "metric": m, "better": better, "held": held, "measured": True, "clear": clear,
            "a": a, **({"a_rows": a_rows} if len(a_rows) > 1 else {}), "b": item.b,
            "a_mean": sa.mean, "a_std": sa.std, "a_n": sa.n, "b_mean": sb.mean, "b_std": sb.std, "b_n": sb.n,
            "text": text}


# --- the verdict ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Verdict:
    """A lesson's result: per-run numbers, per-row mean and spread, each claim item, held or not and why."""

    lesson: str
    title: str
    claim: str
    held: bool
    reason: str
    seeds: int
    runs: list[RunResult]
    summary: dict[str, dict[str, list[float]]]  # metric -> row -> [mean, std]
    counts: dict[str, int]  # row -> runs measured
    per_seed: list[dict[str, Any]]  # {"setting", "seed", metric: value, ...} per row and seed
    comparisons: list[dict[str, Any]]
    metrics: list[str]  # the table's metrics, in order
    missing: list[str]  # runs without numbers, and why
    quick: bool = False
    group: str = ""
    dataset: str | None = None
    notes: str = ""
    wall_s: float | None = None

    @property
    def complete(self) -> bool:
        return not self.missing

    def to_dict(self) -> dict[str, Any]:
        keep = set(self.metrics) | {"best_val_loss", "best_val_bpc", "best_val_step"}
        return {
            "lesson": self.lesson, "claim": self.claim, "held": self.held, "seeds": self.seeds,
            "runs": [{"name": r.name, "setting": r.setting, "seed": r.seed,
                      "metrics": {k: v for k, v in r.metrics.items() if k in keep},
                      "run_dir": str(r.run_dir), "state": r.state, "problem": r.problem} for r in self.runs],
            "summary": self.summary, "reason": self.reason, "comparisons": self.comparisons, "title": self.title,
            "counts": self.counts, "per_seed": self.per_seed, "metrics": self.metrics, "complete": self.complete,
            "missing": self.missing, "quick": self.quick, "group": self.group, "dataset": self.dataset,
            "notes": self.notes, "wall_s": self.wall_s,
        }  # fmt: skip


def row_values(lesson: Lesson, results: list[RunResult]) -> dict[str, dict[int, dict[str, float]]]:
    """row -> seed -> metrics, for settings (their measured runs) and derived rows (read from their setting's)."""
    out: dict[str, dict[int, dict[str, float]]] = {row: {} for row in lesson.rows}
    for r in results:
        if r.metrics and r.setting in out:
            out[r.setting][r.seed] = r.metrics
    for d in lesson.derived:
        for seed, metrics in out[d.of].items():
            picked = {row_metric: metrics[source] for row_metric, source in d.metrics.items() if source in metrics}
            if picked:
                out[d.name][seed] = picked
    return out


def judge(lesson: Lesson, results: list[RunResult], missing: list[str] | None = None, **meta: Any) -> Verdict:
    """The verdict on runs already read (meta: seeds, quick, group, dataset, wall_s)."""
    values = row_values(lesson, results)
    metrics = lesson.report_metrics
    all_metrics = list(dict.fromkeys([*metrics, *(k for d in lesson.derived for k in d.metrics)]))
    stats: Stats = {}
    for row, by_seed in values.items():
        for m in all_metrics:
            vals = [v[m] for v in by_seed.values() if m in v]
            if vals:
                stats.setdefault(row, {})[m] = Stat.of(vals)
    comparisons = [check_claim(item, stats) for item in lesson.claim]
    held = all(c["held"] for c in comparisons)
    texts = [c["text"] for c in comparisons if not c["held"]] + [c["text"] for c in comparisons if c["held"]]
    total = len(results) + len(missing or [])
    missing = list(missing or []) + [f"{r.name or r.run_dir.name}: {r.problem}" for r in results if r.problem]
    reason = "; ".join(texts)
    if missing:
        reason += f"; {len(missing)} of {total} runs have no numbers"
    summary = {m: {row: [stats[row][m].mean, stats[row][m].std] for row in lesson.rows if m in stats.get(row, {})}
               for m in all_metrics}
    per_seed = [{"setting": row, "seed": seed, **{m: v[m] for m in all_metrics if m in v}}
                for row in lesson.rows for seed, v in sorted(values[row].items())]
    seeds = meta.pop("seeds", None) or max((r.seed + 1 for r in results), default=0)
    return Verdict(lesson.id, lesson.title, lesson.claim_text, held, reason, seeds, results,
                   {m: rows for m, rows in summary.items() if rows},
                   {row: len(values[row]) for row in lesson.rows}, per_seed, comparisons, all_metrics,
                   missing, notes=lesson.notes, **meta)


def verdict_for(lesson_id: str, run_dirs: Iterable[str | Path], wall_s: float | None = None) -> Verdict:
    """The verdict of lesson `lesson_id` on these run folders, read from the folders alone."""
    lesson = get_lesson(lesson_id)
    results, missing, infos = [], [], []
    for d in run_dirs:
        path = Path(d)
        info = read_lesson_file(path)
        if info is None:
            missing.append(f"{path.name}: no readable lesson.json (not a lesson run)")
        elif info["lesson"] != lesson.id:
            missing.append(f"{path.name}: a run of lesson {info['lesson']!r}, not {lesson.id!r}")
        elif info["setting"] not in {s.name for s in lesson.settings}:
            missing.append(f"{path.name}: setting {info['setting']!r} is not one of this lesson's")
        else:
            infos.append(info)
            results.append(read_result(path, info))
    first = infos[0] if infos else {}
    seeds = max([int(i.get("seeds") or 0) for i in infos] + [r.seed + 1 for r in results] + [0])
    return judge(lesson, results, missing, seeds=seeds, quick=bool(first.get("quick")),
                 group=str(first.get("group") or ""), dataset=first.get("dataset"), wall_s=wall_s)
