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

import dataclasses
import json
import os
import shutil
import signal
import socket
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from genaug_core import runs
from genaug_core.config import RunConfig, SelfTrainConfig
from genaug_core.data.containers import ImageDataset, Split, TextDataset
from genaug_core.errors import ConfigError, DataError, GenAugError

ROUND_PREFIX = "round-"
SYNTHETIC_TEXT = "synthetic.txt"
SYNTHETIC_IMAGES = "synthetic.npz"
TRAINING_DATA_FILE = "training_data.json"
EVALUATION_FILE = "evaluation.json"
BLANK_STD = 2.0  # images whose pixel standard deviation (uint8 units) is below this are blank / constant
PREVIEW = 40  # samples per round shown in samples/ and the galleries
FILTERS_TEXT = ("empty", "too_short", "too_long", "alphabet", "duplicate", "copy", "low_quality")
FILTERS_IMAGE = ("blank", "low_confidence", "duplicate", "copy", "low_quality")


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


# --- filters (pure) ------------------------------------------------------------------------


@dataclasses.dataclass
class FilterResult:
    """kept: indices of the items that passed, in order; dropped: filter name -> items it dropped.
    Each item is counted under the first filter that drops it (in the order of `dropped`)."""

    kept: np.ndarray
    dropped: dict[str, int]

    @property
    def n_kept(self) -> int:
        return len(self.kept)


def text_alphabet(texts: list[str]) -> set[str]:
    return set("".join(texts))


def bigram_quality(samples: list[str], real_texts: list[str]) -> np.ndarray:
    """Per sample, the geometric-mean probability per character (0-1) under a character-bigram model
    of `real_texts` (add-one smoothing; start and end of an item count as characters)."""
    chars = sorted(text_alphabet(real_texts))
    index = {c: i + 1 for i, c in enumerate(chars)}  # 0 = start / end of an item
    v = len(chars) + 1
    counts = np.ones((v, v))  # add-one smoothing
    for t in real_texts:
        ids = [0, *(index[c] for c in t), 0]
        np.add.at(counts, (ids[:-1], ids[1:]), 1)
    logp = np.log(counts / counts.sum(1, keepdims=True))
    out = np.zeros(len(samples))
    for n, s in enumerate(samples):
        if any(c not in index for c in s):
            continue  # unknown characters: quality 0
        ids = [0, *(index[c] for c in s), 0]
        out[n] = float(np.exp(logp[ids[:-1], ids[1:]].mean()))
    return out


def filter_text(
    samples: list[str],
    training_texts: list[str],
    cfg: SelfTrainConfig,
    alphabet: set[str] | None = None,
    max_length: int | None = None,
    quality: np.ndarray | None = None,
) -> FilterResult:
    """Which text samples may be reused for training.

    training_texts: what the model trained on (copies of these are dropped); alphabet: the allowed
    characters (default: those of training_texts); max_length: default cfg.max_length, or when that
    is 0 the longest training text; quality: a score per sample for cfg.quality_threshold.
    """
    alphabet = text_alphabet(training_texts) if alphabet is None else alphabet
    longest = cfg.max_length or max_length or max((len(t) for t in training_texts), default=0)
    seen_train = set(training_texts) if cfg.drop_copies else set()
    dropped = dict.fromkeys(FILTERS_TEXT, 0)
    kept, seen = [], set()
    for i, s in enumerate(samples):
        if not s.strip():
            reason = "empty"
        elif len(s) < cfg.min_length:
            reason = "too_short"
        elif longest and len(s) > longest:
            reason = "too_long"
        elif not set(s) <= alphabet:
            reason = "alphabet"
        elif cfg.drop_duplicates and s in seen:
            reason = "duplicate"
        elif s in seen_train:
            reason = "copy"
        elif cfg.quality_threshold > 0 and quality is not None and quality[i] < cfg.quality_threshold:
            reason = "low_quality"
        else:
            reason = None
        if reason:
            dropped[reason] += 1
        else:
            kept.append(i)
        seen.add(s)
    return FilterResult(np.asarray(kept, dtype=np.int64), dropped)


def _rms_to_nearest(samples: np.ndarray, reference: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """RMS pixel distance (pixels scaled to 0-1) of each sample to its nearest reference image."""
    a = samples.reshape(len(samples), -1).astype(np.float32) / 255.0
    b = reference.reshape(len(reference), -1).astype(np.float32) / 255.0
    if len(b) == 0:
        return np.full(len(a), np.inf)
    b2 = (b * b).sum(1)
    out = np.empty(len(a))
    for s in range(0, len(a), chunk):
        x = a[s : s + chunk]
        d2 = (x * x).sum(1)[:, None] + b2[None, :] - 2.0 * x @ b.T  # (n, m) squared distances
        out[s : s + chunk] = np.sqrt(np.maximum(d2.min(1), 0.0) / a.shape[1])
    return out


def filter_images(
    samples: np.ndarray,
    training_images: np.ndarray,
    cfg: SelfTrainConfig,
    confidence: np.ndarray | None = None,
) -> FilterResult:
    """Which image samples (uint8 (N, H, W, C)) may be reused for training.

    training_images: what the model trained on (samples within cfg.copy_distance of one are copies);
    confidence: the real-data classifier's probability of each sample's class (None: no classifier),
    used by cfg.min_confidence and, as the quality score, by cfg.quality_threshold.
    """
    n = len(samples)
    reasons: list[str | None] = [None] * n
    blank = samples.reshape(n, -1).astype(np.float32).std(1) < BLANK_STD
    copies = np.zeros(n, dtype=bool)
    if cfg.drop_copies and len(training_images):
        copies = _rms_to_nearest(samples, training_images) <= cfg.copy_distance
    seen: set[bytes] = set()
    for i in range(n):
        key = samples[i].tobytes()
        if blank[i]:
            reasons[i] = "blank"
        elif confidence is not None and cfg.min_confidence > 0 and confidence[i] < cfg.min_confidence:
            reasons[i] = "low_confidence"
        elif cfg.drop_duplicates and key in seen:
            reasons[i] = "duplicate"
        elif copies[i]:
            reasons[i] = "copy"
        elif confidence is not None and cfg.quality_threshold > 0 and confidence[i] < cfg.quality_threshold:
            reasons[i] = "low_quality"
        seen.add(key)
    counts = Counter(r for r in reasons if r)
    return FilterResult(
        np.asarray([i for i, r in enumerate(reasons) if r is None], dtype=np.int64),
        {name: counts.get(name, 0) for name in FILTERS_IMAGE},
    )


# --- a round's dataset: real + synthetic items, the real validation part fixed -------------


@dataclasses.dataclass
class _RoundText(TextDataset):
    fixed_split: Split | None = None

    @property
    def split(self) -> Split:  # the items chosen by training_sources; validation = the real held-out items
        return self.fixed_split


@dataclasses.dataclass
class _RoundImages(ImageDataset):
    fixed_split: Split | None = None

    @property
    def split(self) -> Split:
        return self.fixed_split


def round_dataset(real, sources: dict[int, int], synthetic: dict[int, Any], k: int):
    """The dataset round k trains on: the real items (all of them, so a text model's vocabulary is
    the same every round) followed by the synthetic items it uses; its split's training part is the
    items `sources` names, its validation part the real held-out items."""
    split = real.split
    train_idx = [split.train] if sources.get(0) else []
    offset = len(real)
    parts, labels = [], []
    for j, count in sorted(sources.items()):
        if j == 0:
            continue
        items = synthetic[j]
        if real.kind == "text":
            parts.append(list(items[:count]))
        else:
            parts.append(items["images"][:count])
            labels.append(items["labels"][:count] if items["labels"] is not None else None)
        train_idx.append(np.arange(offset, offset + count))
        offset += count
    fixed = Split(np.concatenate(train_idx).astype(np.int64), split.validation, split.seed, split.val_fraction)
    name = f"{real.name} · round {k}"
    if real.kind == "text":
        return _RoundText(name=name, source=real.source, texts=real.texts + [t for p in parts for t in p],
                          fixed_split=fixed)
    keep_labels = real.labels is not None and all(x is not None for x in labels)
    return _RoundImages(
        name=name, source=real.source,
        images=np.concatenate([real.images, *parts]) if parts else real.images,
        labels=np.concatenate([real.labels, *labels]) if keep_labels else None,
        class_names=real.class_names if keep_labels else None,
        fixed_split=fixed,
    )  # fmt: skip


def describe_sources(sources: dict[int, int]) -> str:
    return " + ".join(("real" if j == 0 else f"round {j} synthetic") + f" ({n:,})" for j, n in sorted(sources.items()))


# --- the rounds ---------------------------------------------------------------------------


def self_train(cfg: RunConfig, run_dir: str | Path, resume: bool = False, progress: bool | None = None) -> str:
    """Run cfg.self_train.rounds rounds into the existing run folder `run_dir`; "done" or "cancelled".

    Errors mark the run failed with their message (traceback in log.txt) and are raised again.
    """
    from genaug_core.train.loop import RunLog, failure_message

    st = cfg.self_train
    if st.rounds < 1:
        raise ConfigError("SelfTrainConfig.rounds is 0: nothing to self-train (use a plain training run)")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError("self-training runs in one process; start it without accelerate's --num_processes")
    run_dir = Path(run_dir)
    log = RunLog(run_dir, True)
    runs.write_status(
        run_dir, state="running", pid=os.getpid(), host=socket.gethostname(), error=None,
        total=st.rounds * cfg.train.steps, rounds=st.rounds, mode=st.mode,
    )  # fmt: skip
    previous = None
    if threading.current_thread() is threading.main_thread():  # SIGTERM between rounds = a cancel request
        previous = signal.signal(signal.SIGTERM, lambda *_: runs.request_stop(run_dir))
    try:
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


def _read_synthetic(rdir: Path, kind: str):
    if kind == "text":
        return runs.read_text_samples(rdir / SYNTHETIC_TEXT)
    with np.load(rdir / SYNTHETIC_IMAGES, allow_pickle=False) as z:
        return {"images": z["images"], "labels": z["labels"] if "labels" in z.files else None}


def _write_synthetic(rdir: Path, kind: str, items) -> None:
    if kind == "text":
        runs.write_text_samples(rdir / SYNTHETIC_TEXT, list(items))
        return
    tmp = rdir / f"{runs.TMP_PREFIX}{SYNTHETIC_IMAGES}"
    arrays = {"images": items["images"]}
    if items["labels"] is not None:
        arrays["labels"] = items["labels"]
    with open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    os.replace(tmp, rdir / SYNTHETIC_IMAGES)


def _write_preview(path_stem: Path, kind: str, samples) -> None:
    if kind == "text":
        runs.write_text_samples(path_stem.with_suffix(".txt"), list(samples[:PREVIEW]))
        return
    from genaug_core.models.image import make_grid, save_png

    images = samples[:PREVIEW]
    path = path_stem.with_suffix(".png")
    tmp = path.with_name(runs.TMP_PREFIX + path.name)
    save_png(make_grid(images, 10), tmp, scale=max(1, 32 // images.shape[1]))
    os.replace(tmp, path)


def _flat(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in d.items() if isinstance(v, (int, float, str))}


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
    kind, split = real.kind, real.split
    if kind == "image" and cfg.model.image.image_size not in (0, real.height):
        raise ConfigError(
            f"self-training needs samples of the data's size: set model.image.image_size to 0 or {real.height}"
        )
    if kind == "text":
        real_train = [real.texts[i] for i in split.train]
        alphabet, longest = text_alphabet(real_train), max((len(t) for t in real_train), default=0)
    else:
        real_train = real.images[split.train]
    n_real = len(split.train)
    classifier = None
    if kind == "image" and real.labels is not None and len(np.unique(real.labels[split.train])) >= 2 and (
        st.min_confidence > 0 or st.quality_threshold > 0
    ):
        from genaug_core.metrics.features import get_feature_extractor

        classifier = get_feature_extractor(
            real_train, real.labels[split.train], n_classes=len(real.class_names or []) or None
        )

    # --- resume: keep the finished rounds, redo the interrupted one ----------------------------
    finished = {int(r["round"]): r for r in runs.read_metrics(run_dir, split="round")} if resume else {}
    first_open = next((k for k in range(1, st.rounds + 1) if k not in finished), st.rounds + 1)
    if resume:
        kept_lines = [r for r in runs.read_metrics(run_dir) if int(r.get("round", 0)) < first_open]
        tmp = run_dir / f"{runs.TMP_PREFIX}{runs.METRICS_FILE}"
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept_lines), encoding="utf-8")
        os.replace(tmp, run_dir / runs.METRICS_FILE)
        runs.clear_stop(run_dir)
    synthetic: dict[int, Any] = {j: _read_synthetic(round_dir(run_dir, j), kind) for j in finished}
    kept = {j: len(v) if kind == "text" else len(v["images"]) for j, v in synthetic.items()}
    (run_dir / runs.SAMPLES_DIR).mkdir(exist_ok=True)
    log(f"self-training: {st.rounds} rounds of {steps} steps, mode {st.mode}, "
        f"{st.synthetic_per_round} samples a round, {real.name} ({kind}, {n_real:,} real training items)")

    final_state = "done"
    for k in range(1, st.rounds + 1):
        if k in finished:
            continue
        rdir = round_dir(run_dir, k)
        if runs.stop_requested(run_dir):
            final_state = "cancelled"
            break

        # --- 1. what round k trains on ------------------------------------------------------
        sources = training_sources(st.mode, k, n_real, kept, st.mix_ratio)
        ds_k = round_dataset(real, sources, synthetic, k)
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
            break

        # --- 3. sample synthetic data from round k's model -----------------------------------
        model = runs.load_run_model(rdir, "final")
        n = st.synthetic_per_round
        log(f"round {k}: sampling {n} items")
        if kind == "text":
            raw = model.sample(n=n, seed=st.seed + k, temperature=st.temperature, top_k=st.top_k)
            labels = None
        else:
            n_classes = len(model.meta.get("class_names") or []) if model.meta.get("no_class") is not None else 0
            labels = np.arange(n, dtype=np.int64) % n_classes if n_classes else None
            options = {"steps": st.sample_steps} if st.sample_steps else {}
            raw = model.sample(n=n, seed=st.seed + k, class_ids=None if labels is None else labels.tolist(), **options)
        del model
        if runs.stop_requested(run_dir):
            final_state = "cancelled"
            break

        # --- 4. filter before reuse -----------------------------------------------------------
        if kind == "text":
            seen_texts = real_train + [ds_k.texts[i] for i in ds_k.split.train if i >= len(real)]
            quality = bigram_quality(raw, real_train) if st.quality_threshold > 0 else None
            result = filter_text(raw, seen_texts, st, alphabet=alphabet, max_length=longest, quality=quality)
            synthetic[k] = [raw[i] for i in result.kept]
        else:
            seen_images = np.concatenate([real_train, ds_k.images[ds_k.split.train[ds_k.split.train >= len(real)]]])
            confidence = None
            if classifier is not None:
                probs = classifier.predict_proba(raw)  # (n, classes)
                confidence = probs[np.arange(n), labels] if labels is not None else probs.max(1)
            result = filter_images(raw, seen_images, st, confidence=confidence)
            synthetic[k] = {"images": raw[result.kept], "labels": None if labels is None else labels[result.kept]}
        kept[k] = result.n_kept
        _write_synthetic(rdir, kind, synthetic[k])
        dropped = ", ".join(f"{v} {name}" for name, v in result.dropped.items() if v) or "none"
        log(f"round {k}: kept {result.n_kept} of {n} samples (dropped: {dropped})")

        # --- 5. score the raw samples on the held-out real data ---------------------------------
        scores = score_samples(real, raw, seed=st.seed)
        evaluation = {
            "round": k, "mode": st.mode, "kind": kind, "n": n, "seed": st.seed + k,
            "checkpoint": "final", "step": k * steps,
            **held_out_loss(rdir), **scores,
            "train_items": int(sum(sources.values())), "real_items": int(sources.get(0, 0)),
            "synthetic_items": int(sum(v for j, v in sources.items() if j)),
            "sampled": n, "kept": result.n_kept, "dropped": result.dropped,
        }  # fmt: skip
        runs.write_json_atomic(rdir / EVALUATION_FILE, evaluation)
        _write_preview(run_dir / runs.SAMPLES_DIR / f"step-{k * steps:07d}", kind, raw)
        record = {"step": k * steps, "split": "round", **_flat(evaluation),
                  **{f"dropped_{name}": v for name, v in result.dropped.items()}}
        runs.append_metrics(run_dir, record)
        headline = (f"val bpc {evaluation.get('val_bpc', float('nan')):.3f}, distinct-2 {scores['distinct_2']:.3f}"
                    if kind == "text" else f"val loss {evaluation.get('val_loss', float('nan')):.4f}, "
                    f"FD {scores['fd']:.3f}, recall {scores['recall']:.3f}")
        log(f"round {k}: {headline}")

    # --- the end: the last finished round's model and evaluation are the run's -------------------
    last = max((j for j in range(1, st.rounds + 1) if (round_dir(run_dir, j) / EVALUATION_FILE).exists()), default=0)
    if last:
        with runs.atomic_dir(run_dir / runs.MODEL_DIR) as tmp:
            shutil.copytree(round_dir(run_dir, last) / runs.MODEL_DIR, tmp, dirs_exist_ok=True)
        shutil.copyfile(round_dir(run_dir, last) / EVALUATION_FILE, run_dir / EVALUATION_FILE)
    runs.clear_stop(run_dir)
    step = st.rounds * steps if final_state == "done" else runs.read_status(run_dir).get("step", 0)
    runs.write_status(run_dir, state=final_state, step=step, eta_s=None)
    log(f"self-training {final_state} after {last} of {st.rounds} rounds"
        + ("" if final_state == "done" else f"; resume with: python -m genaug_core train --run-dir {run_dir} --resume"))
    return final_state


def round_records(run_dir: str | Path) -> list[dict[str, Any]]:
    """The per-round records of a self-training run (metrics.jsonl, split "round"), in round order."""
    return sorted(runs.read_metrics(run_dir, split="round"), key=lambda r: int(r.get("round", 0)))


def round_samples(run_dir: str | Path, k: int, kind: str, n: int = PREVIEW):
    """Up to n of round k's kept synthetic items (text list or uint8 images), [] / None if missing."""
    path = round_dir(run_dir, k) / (SYNTHETIC_TEXT if kind == "text" else SYNTHETIC_IMAGES)
    if not path.exists():
        return [] if kind == "text" else None
    items = _read_synthetic(round_dir(run_dir, k), kind)
    return items[:n] if kind == "text" else items["images"][:n]


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


def headline_metrics(kind: str) -> tuple[str, str]:
    """(held-out quality metric, diversity metric) of the collapse curves for text or image runs."""
    return ("val_bpc", "distinct_4") if kind == "text" else ("fd", "recall")
