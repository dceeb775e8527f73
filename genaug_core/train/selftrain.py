"""Self-training rounds, the article's "unsupervised augmentation", as one background run.

    self_train(config, run_dir, resume=False) -> "done" or "cancelled"

Round 1 trains a model on the real data. Every round then samples
`synthetic_per_round` items from its model, filters them (duplicates, copies
of training items, invalid items, an optional quality threshold) and scores
the raw samples against the held-out REAL validation data. Round k >= 2 trains
a fresh (or warm-started) model on what the mode says:

    replace     round k-1's filtered samples only        -> model collapse
    mix         real data + round k-1's samples at a fixed synthetic share
    accumulate  real data + every earlier round's samples -> no collapse

(Shumailov et al., Nature 2024; Alemohammad et al., ICLR 2024; Gerstgrasser
et al., 2024.) The validation data never changes, so held-out loss, bits per
character, FD and the diversity metrics are comparable across rounds.

One run folder holds everything:

    <run>/config.json, status.json   step/total count rounds x train.steps, so the Train page's bar works
    <run>/metrics.jsonl              every round's train/val records (step offset by the earlier rounds,
                                     "round": k) and one {"split": "round", ...} record per finished round
    <run>/round-<k>/                 a normal training run folder (train() reused), plus
        synthetic.txt | synthetic.npz   the filtered samples that later rounds may train on
        training_data.json              which items round k trained on (real / synthetic of round j)
        evaluation.json                 held-out loss, sample metrics and filter counts of round k
    <run>/samples/step-<step>.*      a preview of each round's samples (the Train page shows the newest)
    <run>/model/, evaluation.json    the last round's model and evaluation

Cancel: a STOP file in the run folder is passed on to the round in training
(which saves a checkpoint) and checked between the stages of a round.
Resume (CLI --resume, or Resume on the Self-training page): finished rounds are kept, the
interrupted one continues.
The bookkeeping (`training_sources`) and the filters are pure functions.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
from pathlib import Path
from typing import Any

from genaug_core import kinds, runs
from genaug_core.config import RunConfig, SelfTrainConfig
from genaug_core.errors import ConfigError, DataError, GenAugError
from genaug_core.kinds import families
from genaug_core.train.filters import (  # noqa: F401 - the filters' home is filters.py; re-exported for callers
    FILTERS_IMAGE,
    FILTERS_TEXT,
    FilterResult,
    bigram_quality,
    filter_images,
    filter_text,
    text_alphabet,
)

ROUND_PREFIX = "round-"
SYNTHETIC_TEXT = families.TextKind.synthetic_file
SYNTHETIC_IMAGES = families.ImageKind.synthetic_file
TRAINING_DATA_FILE = "training_data.json"
EVALUATION_FILE = runs.EVALUATION_FILE

PREVIEW = families.PREVIEW




def round_dir(run_dir: str | Path, k: int) -> Path:
    return Path(run_dir) / f"{ROUND_PREFIX}{k}"


# --- round bookkeeping (pure) --------------------------------------------------------------


def training_sources(mode: str, k: int, n_real: int, kept: dict[int, int], mix_ratio: float = 0.5) -> dict[int, int]:
    """Which items round k trains on: {source: how many}, source 0 = the real training items,
    source j >= 1 = the first n filtered synthetic items of round j.

    kept: round j -> how many filtered synthetic items round j left (j < k).
    Round 1 always trains on the real data. replace: round k-1's items only; mix: all real items
    plus as many of round k-1's items as make their share mix_ratio (fewer if round k-1 kept fewer);
    accumulate: all real items plus every earlier round's items.
    """
    if k < 1:
        raise ValueError(f"rounds count from 1, got {k}")
    if k == 1:
        return {0: n_real}
    prev = int(kept.get(k - 1, 0))
    if mode == "replace":
        if prev == 0:
            raise DataError(f"round {k - 1} kept no synthetic items after filtering; replace mode has nothing to train on")
        return {k - 1: prev}
    if mode == "mix":
        want = int(round(n_real * mix_ratio / (1.0 - mix_ratio)))  # synthetic / (real + synthetic) = mix_ratio
        return {0: n_real, k - 1: min(want, prev)} if min(want, prev) > 0 else {0: n_real}
    if mode == "accumulate":
        return {0: n_real, **{j: int(kept.get(j, 0)) for j in range(1, k) if kept.get(j, 0)}}
    raise ConfigError(f"SelfTrainConfig.mode = {mode!r} is not allowed; choose one of: 'replace', 'mix', 'accumulate'")


def describe_sources(sources: dict[int, int]) -> str:
    return " + ".join(("real" if j == 0 else f"round {j} synthetic") + f" ({n:,})" for j, n in sorted(sources.items()))


# --- the rounds ---------------------------------------------------------------------------


def self_train(cfg: RunConfig, run_dir: str | Path, resume: bool = False, progress: bool | None = None) -> str:
    """Run cfg.self_train.rounds rounds into the existing run folder `run_dir`; "done" or "cancelled".

    Errors mark the run failed with their message (traceback in log.txt) and are raised again.
    """
    from genaug_core.train.loop import failure_message

    st = cfg.self_train
    if st.rounds < 1:
        raise ConfigError("SelfTrainConfig.rounds is 0: nothing to self-train (use a plain training run)")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError("self-training runs in one process; start it without accelerate's --num_processes")
    run_dir = Path(run_dir)
    log = runs.RunLog(run_dir, True)
    runs.write_status(
        run_dir, state="running", **runs.this_process(), error=None,
        total=st.rounds * cfg.train.steps, rounds=st.rounds, mode=st.mode,
    )  # fmt: skip
    previous = None
    if threading.current_thread() is threading.main_thread():  # SIGTERM between rounds = a cancel request
        previous = signal.signal(signal.SIGTERM, lambda *_: runs.request_stop(run_dir))
    try:
        with runs.Heartbeat(run_dir):  # `updated` stays fresh while rounds sample and score
            return _self_train(cfg, run_dir, resume, progress, log)
    except BaseException as exc:
        log.traceback()
        runs.write_status(run_dir, state="failed", error=failure_message(exc), eta_s=None)
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        log.close()


class _Watcher(threading.Thread):
    """While round k trains: pass a STOP on to it, mirror its metrics and step into the top-level run."""

    def __init__(self, run_dir: Path, rdir: Path, k: int, steps: int, total: int):
        super().__init__(daemon=True)
        self.run_dir, self.rdir, self.k, self.steps, self.total = run_dir, rdir, k, steps, total
        self.offset = (k - 1) * steps
        self.copied = 0
        self.done = threading.Event()

    def poll(self) -> None:
        if runs.stop_requested(self.run_dir) and self.rdir.exists() and not runs.stop_requested(self.rdir):
            runs.request_stop(self.rdir)
        records = runs.read_metrics(self.rdir)
        for rec in records[self.copied :]:
            runs.append_metrics(self.run_dir, {**rec, "step": int(rec.get("step", 0)) + self.offset, "round": self.k})
        self.copied = max(self.copied, len(records))
        try:
            status = runs.read_status(self.rdir)
        except GenAugError:
            return
        step = self.offset + int(status.get("step", 0))
        speed = status.get("steps_per_s")
        runs.write_status(
            self.run_dir, step=step, round=self.k, kind=status.get("kind"), steps_per_s=speed,
            eta_s=round((self.total - step) / speed, 1) if speed else None, loss=status.get("loss"),
        )  # fmt: skip

    def run(self) -> None:
        while not self.done.wait(1.0):
            try:
                self.poll()
            except (OSError, ValueError):  # a file mid-rename: try again next second
                pass

    def finish(self) -> None:
        self.done.set()
        self.join()
        self.poll()


def _self_train(cfg: RunConfig, run_dir: Path, resume: bool, progress: bool | None, log) -> str:
    from genaug_core.data import load_dataset
    from genaug_core.data.preprocess import preprocess
    from genaug_core.evaluate import held_out_loss, score_samples
    from genaug_core.train.loop import train

    st, steps = cfg.self_train, cfg.train.steps
    total = st.rounds * steps

    # --- the real data: loaded once; its validation part scores every round ----------------------
    real, notes = preprocess(load_dataset(cfg.data), cfg.preprocess)
    for note in notes:
        log(f"preprocess: {note}")
    split = real.split
    kind = kinds.for_run_config(cfg, real.kind)  # its sampling, filters and synthetic files
    ctx = kind.prepare_rounds(real, cfg)
    n_real = len(split.train)

    # --- resume: keep the finished rounds, redo the interrupted one ----------------------------
    finished = {int(r["round"]): r for r in runs.read_metrics(run_dir, split="round")} if resume else {}
    first_open = next((k for k in range(1, st.rounds + 1) if k not in finished), st.rounds + 1)
    if resume:
        runs.keep_metrics(run_dir, lambda r: int(r.get("round", 0)) < first_open)
        runs.clear_stop(run_dir)
    synthetic: dict[int, Any] = {j: kind.read_synthetic(round_dir(run_dir, j)) for j in finished}
    kept = {j: kind.count(v) for j, v in synthetic.items()}
    (run_dir / runs.SAMPLES_DIR).mkdir(exist_ok=True)
    log(f"self-training: {st.rounds} rounds of {steps} steps, mode {st.mode}, "
        f"{st.synthetic_per_round} samples a round, {real.name} ({real.kind}, {n_real:,} real training items)")

    final_state, note = "done", None
    for k in range(1, st.rounds + 1):
        if k in finished:
            continue
        rdir = round_dir(run_dir, k)
        if runs.stop_requested(run_dir):
            final_state = "cancelled"
            break

        # --- 1. what round k trains on ------------------------------------------------------
        sources = training_sources(st.mode, k, n_real, kept, st.mix_ratio)
        ds_k = kind.round_dataset(real, sources, synthetic, k)
        log(f"round {k}/{st.rounds}: training on {describe_sources(sources)}")
        round_cfg = cfg.replace(name=f"{cfg.name or 'self-training'} · round {k}", self_train=SelfTrainConfig())
        again = (rdir / runs.CONFIG_FILE).exists()
        if not again:
            runs.create_run(round_cfg, run_dir=rdir)
        runs.write_json_atomic(rdir / TRAINING_DATA_FILE, {
            "round": k, "mode": st.mode, "sources": {("real" if j == 0 else f"round-{j}"): n for j, n in sources.items()},
            "train_items": int(sum(sources.values())), "validation_items": int(len(split.validation)),
        })  # fmt: skip
        runs.write_status(run_dir, round=k, step=(k - 1) * steps, total=total)

        # --- 2. train (a normal run in round-k/; the watcher mirrors its progress) -------------
        warm = round_dir(run_dir, k - 1) / runs.MODEL_DIR if st.warm_start and k > 1 else None
        watcher = _Watcher(run_dir, rdir, k, steps, total)
        watcher.start()
        try:
            state = train(round_cfg, rdir, resume=again, progress=progress, dataset=ds_k, init_model_dir=warm)
        finally:
            watcher.finish()
        if state != "done" or runs.stop_requested(run_dir):
            final_state = "cancelled"
            note = runs.read_status(rdir).get("error")  # e.g. the round hit the time budget
            break

        # --- 3. sample synthetic data from round k's model -----------------------------------
        model = kinds.load_run_model(rdir, "final")
        n = st.synthetic_per_round
        log(f"round {k}: sampling {n} items")
        raw, labels = kind.synthesise(model, n, st.seed + k, st)
        del model
        if runs.stop_requested(run_dir):
            final_state = "cancelled"
            break

        # --- 4. filter before reuse -----------------------------------------------------------
        result, synthetic[k] = kind.filter_synthetic(ctx, raw, labels, ds_k, real, st)
        kept[k] = result.n_kept
        kind.write_synthetic(rdir, synthetic[k])
        dropped = ", ".join(f"{v} {name}" for name, v in result.dropped.items() if v) or "none"
        log(f"round {k}: kept {result.n_kept} of {n} samples (dropped: {dropped})")

        # --- 5. score the raw samples on the held-out real data ---------------------------------
        scores = score_samples(real, raw, seed=st.seed)
        evaluation = {
            "round": k, "mode": st.mode, "kind": real.kind, "model_kind": kind.name, "n": n, "seed": st.seed + k,
            "checkpoint": "final", "step": k * steps,
            **held_out_loss(rdir), **scores,
            "train_items": int(sum(sources.values())), "real_items": int(sources.get(0, 0)),
            "synthetic_items": int(sum(v for j, v in sources.items() if j)),
            "sampled": n, "kept": result.n_kept, "dropped": result.dropped,
        }  # fmt: skip
        runs.write_json_atomic(rdir / EVALUATION_FILE, evaluation)
        kind.write_samples(run_dir / runs.SAMPLES_DIR / f"step-{k * steps:07d}", raw[:PREVIEW], ncols=10)
        record = {"step": k * steps, "split": "round", **runs.scalars(evaluation),
                  **{f"dropped_{name}": v for name, v in result.dropped.items()}}
        runs.append_metrics(run_dir, record)
        log(f"round {k}: {kind.round_line(evaluation)}")

    # --- the end: the last finished round's model and evaluation are the run's -------------------
    last = max((j for j in range(1, st.rounds + 1) if (round_dir(run_dir, j) / EVALUATION_FILE).exists()), default=0)
    if last:
        with runs.atomic_dir(run_dir / runs.MODEL_DIR) as tmp:
            shutil.copytree(round_dir(run_dir, last) / runs.MODEL_DIR, tmp, dirs_exist_ok=True)
        shutil.copyfile(round_dir(run_dir, last) / EVALUATION_FILE, run_dir / EVALUATION_FILE)
    runs.clear_stop(run_dir)
    step = st.rounds * steps if final_state == "done" else runs.read_status(run_dir).get("step", 0)
    runs.write_status(run_dir, state=final_state, step=step, eta_s=None, **({"error": note} if note else {}))
    log(f"self-training {final_state} after {last} of {st.rounds} rounds"
        + ("" if final_state == "done" else f"; resume with: python -m genaug_core train --run-dir {run_dir} --resume"))
    return final_state


def round_records(run_dir: str | Path) -> list[dict[str, Any]]:
    """The per-round records of a self-training run (metrics.jsonl, split "round"), in round order."""
    return sorted(runs.read_metrics(run_dir, split="round"), key=lambda r: int(r.get("round", 0)))


def round_samples(run_dir: str | Path, k: int, n: int = PREVIEW):
    """Up to n of round k's kept synthetic items (a text list or uint8 images); None if there are none yet."""
    kind, rdir = kinds.for_run(run_dir), round_dir(run_dir, k)
    if kind is None or not (rdir / kind.synthetic_file).exists():
        return None
    return kind.first(kind.read_synthetic(rdir), n)


def round_dataset(real, sources: dict[int, int], synthetic: dict[int, Any], k: int):
    """The dataset round k trains on (see the data kind's round_dataset in genaug_core/kinds/families.py)."""
    return kinds.kinds_for(real.kind)[0].round_dataset(real, sources, synthetic, k)


def is_self_training(run_dir: str | Path) -> bool:
    """Does this run folder hold self-training rounds (its config has rounds > 0)?"""
    try:
        data = json.loads((Path(run_dir) / runs.CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    st = data.get("self_train") if isinstance(data, dict) else None
    return isinstance(st, dict) and isinstance(st.get("rounds"), int) and st["rounds"] > 0


# --- presets: the published effects at CPU scale, one click each ------------------------------

CONFIGS_DIR = Path(__file__).resolve().parents[2] / "configs"
# preset -> (title, config files launched together, what to expect)
PRESETS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "names": (
        "Names: replace vs accumulate",
        ("selftrain_names_replace.toml", "selftrain_names_accumulate.toml"),
        "replace: held-out bits per character rise round after round; accumulate: they stay near round 1",
    ),
    "digits": (
        "Digits: replace vs accumulate",
        ("selftrain_digits_replace.toml", "selftrain_digits_accumulate.toml"),
        "replace: FD to the real digits rises and recall falls; accumulate: both stay near round 1",
    ),
    "temperature": (
        "Names, replace: temperature 0.6 vs 1.0",
        ("selftrain_names_lowtemp.toml", "selftrain_names_replace.toml"),
        "temperature 0.6: diversity (distinct-n, unique share) falls faster than at 1.0",
    ),
}


def preset_configs(preset: str, group: str = "") -> list[RunConfig]:
    """The RunConfigs a preset launches (they share `group`, so the Compare page shows them together)."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown self-training preset {preset!r}; known: {', '.join(PRESETS)}")
    return [RunConfig.load(CONFIGS_DIR / name).replace(group=group) for name in PRESETS[preset][1]]
