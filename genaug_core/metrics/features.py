"""A feature space for image metrics, learnt from the real training images only.

Inception weights are not available offline (and would see 8x8 digits as noise),
so FD, KID, precision/recall and feature-space memorisation use a small network
trained here, in seconds on the CPU:

- labels exist (two classes or more): a small CNN classifier; the features are its
  penultimate activations, and its softmax gives the class distribution of samples;
- no labels: a small convolutional autoencoder; the features are its bottleneck code.

Images are resized to `FeatureConfig.size` (default: their own side, capped at 32
and rounded up to a multiple of 4; box averaging to shrink). Training runs on one
thread and is deterministic for a fixed seed (own RNG state, fixed batch order). A trained
extractor is cached in-process, keyed by a SHA-256 of the images, labels and
settings, and optionally on disk as safetensors (never pickle).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genaug_core import runs
from genaug_core.data.pixels import resize_batch as resize
from genaug_core.errors import ConfigError, DataError
from genaug_core.metrics.inputs import check_images

CACHE_VERSION = 1  # bump when the networks or their training change, so old caches are not reused


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    size: int = 0  # side (pixels) the network sees; 0 = the images' longer side, capped at 32, multiple of 4; 4..64
    width: int = 0  # channels of the first conv layer (next ones 2x); 0 = 32 up to 16 px, 16 above (4x fewer FLOPs); 4..128
    feature_dim: int = 64  # length of a feature vector; 8..512
    steps: int = 300  # optimizer steps of training; 1..20000
    batch_size: int = 64  # images per step; 1..1024
    lr: float = 3e-3  # Adam learning rate; (0, 1)
    max_images: int = 20_000  # training images the network learns from at most (a seeded subset); 100..1_000_000
    seed: int = 0  # weights, batch order and that subset

    def __post_init__(self) -> None:
        checks = {
            "size": self.size == 0 or 4 <= self.size <= 64,
            "width": self.width == 0 or 4 <= self.width <= 128,
            "feature_dim": 8 <= self.feature_dim <= 512,
            "steps": 1 <= self.steps <= 20000,
            "batch_size": 1 <= self.batch_size <= 1024,
            "lr": 0 < self.lr < 1,
            "max_images": 100 <= self.max_images <= 1_000_000,
        }
        ranges = {"size": "0 or 4..64", "width": "0 or 4..128", "feature_dim": "8..512", "steps": "1..20000",
                  "batch_size": "1..1024", "lr": "(0, 1)", "max_images": "100..1_000_000"}
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(f"FeatureConfig.{name} must lie in {ranges[name]}, got {getattr(self, name)!r}")


def network_size(height: int, width: int, config: FeatureConfig) -> int:
    """Side the network works at: config.size, else max(H, W) capped at 32, rounded up to a multiple of 4."""
    if config.size:
        side = config.size
    else:
        side = min(32, max(height, width))
    return int(-(-side // 4) * 4)


def network_width(size: int, config: FeatureConfig) -> int:
    """Channels of the first conv layer: config.width, else 32 at up to 16 px and 16 above.

    A 32x32 input costs 16x the FLOPs of 8x8 per channel pair; halving the width
    keeps a 32x32 feature network to seconds on a CPU (measured on 32x32 shapes:
    same validation accuracy, ~3x faster than width 32).
    """
    return config.width or (32 if size <= 16 else 16)


def to_tensor(images: np.ndarray, size: int) -> torch.Tensor:
    """uint8 (N, H, W, C) -> float (N, C, size, size) in [0, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
    return resize(x, size, size)


class Encoder(nn.Module):
    """(N, C, S, S) in [0, 1] -> (N, feature_dim): three 3x3 convs (S -> S/2 -> S/4), then a linear layer."""

    def __init__(self, channels: int, size: int, width: int, feature_dim: int):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.ReLU(),  # S/2
            nn.Conv2d(2 * width, 2 * width, 3, stride=2, padding=1), nn.ReLU(),  # S/4
        )
        self.fc = nn.Linear(2 * width * (size // 4) ** 2, feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x * 2 - 1).flatten(1))  # inputs centred on 0


class Classifier(nn.Module):
    """Encoder + ReLU + linear head; features = the ReLU'd penultimate layer (like Inception's pool features)."""

    def __init__(self, channels: int, size: int, width: int, feature_dim: int, n_classes: int):
        super().__init__()
        self.encoder = Encoder(channels, size, width, feature_dim)
        self.head = nn.Linear(feature_dim, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.encoder(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # logits (N, n_classes)


class AutoEncoder(nn.Module):
    """Encoder -> code (the features) -> linear + two 2x transposed convs -> image in [0, 1]."""

    def __init__(self, channels: int, size: int, width: int, feature_dim: int):
        super().__init__()
        self.size, self.width = size, width
        self.encoder = Encoder(channels, size, width, feature_dim)
        self.fc = nn.Linear(feature_dim, 2 * width * (size // 4) ** 2)
        self.deconv = nn.Sequential(
            nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1), nn.ReLU(),  # S/2
            nn.ConvTranspose2d(width, channels, 4, stride=2, padding=1),  # S
        )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc(self.encoder(x)).view(-1, 2 * self.width, self.size // 4, self.size // 4)
        return torch.sigmoid(self.deconv(h))


@dataclasses.dataclass
class FeatureExtractor:
    """A trained feature network and what it needs to embed new images."""

    net: nn.Module  # Classifier or AutoEncoder, in eval mode
    kind: str  # "classifier" or "autoencoder"
    config: FeatureConfig
    channels: int  # image channels the network takes (1 or 3)
    size: int  # side the images are resized to
    n_classes: int  # 0 for the autoencoder
    key: str  # content hash of the training images, labels and settings
    train_seconds: float  # 0.0 when loaded from the disk cache
    final_loss: float  # training loss of the last step (cross-entropy or MSE)
    scale: float = 1.0  # features are divided by this: the RMS of the raw training features


    def _run(self, images: np.ndarray, fn) -> np.ndarray:
        images = _check_images(images, "images")
        if images.shape[-1] != self.channels:
            raise DataError(f"the feature network takes {self.channels}-channel images, got {images.shape[-1]}")
        out = []
        with torch.inference_mode(), one_thread():
            for i in range(0, len(images), 512):
                out.append(fn(to_tensor(images[i : i + 512], self.size)).double().numpy())
        return np.concatenate(out) if out else np.zeros((0, 0))

    def features(self, images: np.ndarray) -> np.ndarray:
        """uint8 (N, H, W, C) -> float64 (N, feature_dim), scaled so training features have RMS 1.

        The scale keeps KID's polynomial kernel (x.y / d + 1)^3 near the range it was
        designed for (Inception features are O(1)); raw activations of a fresh network
        can be O(10) and would blow the cube up.
        """
        return self._run(images, self.net.features) / self.scale

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """uint8 (N, H, W, C) -> class probabilities (N, n_classes); only for the classifier."""
        if self.kind != "classifier":
            raise DataError("class probabilities need labelled training images (this feature net is an autoencoder)")
        return self._run(images, lambda x: torch.softmax(self.net(x), dim=1))

    def torchmetrics_module(self) -> nn.Module:
        """An nn.Module for torchmetrics' FrechetInceptionDistance / KernelInceptionDistance(feature=...)."""
        return _TorchmetricsFeature(self)


class _TorchmetricsFeature(nn.Module):
    """uint8 (N, 3 or C, H, W) -> (N, feature_dim) float; declares num_features so no 299x299 dummy is needed."""

    def __init__(self, extractor: FeatureExtractor):
        super().__init__()
        self.extractor = extractor
        self.net = extractor.net
        self.num_features = extractor.config.feature_dim

    def forward(self, imgs: torch.Tensor) -> torch.Tensor:
        x = imgs.float() / 255.0 if imgs.dtype == torch.uint8 else imgs.float()
        if x.shape[1] != self.extractor.channels:  # torchmetrics feeds RGB; a grayscale net takes the mean
            x = x.mean(dim=1, keepdim=True) if self.extractor.channels == 1 else x.expand(-1, 3, -1, -1)
        x = resize(x, self.extractor.size, self.extractor.size)
        with torch.no_grad():
            return self.net.features(x) / self.extractor.scale


def _check_images(images: np.ndarray, name: str) -> np.ndarray:
    return check_images(images, name, allow_empty=True)


def _key(images: np.ndarray, labels: np.ndarray | None, n_classes: int, config: FeatureConfig) -> str:
    h = hashlib.sha256()
    h.update(f"v{CACHE_VERSION}|{images.shape}|{n_classes}|{dataclasses.asdict(config)}".encode())
    h.update(np.ascontiguousarray(images).tobytes())
    if labels is not None:
        h.update(np.asarray(labels, dtype=np.int64).tobytes())
    return h.hexdigest()


def _build(kind: str, channels: int, size: int, config: FeatureConfig, n_classes: int) -> nn.Module:
    width = network_width(size, config)
    if kind == "classifier":
        return Classifier(channels, size, width, config.feature_dim, n_classes)
    return AutoEncoder(channels, size, width, config.feature_dim)


@contextlib.contextmanager
def one_thread():
    """Run torch on one thread inside the block, then restore the caller's setting.

    Two reasons: results of float reductions depend on the thread count, so one
    thread makes the features the same on every machine; and these networks are
    too small to gain from threads, while spinning OpenMP threads slow a training
    process running beside us many times over (see ENVIRONMENT.md).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train(images: np.ndarray, labels: np.ndarray | None, n_classes: int, config: FeatureConfig, key: str):
    """Train the network from a fixed seed on one thread; returns the FeatureExtractor."""
    t0 = time.perf_counter()
    kind = "classifier" if labels is not None else "autoencoder"
    size = network_size(images.shape[1], images.shape[2], config)
    pick = np.arange(len(images))
    if len(images) > config.max_images:  # 300 steps x 64 see ~20k images: more would only cost memory
        pick = np.sort(np.random.default_rng(config.seed).choice(len(images), config.max_images, replace=False))
    # (N, C, S, S) uint8 at the network size, converted in chunks so a large upload is never all float at once
    x_all = torch.cat([(to_tensor(images[pick[i : i + 2048]], size) * 255).round().to(torch.uint8)
                       for i in range(0, len(pick), 2048)])
    y_all = None if labels is None else torch.from_numpy(np.asarray(labels, dtype=np.int64)[pick])
    # fork_rng: seed our own weights and batches without touching the caller's torch RNG
    with torch.random.fork_rng(devices=[]), one_thread():
        torch.manual_seed(config.seed)
        net = _build(kind, images.shape[-1], size, config, n_classes)
        gen = torch.Generator().manual_seed(config.seed)
        opt = torch.optim.Adam(net.parameters(), lr=config.lr)
        net.train()
        n = len(x_all)
        order, pos, loss = torch.randperm(n, generator=gen), 0, torch.tensor(0.0)
        for _ in range(config.steps):
            # batches walk through a seeded permutation (epochs), re-drawn when used up
            if pos + min(config.batch_size, n) > n:
                order, pos = torch.randperm(n, generator=gen), 0
            idx = order[pos : pos + config.batch_size]
            pos += len(idx)
            xb = x_all[idx].float() / 255.0
            if kind == "classifier":
                loss = F.cross_entropy(net(xb), y_all[idx])
            else:
                loss = F.mse_loss(net(xb), xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    net.eval()
    fx = FeatureExtractor(net, kind, config, images.shape[-1], size, n_classes, key, 0.0, float(loss.detach()))
    raw = fx.features(images[pick])  # scale is still 1.0 here
    fx.scale = float(np.sqrt(np.mean(raw**2))) or 1.0
    fx.train_seconds = time.perf_counter() - t0
    return fx


def _save(fx: FeatureExtractor, path: Path) -> None:
    from safetensors.torch import save

    meta = {"kind": fx.kind, "channels": str(fx.channels), "size": str(fx.size), "n_classes": str(fx.n_classes),
            "key": fx.key, "final_loss": repr(fx.final_loss), "scale": repr(fx.scale), "config": json.dumps(dataclasses.asdict(fx.config))}
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in fx.net.state_dict().items()}
    runs.write_bytes_atomic(path, save(state, metadata=meta))  # a reader never sees half a file


def _load(path: Path, config: FeatureConfig, key: str) -> FeatureExtractor | None:
    from safetensors import safe_open
    from safetensors.torch import load_file

    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
        if meta.get("key") != key:
            return None
        kind, channels, size, n_classes = meta["kind"], int(meta["channels"]), int(meta["size"]), int(meta["n_classes"])
        net = _build(kind, channels, size, config, n_classes)
        net.load_state_dict(load_file(str(path)))
    except (OSError, KeyError, ValueError, RuntimeError):
        return None  # a broken or foreign cache file is retrained over, not trusted
    net.eval()
    return FeatureExtractor(net, kind, config, channels, size, n_classes, key, 0.0,
                            float(meta.get("final_loss", "nan")), float(meta["scale"]))


_CACHE: collections.OrderedDict[str, FeatureExtractor] = collections.OrderedDict()
_CACHE_SIZE = 4  # datasets kept in memory (each network is well under 1 MB)


def clear_cache() -> None:
    """Forget every in-process extractor (the disk cache stays)."""
    _CACHE.clear()


def get_feature_extractor(
    train_images: np.ndarray,
    train_labels: np.ndarray | None = None,
    n_classes: int | None = None,
    config: FeatureConfig | None = None,
    cache_dir: str | Path | None = None,
) -> FeatureExtractor:
    """The feature network for these training images: from the in-process cache, the disk cache, or trained now.

    A classifier is trained when labels with at least two classes are given, else an
    autoencoder. n_classes defaults to max(label) + 1 (pass len(class_names) so that
    classes without images keep their slot).
    """
    config = config or FeatureConfig()
    images = _check_images(train_images, "train_images")
    if len(images) < 2:
        raise DataError(f"the feature network needs at least 2 training images, got {len(images)}")
    labels = None
    if train_labels is not None:
        labels = np.asarray(train_labels, dtype=np.int64)
        if labels.shape != (len(images),):
            raise DataError(f"{len(images)} training images but {labels.shape[0] if labels.ndim else 0} labels")
        n_classes = int(labels.max()) + 1 if n_classes is None else int(n_classes)
        if labels.min() < 0 or labels.max() >= n_classes:
            raise DataError(f"labels must lie in 0..{n_classes - 1}")
        if len(np.unique(labels)) < 2:
            labels = None  # one class: nothing to classify, learn an autoencoder instead
    n_classes = n_classes if labels is not None else 0
    key = _key(images, labels, n_classes, config)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    path = Path(cache_dir) / f"features-{key[:24]}.safetensors" if cache_dir else None
    fx = _load(path, config, key) if path is not None and path.exists() else None
    if fx is None:
        fx = _train(images, labels, n_classes, config, key)
        if path is not None:
            _save(fx, path)
    _CACHE[key] = fx
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return fx
