"""What every model kind of one data type shares: TextKind and ImageKind.

A concrete kind (gpt2.py, char_lstm.py, ddpm.py) subclasses one of them and adds its
network, Task and save/load. The family owns what depends only on the samples' type:

    score(ds, samples)                 metrics against the held-out real data, and per-sample details
    write_details / read_details       those details in the run folder (images as .npz, never pickle)
    write_samples(path_stem, samples)  samples/step-<n>.txt, or a .png grid
    self-training: prepare_rounds, synthesise, filter_synthetic, round_dataset, synthetic files

So genaug_core/evaluate.py and genaug_core/train/selftrain.py never ask "text or image?":
they call the run's kind.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from genaug_core import runs
from genaug_core.data.containers import ImageDataset, Split, TextDataset
from genaug_core.errors import ConfigError
from genaug_core.kinds.base import ModelKind
from genaug_core.params import ParamSpec
from genaug_core.train import filters

MAX_DETAILS = 64  # samples kept with their nearest training item for the memorisation panel
PREVIEW = 40  # synthetic samples per self-training round shown in samples/ and the galleries


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


def _round_split(real, sources: dict[int, int]) -> tuple[Split, list[tuple[int, int]]]:
    """The training indices of a round (real items first, then each synthetic source), and the
    (source, count) pairs in the order their items follow the real ones."""
    split = real.split
    train_idx = [split.train] if sources.get(0) else []
    offset, used = len(real), []
    for j, count in sorted(sources.items()):
        if j == 0:
            continue
        train_idx.append(np.arange(offset, offset + count))
        used.append((j, count))
        offset += count
    fixed = Split(np.concatenate(train_idx).astype(np.int64), split.validation, split.seed, split.val_fraction)
    return fixed, used


class TextKind(ModelKind):
    """Kinds that generate text: scored by held-out bits per character, novelty, diversity, memorisation."""

    data = "text"
    unit = "tokens"
    noise_target = "embeddings"
    val_metric = "bpc"
    headline = ("val_bpc", "distinct_4")
    # (metric of evaluation.json, label, higher is better; None = neither is simply better), for tables and charts
    metrics = (
        ("val_bpc", "held-out bits per character", False),
        ("novelty", "novelty (share not in training)", None),
        ("memorised_share", "memorised share (edit distance < 0.1)", False),
        ("nn_distance_mean", "mean distance to nearest training item", None),
        ("distinct_2", "distinct-2 (higher = more diverse)", None),
        ("self_bleu", "self-BLEU (lower = more diverse)", None),
        ("length_w1", "length distance to real text", False),
    )
    better = {"val_bpc": "lower", "val_loss": "lower", "memorised_share": "lower", "length_w1": "lower",
              "distinct_2": "higher", "distinct_4": "higher", "self_bleu": "lower"}  # for verdicts  # fmt: skip
    synthetic_file = "synthetic.txt"
    noise_sweep = (0.0, 5.0, 10.0, 15.0)  # the input-noise ablation's values: NEFTune's alpha 5-15
    noise_settings = {"neftune": True, "noise_norm": "linf"}  # how that noise is applied (NEFTune's form)
    sample_count = 32  # how many the Sample page draws by default
    # the Self-training page's widgets for this family's SelfTrainConfig fields (sampling and filters)
    self_train_options = (
        ParamSpec("temperature", "float", 1.0, "Sampling temperature: below 1 likelier, less varied samples "
                  "(faster loss of diversity).", 0.1, 2.0, step=0.05),
        ParamSpec("min_length", "int", 2, "Drop samples shorter than this many characters.", 1, 10_000),
        ParamSpec("max_length", "int", 0, "Drop samples longer than this many characters (0 = the longest real "
                  "item).", 0, 100_000, step=1),
    )  # fmt: skip
    # the Sample page's widgets and the options of sample(); defaults may come from the model (sample_defaults)
    sample_options = (
        ParamSpec("prompt", "text", "", "Every sample continues this text (optional)."),
        ParamSpec("max_new_tokens", "int", 64, "The longest a sample may be, in tokens.", 1, 1000),
        ParamSpec("temperature", "float", 1.0, "Below 1: safer, more repetitive. Above 1: more surprising, more "
                  "mistakes. 0: always the likeliest token.", 0.0, 2.0, step=0.05),
        ParamSpec("top_k", "int", 0, "Sample among the k likeliest tokens only (0 = all).", 0, 1000),
        ParamSpec("top_p", "float", 1.0, "Sample among the likeliest tokens that make up this much probability "
                  "(1 = all).", 0.05, 1.0, step=0.05),
    )  # fmt: skip

    # --- scoring ---------------------------------------------------------------------------
    def score(self, ds, samples, seed: int = 0, cache_dir=None, max_details: int = MAX_DETAILS):
        """(metrics, details): details pair each of the first samples with its nearest training item
        ({"kind": "text", "pairs": [{"sample", "nearest", "distance"}]}, normalised edit distance)."""
        from genaug_core.metrics import score_text

        split = ds.split
        train = [ds.texts[i] for i in split.train]
        val = [ds.texts[i] for i in split.validation]
        samples = [str(s) for s in samples]
        sc = score_text(samples, train, val, seed=seed)
        near = sc.nearest
        pairs = [
            {"sample": samples[i], "nearest": train[int(near.index[i])], "distance": round(float(near.distance[i]), 4)}
            for i in range(min(len(samples), max_details))
        ]
        return sc.metrics, {"kind": "text", "pairs": pairs}

    def write_details(self, run_dir: Path, stem: str, details: dict[str, Any]) -> None:
        runs.write_json_atomic(run_dir / f"{stem}-details.json", details)

    def read_details(self, run_dir: Path, stem: str, details: dict[str, Any]) -> dict[str, Any] | None:
        return details

    def write_samples(self, path_stem: Path, samples, ncols: int = 0, scale: int = 1) -> Path:
        path = path_stem.with_suffix(".txt")
        runs.write_text_samples(path, list(samples))
        return path

    def round_line(self, evaluation: dict[str, Any]) -> str:
        return f"val bpc {evaluation.get('val_bpc', float('nan')):.3f}, distinct-2 {evaluation['distinct_2']:.3f}"

    # --- self-training -----------------------------------------------------------------------
    def prepare_rounds(self, real, cfg) -> dict[str, Any]:
        """What every round's filters need from the real data, computed once."""
        real_train = [real.texts[i] for i in real.split.train]
        return {"real_train": real_train, "alphabet": filters.text_alphabet(real_train),
                "longest": max((len(t) for t in real_train), default=0)}  # fmt: skip

    def synthesise(self, loaded, n: int, seed: int, st) -> tuple[list[str], None]:
        return loaded.sample(n=n, seed=seed, temperature=st.temperature, top_k=st.top_k), None

    def filter_synthetic(self, ctx, raw, labels, ds_k, real, st) -> tuple[filters.FilterResult, list[str]]:
        seen = ctx["real_train"] + [ds_k.texts[i] for i in ds_k.split.train if i >= len(real)]
        quality = filters.bigram_quality(raw, ctx["real_train"]) if st.quality_threshold > 0 else None
        result = filters.filter_text(raw, seen, st, alphabet=ctx["alphabet"], max_length=ctx["longest"], quality=quality)
        return result, [raw[i] for i in result.kept]

    def count(self, items) -> int:
        return len(items)

    def first(self, items, n: int):
        return list(items[:n])

    def read_synthetic(self, rdir: Path):
        return runs.read_text_samples(rdir / self.synthetic_file)

    def write_synthetic(self, rdir: Path, items) -> None:
        runs.write_text_samples(rdir / self.synthetic_file, list(items))

    def round_dataset(self, real, sources: dict[int, int], synthetic: dict[int, Any], k: int):
        """Round k's dataset: all real items (so the vocabulary is the same every round) followed by
        the synthetic items it uses; training part = the items `sources` names."""
        fixed, used = _round_split(real, sources)
        extra = [t for j, count in used for t in synthetic[j][:count]]
        return _RoundText(name=f"{real.name} · round {k}", source=real.source, texts=real.texts + extra,
                          fixed_split=fixed)  # fmt: skip


class ImageKind(ModelKind):
    """Kinds that generate images: scored by FD / KID / precision-recall in a learnt feature space."""

    data = "image"
    unit = "images"
    noise_target = "pixels"
    val_metric = "loss"
    headline = ("fd", "recall")
    metrics = (
        ("val_loss", "held-out denoising loss", False),
        ("fd", "Fréchet distance (learnt features)", False),
        ("kid", "KID", False),
        ("precision", "precision", True),
        ("recall", "recall", True),
        ("memorised_share_pixel", "memorised share (1/3 rule, pixels)", False),
        ("class_kl_to_real", "class KL to real balance", False),
    )
    better = {k: ("higher" if up else "lower") for k, _, up in metrics}
    synthetic_file = "synthetic.npz"
    noise_sweep = (0.0, 0.5, 1.0, 2.0)  # the input-noise ablation's values: L2 radius in pixels scaled to [-1, 1]
    # EDM augments ~12-15% of images; on 300 digits a share of 0.2 scored better than 0.5 (FD 2.43 vs 3.26,
    # 1,200 steps, non-leaking), and the image-augmentation lesson measures 0.15
    augment_p = 0.15
    noise_settings: dict[str, Any] = {}
    sample_count = 64
    self_train_options = (
        ParamSpec("sample_steps", "int", 20, "Sampler steps for the synthetic images (0 = the model's default); "
                  "fewer are faster and rougher.", 0, 1000),
        ParamSpec("min_confidence", "float", 0.1, "Drop samples a classifier trained on the real labelled images "
                  "gives less than this probability of their class.", 0.0, 1.0, step=0.05),
    )  # fmt: skip
    sample_options = (
        ParamSpec("steps", "int", 25, "Denoising steps: fewer are faster and rougher.", 1, 1000),
        ParamSpec("sampler", "choice", "ddim", "DDIM or DPM-Solver++ (both clip to the pixel range).",
                  choices=("ddim", "dpm")),
    )

    def sample_defaults(self, loaded) -> dict[str, Any]:
        return {"steps": int(loaded.meta.get("sample_steps", 25)), "sampler": loaded.meta.get("sampler", "ddim")}

    def sample_bytes(self, loaded, n: int, batch_size: int = 256) -> int:
        """The uint8 result, plus per batch the float32 noise, prediction and next step and about four
        full-resolution feature maps of the network's first block (a UNet's largest activations)."""
        cfg = getattr(loaded.model, "config", None)
        size = int(getattr(cfg, "sample_size", 0) or loaded.meta.get("image_size") or 0)
        channels = int(getattr(cfg, "in_channels", 0) or 3)
        width = int((getattr(cfg, "block_out_channels", None) or [64])[0])
        b = min(n, batch_size)
        return n * size * size * channels + b * size * size * 4 * (3 * channels + 4 * width)

    def class_names(self, loaded) -> list[str]:
        return list(loaded.meta.get("class_names") or []) if loaded.meta.get("no_class") is not None else []

    # --- scoring ---------------------------------------------------------------------------
    def score(self, ds, samples, seed: int = 0, cache_dir=None, max_details: int = MAX_DETAILS):
        """(metrics, details): details = {"kind": "image", "distance": [...], "memorised": [...],
        "samples": uint8 (N, H, W, C), "nearest": uint8 (N, H, W, C)} (distance = RMS pixel difference
        in [0, 1]; memorised by the 1/3 rule). The feature network learns from the whole training part,
        so runs on different subsets of one dataset share one feature space."""
        from genaug_core.metrics import score_images

        split, labels = ds.split, ds.labels
        samples = np.asarray(samples)
        full = dataclasses.replace(ds, max_train=0).split.train  # the feature space: the whole training part
        si = score_images(
            samples, ds.images[split.train], ds.images[split.validation],
            train_labels=None if labels is None else labels[split.train],
            val_labels=None if labels is None else labels[split.validation],
            class_names=ds.class_names, seed=seed, cache_dir=cache_dir,
            feature_images=ds.images[full], feature_labels=None if labels is None else labels[full],
        )  # fmt: skip
        k = min(len(samples), max_details)
        near = si.nearest_pixel
        n_px = float(np.prod(ds.images.shape[1:]))
        details = {
            "kind": "image",
            "distance": [round(float(d) / np.sqrt(n_px), 5) for d in near.d1[:k]],
            "memorised": [bool(m) for m in near.memorised[:k]],
            "samples": samples[:k],
            "nearest": ds.images[split.train][near.index[:k]],
        }
        return si.metrics, details

    def write_details(self, run_dir: Path, stem: str, details: dict[str, Any]) -> None:
        buf = io.BytesIO()
        np.savez_compressed(buf, samples=details.pop("samples"), nearest=details.pop("nearest"))
        runs.write_bytes_atomic(run_dir / f"{stem}-samples.npz", buf.getvalue())
        runs.write_json_atomic(run_dir / f"{stem}-details.json", details)

    def read_details(self, run_dir: Path, stem: str, details: dict[str, Any]) -> dict[str, Any] | None:
        try:
            with np.load(run_dir / f"{stem}-samples.npz", allow_pickle=False) as npz:
                details["samples"], details["nearest"] = npz["samples"], npz["nearest"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None
        if details["samples"].dtype != np.uint8 or details["samples"].shape != details["nearest"].shape:
            return None
        return details

    def write_samples(self, path_stem: Path, samples, ncols: int = 0, scale: int = 0) -> Path:
        """A PNG grid, `ncols` to a row (0 = square), enlarged so each image is at least 32 px (scale 0)."""
        from genaug_core.models.image import make_grid

        images = np.asarray(samples)
        grid = make_grid(images, ncols)
        path = path_stem.with_suffix(".png")
        runs.write_png(path, grid, scale=scale or max(1, 32 // images.shape[1]))
        return path

    def round_line(self, evaluation: dict[str, Any]) -> str:
        return (f"val loss {evaluation.get('val_loss', float('nan')):.4f}, FD {evaluation['fd']:.3f}, "
                f"recall {evaluation['recall']:.3f}")  # fmt: skip

    # --- self-training -----------------------------------------------------------------------
    def prepare_rounds(self, real, cfg) -> dict[str, Any]:
        size = self.settings_of(cfg).image_size
        if size not in (0, real.height):
            raise ConfigError(
                f"self-training needs samples of the data's size: set model.{self.section}.image_size to 0 or {real.height}"
            )
        st, split = cfg.self_train, real.split
        real_train = real.images[split.train]
        classifier = None
        if real.labels is not None and len(np.unique(real.labels[split.train])) >= 2 and (
            st.min_confidence > 0 or st.quality_threshold > 0
        ):
            from genaug_core.metrics.features import get_feature_extractor

            classifier = get_feature_extractor(
                real_train, real.labels[split.train], n_classes=len(real.class_names or []) or None
            )
        return {"real_train": real_train, "classifier": classifier}

    def synthesise(self, loaded, n: int, seed: int, st) -> tuple[np.ndarray, np.ndarray | None]:
        meta = loaded.meta
        n_classes = len(meta.get("class_names") or []) if meta.get("no_class") is not None else 0
        labels = np.arange(n, dtype=np.int64) % n_classes if n_classes else None
        options = {"steps": st.sample_steps} if st.sample_steps else {}
        raw = loaded.sample(n=n, seed=seed, class_ids=None if labels is None else labels.tolist(), **options)
        return raw, labels

    def filter_synthetic(self, ctx, raw, labels, ds_k, real, st) -> tuple[filters.FilterResult, dict[str, Any]]:
        train_k = ds_k.split.train
        seen = np.concatenate([ctx["real_train"], ds_k.images[train_k[train_k >= len(real)]]])
        confidence = None
        if ctx["classifier"] is not None:
            probs = ctx["classifier"].predict_proba(raw)  # (n, classes)
            confidence = probs[np.arange(len(raw)), labels] if labels is not None else probs.max(1)
        result = filters.filter_images(raw, seen, st, confidence=confidence)
        return result, {"images": raw[result.kept], "labels": None if labels is None else labels[result.kept]}

    def count(self, items) -> int:
        return len(items["images"])

    def first(self, items, n: int):
        return items["images"][:n]

    def read_synthetic(self, rdir: Path):
        with np.load(rdir / self.synthetic_file, allow_pickle=False) as z:
            return {"images": z["images"], "labels": z["labels"] if "labels" in z.files else None}

    def write_synthetic(self, rdir: Path, items) -> None:
        arrays = {"images": items["images"]}
        if items["labels"] is not None:
            arrays["labels"] = items["labels"]
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        runs.write_bytes_atomic(rdir / self.synthetic_file, buf.getvalue())

    def round_dataset(self, real, sources: dict[int, int], synthetic: dict[int, Any], k: int):
        """Round k's dataset: the real images followed by the synthetic ones it uses."""
        fixed, used = _round_split(real, sources)
        parts = [synthetic[j]["images"][:count] for j, count in used]
        labels = [synthetic[j]["labels"][:count] if synthetic[j]["labels"] is not None else None for j, count in used]
        keep_labels = real.labels is not None and all(x is not None for x in labels)
        return _RoundImages(
            name=f"{real.name} · round {k}", source=real.source,
            images=np.concatenate([real.images, *parts]) if parts else real.images,
            labels=np.concatenate([real.labels, *labels]) if keep_labels else None,
            class_names=real.class_names if keep_labels else None,
            fixed_split=fixed,
        )  # fmt: skip
