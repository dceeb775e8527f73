"""Image metrics: how close generated images are to real ones, how varied, how copied.

All distribution metrics work on features from a network learnt from the real
training images (genaug_core.metrics.features), never on downloaded weights.

- Fréchet distance (Heusel et al. 2017, the "FID" formula) between Gaussians fitted
  to the two feature sets: |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)). The trace
  of the matrix square root is the sum of the square roots of the eigenvalues of
  S1 S2 (real and >= 0 for covariance matrices), as in torchmetrics' _compute_fid;
  tests check it against torchmetrics' FrechetInceptionDistance with our network.
- KID (Bińkowski et al. 2018): the unbiased estimate of the squared MMD with the
  polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over seeded random subsets
  (torchmetrics' KernelInceptionDistance computes the same, but with the global RNG
  and only when both sets hold at least `subset_size` items).
- precision / recall (Kynkäänniemi et al. 2019): each set's manifold is the union of
  balls around its points with radius = distance to the k-th nearest neighbour in
  the same set; precision = share of samples inside the real manifold, recall =
  share of real images inside the samples' manifold.
- density / coverage (Naeem et al. 2020): density = mean number of real balls a
  sample falls in, divided by k (about 1 for matching distributions); coverage =
  share of real balls that hold at least one sample. Both less fooled by outliers.
- memorisation, the 1/3 rule: a sample is memorised when its distance to the
  nearest training image is under 1/3 of its distance to the second nearest.
  Reported in pixel space (what a person sees: a copy) and in feature space (a
  copy up to small pixel changes). Duplicate training images are merged first, so
  an exact copy of a duplicated image still counts.
- class distribution (classifier only): entropy of the predicted classes, KL
  divergence to the real class balance, share of each class, mean confidence.

The distribution metrics compare the samples with the validation images when they
are given (held-out real data; more than k of them), else with the training images
(`reference_is_validation` says which). Each `real_*` key scores a seeded training
subset of the samples' size the same way: roughly the value a perfect generator
would get, to read the others against. (Roughly: the feature network has seen those
training images, so their features may sit a little closer to the real ones.)
FD is biased upwards for small sets, so compare FDs at equal sample counts; KID is not.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from genaug_core.errors import ConfigError, DataError
from genaug_core.metrics.inputs import check_images

# ---------------------------------------------------------------- distances


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (len(a), len(b)) in float64.

    |a|^2 + |b|^2 - 2 a.b loses precision when points coincide, so values below
    1e-12 of the squared norms are snapped to exactly 0: identical points must be
    at distance 0 for the k-NN balls and the 1/3 rule.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    na = np.einsum("ij,ij->i", a, a)[:, None]
    nb = np.einsum("ij,ij->i", b, b)[None, :]
    d = na + nb - 2.0 * (a @ b.T)
    d[d < 1e-12 * (na + nb + 1.0)] = 0.0
    return d


def _dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(_sq_dists(a, b))


def _kth_radius(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each point to its k-th nearest neighbour in the same set (itself excluded)."""
    if len(x) <= k:
        raise DataError(f"k-NN radii with k={k} need more than {k} items, got {len(x)}")
    out = np.empty(len(x))
    for c in range(0, len(x), _ROWS):  # (_ROWS, N) distances at a time
        d = _dists(x[c : c + _ROWS], x)
        d[np.arange(len(d)), np.arange(c, c + len(d))] = np.inf  # a point is not its own neighbour
        out[c : c + _ROWS] = np.partition(d, k - 1, axis=1)[:, k - 1]
    return out


_ROWS = 1024  # rows of a distance matrix computed at once: 1024 x 5,000 float64 = 40 MB
_BLOCK_ELEMS = 1 << 23  # values of training rows held as float64 at once (64 MB)


# ---------------------------------------------------------------- distribution metrics


def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2) -> float:
    """|mu1 - mu2|^2 + Tr(S1) + Tr(S2) - 2 sum sqrt(eig(S1 S2)); clipped at 0 against rounding."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    eig = np.linalg.eigvals(s1 @ s2)
    tr_sqrt = np.sqrt(eig.astype(np.complex128)).real.sum()  # tiny negative/complex eigenvalues -> ~0
    return float(max(0.0, np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt))


def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, D) (unbiased covariance, N >= 2 each)."""
    if len(feats_a) < 2 or len(feats_b) < 2:
        raise DataError("the Fréchet distance needs at least 2 items in each set")
    return frechet_distance_from_stats(feats_a.mean(0), np.cov(feats_a, rowvar=False),
                                       feats_b.mean(0), np.cov(feats_b, rowvar=False))


def poly_mmd2(x: np.ndarray, y: np.ndarray, degree: int = 3, coef: float = 1.0) -> float:
    """Unbiased squared MMD with k(a, b) = (a.b / d + coef)^degree (Bińkowski et al. 2018, eq. for KID).

    sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (n (n - 1)) - 2 sum k(x_i, y_j) / (m n)
    """
    m, n, d = len(x), len(y), x.shape[1]
    kxx = (x @ x.T / d + coef) ** degree
    kyy = (y @ y.T / d + coef) ** degree
    kxy = (x @ y.T / d + coef) ** degree
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2.0 * kxy.sum() / (m * n))


def kid(real: np.ndarray, fake: np.ndarray, subset_size: int = 1000, n_subsets: int = 100, seed: int = 0):
    """Kernel Inception Distance in our feature space: (mean, std) of poly_mmd2 over seeded random subsets.

    Each subset takes min(subset_size, len(real), len(fake)) items of each set without
    replacement. KID is unbiased, so unlike FD it does not grow for small sets; it can
    be slightly negative when the sets match. When both sets fit whole in one subset,
    every subset is the same and one is computed (std 0).
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    m = min(subset_size, len(real), len(fake))
    if m < 2:
        raise DataError("KID needs at least 2 items in each set")
    if m == len(real) == len(fake):
        return poly_mmd2(real, fake), 0.0
    rng = np.random.default_rng(seed)
    picks = [(rng.choice(len(real), m, replace=False), rng.choice(len(fake), m, replace=False))
             for _ in range(n_subsets)]
    if len(real) ** 2 + len(fake) ** 2 + len(real) * len(fake) > 10_000_000:  # kernels over ~80 MB: per subset
        vals = np.array([poly_mmd2(real[i], fake[j]) for i, j in picks])
    else:
        # Kernels once, then every subset's sums at once: the sum of K over subset rows
        # and columns is v^T K v for the subset's 0/1 indicator vector v (one matmul for all).
        d = real.shape[1]
        kxx, kyy, kxy = ((a @ b.T / d + 1.0) ** 3 for a, b in ((real, real), (fake, fake), (real, fake)))
        vr, vf = np.zeros((len(real), n_subsets)), np.zeros((len(fake), n_subsets))
        for s, (i, j) in enumerate(picks):
            vr[i, s], vf[j, s] = 1.0, 1.0
        sxx = (vr * (kxx @ vr)).sum(0) - np.diag(kxx) @ vr  # off-diagonal sums
        syy = (vf * (kyy @ vf)).sum(0) - np.diag(kyy) @ vf
        sxy = (vr * (kxy @ vf)).sum(0)
        vals = (sxx + syy) / (m * (m - 1)) - 2.0 * sxy / (m * m)
    return float(np.mean(vals)), float(np.std(vals))


def manifold_metrics(real: np.ndarray, fake: np.ndarray, k: int = 3) -> dict[str, float]:
    """Precision, recall, density and coverage in one pass over the fake-real distances.

    Exact duplicates inside a set count as neighbours at distance 0, so a set of one
    repeated item has radius 0: its manifold is that single point (recall ~ 0).
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    r_real, r_fake = _kth_radius(real, k), _kth_radius(fake, k)
    in_real = 0  # samples inside some real ball
    in_balls = 0  # (sample, real ball) pairs with the sample inside
    covered = np.zeros(len(real), bool)  # real balls holding a sample
    recalled = np.zeros(len(real), bool)  # real points inside some sample ball
    for c in range(0, len(fake), _ROWS):
        d = _dists(fake[c : c + _ROWS], real)  # (rows, n_real)
        inside = d <= r_real[None, :]
        in_real += int(inside.any(axis=1).sum())
        in_balls += int(inside.sum())
        covered |= inside.any(axis=0)
        recalled |= (d <= r_fake[c : c + _ROWS, None]).any(axis=0)
    return {
        "precision": in_real / len(fake),
        "recall": float(recalled.mean()),
        "density": in_balls / (k * len(fake)),
        "coverage": float(covered.mean()),
    }


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> dict[str, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN balls; 1.0/1.0 for identical sets."""
    m = manifold_metrics(real, fake, k)
    return {"precision": m["precision"], "recall": m["recall"]}


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int = 3) -> dict[str, float]:
    """Density and coverage (Naeem et al. 2020), balls around the real points only."""
    m = manifold_metrics(real, fake, k)
    return {"density": m["density"], "coverage": m["coverage"]}


# ---------------------------------------------------------------- memorisation


@dataclasses.dataclass
class NearestImages:
    """Nearest training images of each sample, in one space (pixels or features)."""

    index: np.ndarray  # (N,) int64 index into the training images of the nearest one
    d1: np.ndarray  # (N,) float64 distance to the nearest distinct training image
    d2: np.ndarray  # (N,) float64 distance to the second nearest distinct training image
    memorised: np.ndarray  # (N,) bool: d1 < d2 / 3


def nearest_training_images(
    samples: np.ndarray, train: np.ndarray, train_keys: np.ndarray | None = None, scale: float = 1.0
) -> NearestImages:
    """The 1/3 rule on flattened vectors: samples (N, ...) against train (M, ...), times `scale`.

    Identical training rows are merged first (train_keys: rows that are equal there are
    one training item; default train itself; pass the pixel rows to merge duplicate
    images in feature space too). Works through both sets in blocks, so uint8 pixels of
    a large upload are converted to float64 a block at a time.
    """
    samples = np.asarray(samples).reshape(len(samples), -1)
    train = np.asarray(train).reshape(len(train), -1)
    keys = train if train_keys is None else np.asarray(train_keys).reshape(len(train), -1)
    first_of: dict[bytes, int] = {}
    for i, row in enumerate(keys):
        first_of.setdefault(row.tobytes(), i)
    first = np.fromiter(first_of.values(), np.int64, len(first_of))  # one index per distinct training row
    if len(first) < 2:
        raise DataError("the 1/3 memorisation rule needs at least 2 distinct training images")
    n = len(samples)
    best = np.full((n, 2), np.inf)  # running two smallest distances ...
    best_i = np.zeros((n, 2), np.int64)  # ... and their training indices
    block = max(1, _BLOCK_ELEMS // max(1, train.shape[1]))  # training rows converted to float64 at once
    for t in range(0, len(first), block):
        idx = first[t : t + block]
        tb = train[idx].astype(np.float64) * scale
        for c in range(0, n, _ROWS):
            d = _dists(samples[c : c + _ROWS].astype(np.float64) * scale, tb)  # (rows, block)
            cand = np.concatenate([best[c : c + _ROWS], d], axis=1)
            cand_i = np.concatenate([best_i[c : c + _ROWS], np.broadcast_to(idx, d.shape)], axis=1)
            two = np.argpartition(cand, 1, axis=1)[:, :2]  # the two smallest, in either order
            swap = np.take_along_axis(cand, two[:, :1], 1) > np.take_along_axis(cand, two[:, 1:], 1)
            two = np.where(swap, two[:, ::-1], two)
            best[c : c + _ROWS] = np.take_along_axis(cand, two, axis=1)
            best_i[c : c + _ROWS] = np.take_along_axis(cand_i, two, axis=1)
    return NearestImages(best_i[:, 0], best[:, 0], best[:, 1], best[:, 0] < best[:, 1] / 3.0)


# ---------------------------------------------------------------- class distribution


def class_distribution(probs: np.ndarray, real_labels: np.ndarray, class_names: list[str] | None = None) -> dict:
    """Predicted-class statistics of samples from classifier probabilities (N, K).

    class_entropy: entropy in bits of the predicted-class shares (log2 K = all classes equal);
    class_entropy_real: the same for the real labels; class_kl_to_real: KL(samples || real) in
    bits, sum_c p_c log2(p_c / q_c) (0 = same balance; real shares of 0 are floored at 1e-12);
    class_missing: classes never predicted; class_confidence_mean: mean top-class probability;
    shares: class name -> share of samples.
    """
    k = probs.shape[1]
    p = np.bincount(probs.argmax(axis=1), minlength=k) / len(probs)
    q = np.bincount(np.asarray(real_labels, np.int64), minlength=k) / len(real_labels)

    def entropy(v):
        v = v[v > 0]
        return float(-(v * np.log2(v)).sum()) + 0.0  # + 0.0 turns -0.0 (one class) into 0.0

    nz = p > 0
    names = class_names if class_names is not None and len(class_names) == k else [str(i) for i in range(k)]
    return {
        "class_entropy": entropy(p),
        "class_entropy_real": entropy(q),
        "class_kl_to_real": float((p[nz] * np.log2(p[nz] / np.maximum(q[nz], 1e-12))).sum()),
        "class_missing": float((p == 0).sum()),
        "class_confidence_mean": float(probs.max(axis=1).mean()),
        "shares": {names[i]: float(p[i]) for i in range(k)},
    }


# ---------------------------------------------------------------- everything at once


def _resize_like(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 images resized to (height, width), e.g. 16x16 samples of 8x8 digits (see features.resize)."""
    if images.shape[1:3] == (height, width):
        return images
    import torch

    from genaug_core.data.pixels import resize_batch as resize

    x = resize(torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float(), height, width)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


@dataclasses.dataclass
class ImageScores:
    """Headline numbers (`metrics`, flat and JSON-ready) plus per-sample details for the UI."""

    metrics: dict[str, float]
    nearest_pixel: NearestImages  # nearest training image of each sample in pixel space
    nearest_feature: NearestImages  # ... and in feature space
    class_shares: dict[str, float] | None  # class name -> share of samples (classifier only)
    predicted: np.ndarray | None  # (N,) predicted class of each sample (classifier only)
    feature_kind: str  # "classifier" or "autoencoder"


def score_images(
    samples: np.ndarray,
    train_images: np.ndarray,
    val_images: np.ndarray | None = None,
    *,
    train_labels: np.ndarray | None = None,
    val_labels: np.ndarray | None = None,
    class_names: list[str] | None = None,
    k: int = 3,
    kid_subset_size: int = 1000,
    kid_subsets: int = 100,
    max_reference: int = 5000,
    feature_config=None,
    cache_dir=None,
    seed: int = 0,
    feature_images: np.ndarray | None = None,
    feature_labels: np.ndarray | None = None,
) -> ImageScores:
    """All image metrics of `samples` (see evaluate_images for the keys).

    max_reference: the k-NN metrics (precision, recall, density, coverage) use at most
    this many reference images (a seeded subset): they need all pairwise distances.
    feature_images / feature_labels: the real images (and labels) the feature network
    learns from, default train_images / train_labels. Runs trained on different subsets
    of one dataset pass the same full training part here, so their FD, KID, precision
    and recall are measured in one feature space and can be compared.
    """
    from genaug_core.metrics.features import get_feature_extractor

    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    if max_reference <= k:
        raise ConfigError(f"max_reference must be > k = {k}, got {max_reference}")
    train = check_images(train_images, "train_images")
    samples = check_images(samples, "samples")
    if len(samples) <= k:
        raise DataError(f"scoring needs more than k = {k} samples, got {len(samples)}")
    if samples.shape[-1] != train.shape[-1]:
        raise DataError(f"samples have {samples.shape[-1]} channels but the training images {train.shape[-1]}")
    samples = _resize_like(samples, train.shape[1], train.shape[2])
    val = None
    if val_images is not None and len(val_images) > k:  # fewer held-out images cannot form k-NN balls
        val = _resize_like(check_images(val_images, "val_images"), train.shape[1], train.shape[2])
    n_classes = len(class_names) if class_names else None
    if feature_images is None:
        feature_images, feature_labels = train, train_labels
    else:
        feature_images = _resize_like(check_images(feature_images, "feature_images"), train.shape[1], train.shape[2])
    fx = get_feature_extractor(feature_images, feature_labels, n_classes, feature_config, cache_dir)
    rng = np.random.default_rng(seed)

    f_s, f_t = fx.features(samples), fx.features(train)
    f_ref = fx.features(val) if val is not None else f_t
    f_knn = f_ref  # reference for the k-NN metrics, capped at max_reference
    if len(f_ref) > max_reference:
        f_knn = f_ref[np.sort(rng.choice(len(f_ref), max_reference, replace=False))]
    m: dict[str, float] = {"n_samples": len(samples), "reference_is_validation": float(val is not None)}

    def distribution(fake: np.ndarray, prefix: str) -> None:
        m[prefix + "fd"] = frechet_distance(fake, f_ref)
        m[prefix + "kid"], m[prefix + "kid_std"] = kid(f_ref, fake, kid_subset_size, kid_subsets, seed)
        m.update({prefix + key: v for key, v in manifold_metrics(f_knn, fake, k).items()})

    distribution(f_s, "")
    # pixel space in [0, 1]; distances reported as RMS per pixel, comparable across image sizes
    n_px = int(np.prod(train.shape[1:]))
    near_px = nearest_training_images(samples, train, scale=1 / 255)
    near_ft = nearest_training_images(f_s, f_t, train_keys=train)
    m["memorised_share_pixel"] = float(near_px.memorised.mean())
    m["memorised_share_feature"] = float(near_ft.memorised.mean())
    m["nn_distance_pixel_mean"] = float(near_px.d1.mean() / np.sqrt(n_px))
    m["nn_distance_feature_mean"] = float(near_ft.d1.mean())

    shares, predicted = None, None
    if fx.kind == "classifier":
        probs = fx.predict_proba(samples)
        predicted = probs.argmax(axis=1)
        cd = class_distribution(probs, train_labels, class_names)
        shares = cd.pop("shares")
        m.update(cd)
        if val is not None and val_labels is not None:
            m["classifier_val_accuracy"] = float((fx.predict_proba(val).argmax(1) == np.asarray(val_labels)).mean())

    if val is not None:  # what real, held-out data scores: a training subset of the samples' size
        pick = np.sort(rng.choice(len(train), min(len(samples), len(train)), replace=False))
        distribution(f_t[pick], "real_")
        near_val = nearest_training_images(val, train, scale=1 / 255)
        m["real_memorised_share_pixel"] = float(near_val.memorised.mean())
        m["real_nn_distance_pixel_mean"] = float(near_val.d1.mean() / np.sqrt(n_px))
    return ImageScores({key: float(v) for key, v in m.items()}, near_px, near_ft, shares, predicted, fx.kind)


def evaluate_images(samples: np.ndarray, train_images: np.ndarray, val_images: np.ndarray | None = None,
                    **kwargs) -> dict[str, float]:
    """Headline image metrics as one flat dict of floats (JSON-ready).

    samples, train_images, val_images: uint8 (N, H, W, C), C in {1, 3}; samples of
    another size are resized to the training size (channels must match).
    Keys: n_samples, reference_is_validation (1.0 when FD etc. compare with val_images,
    0.0 when with train_images: no or too few validation images), fd, kid, kid_std,
    precision, recall, density, coverage,
    memorised_share_pixel, memorised_share_feature, nn_distance_pixel_mean (RMS per
    pixel, 0..1), nn_distance_feature_mean; with train_labels (2+ classes) also
    class_entropy, class_entropy_real, class_kl_to_real, class_missing,
    class_confidence_mean, and with val_labels classifier_val_accuracy; with
    val_images also real_fd, real_kid, real_kid_std, real_precision, real_recall,
    real_density, real_coverage, real_memorised_share_pixel, real_nn_distance_pixel_mean.
    Keyword arguments as for score_images (train_labels, val_labels, class_names, k,
    kid_subset_size, kid_subsets, max_reference, feature_config, cache_dir, seed).
    """
    return score_images(samples, train_images, val_images, **kwargs).metrics
