"""Image metrics on known cases: hand-computed formulas, identical, copied, shifted and collapsed sets."""

import json

import numpy as np
import pytest

from genaug_core.errors import ConfigError, DataError
from genaug_core.metrics import features as FE
from genaug_core.metrics import image as I

FAST = FE.FeatureConfig(steps=150)  # ~1 s on one thread; the default (300 steps) is for real scoring


@pytest.fixture(scope="module")
def digits():
    from genaug_core.data.builtin import load_builtin

    ds = load_builtin("digits")
    sp = ds.split
    return ds.images[sp.train], ds.labels[sp.train], ds.images[sp.validation], ds.labels[sp.validation]


def score(samples, digits, **kw):
    tr, ytr, va, yva = digits
    return I.evaluate_images(samples, tr, va, train_labels=ytr, val_labels=yva, feature_config=FAST, **kw)


# ---------------------------------------------------------------- formulas


def test_frechet_distance_of_known_gaussians():
    # diagonal covariances: FD = |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    expected = 1 + 0 + 4 + (1 - 2) ** 2 + 0 + (3 - 1) ** 2
    assert I.frechet_distance_from_stats(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected)


def test_frechet_distance_matches_scipy_sqrtm():
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 6)), rng.normal(size=(150, 6)) @ rng.normal(size=(6, 6)) + 0.5
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    expected = np.sum((x.mean(0) - y.mean(0)) ** 2) + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real)
    assert I.frechet_distance(x, y) == pytest.approx(expected, rel=1e-9)
    assert I.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)


def test_kid_matches_torchmetrics_poly_mmd():
    import torch
    from torchmetrics.image.kid import poly_mmd

    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 8)), rng.normal(size=(40, 8)) + 0.3
    expected = float(poly_mmd(torch.from_numpy(x), torch.from_numpy(y)))
    assert I.poly_mmd2(x, y) == pytest.approx(expected, rel=1e-9)
    assert I.kid(x, y)[0] == pytest.approx(expected)  # both sets fit one subset: exact, std 0
    # subsets: the one-matmul path equals the plain loop over the same seeded draws
    rng = np.random.default_rng(7)
    vals = [I.poly_mmd2(x[rng.choice(40, 25, replace=False)], y[rng.choice(40, 25, replace=False)]) for _ in range(5)]
    assert I.kid(x, y, subset_size=25, n_subsets=5, seed=7) == pytest.approx((np.mean(vals), np.std(vals)))


def test_precision_recall_density_coverage_hand_case():
    real = np.array([[0.0], [1.0], [2.0], [3.0]])  # k=1 radii: 1 each
    fake = np.array([[0.5], [10.0]])  # fake k=1 radii: 9.5 each
    # precision: 0.5 is inside a real ball, 10 is not; recall: every real point lies within 9.5 of 0.5
    assert I.precision_recall(real, fake, k=1) == {"precision": 0.5, "recall": 1.0}
    # density: 0.5 lies in the balls of 0 and 1 -> 2 / (k * 2 samples); coverage: balls of 0 and 1 hold a sample
    assert I.density_coverage(real, fake, k=1) == {"density": 1.0, "coverage": 0.5}
    assert I.precision_recall(real, real, k=1) == {"precision": 1.0, "recall": 1.0}
    with pytest.raises(DataError, match="k=3"):
        I.precision_recall(real[:3], fake, k=3)


def test_one_third_rule_hand_case():
    train = np.array([[0.0], [1.0], [10.0], [0.0]])  # a duplicate of 0 is merged, not a second neighbour
    near = I.nearest_training_images(np.array([[0.1], [0.4], [0.0]]), train)
    np.testing.assert_allclose(near.d1, [0.1, 0.4, 0.0])
    np.testing.assert_allclose(near.d2, [0.9, 0.6, 1.0])
    assert near.memorised.tolist() == [True, False, True]
    assert near.index.tolist() == [0, 0, 0]


def test_class_distribution_hand_case():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])  # predicted 0, 0, 1, 0
    cd = I.class_distribution(probs, np.array([0, 1]), ["a", "b"])
    assert cd["shares"] == {"a": 0.75, "b": 0.25}
    h = -(0.75 * np.log2(0.75) + 0.25 * np.log2(0.25))
    assert cd["class_entropy"] == pytest.approx(h)
    assert cd["class_entropy_real"] == pytest.approx(1.0)
    assert cd["class_kl_to_real"] == pytest.approx(1.0 - h)  # KL(p || uniform over 2) = log2(2) - H(p)
    assert cd["class_confidence_mean"] == pytest.approx(0.75)
    assert cd["class_missing"] == 0.0


# ---------------------------------------------------------------- end to end on digits


def test_identical_sets_score_perfectly_and_shifted_worse(digits):
    tr, ytr, va, yva = digits
    same = score(va, digits)
    shifted = score(np.clip(va.astype(int) + 60, 0, 255).astype(np.uint8), digits)
    assert same["fd"] < 1e-6 * shifted["fd"] + 1e-9
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    assert same["memorised_share_pixel"] == 0.0  # held-out digits are not copies
    assert shifted["fd"] > 5 * same["real_fd"]
    assert shifted["kid"] > 10 * abs(same["real_kid"]) + 0.1
    assert shifted["recall"] < 0.5 < same["real_recall"]
    assert shifted["coverage"] < 0.5 < same["real_coverage"]
    assert same["classifier_val_accuracy"] > 0.85
    json.dumps(same)


def test_copies_are_memorised_and_collapse_is_caught(digits):
    tr = digits[0]
    copies = score(tr[:150], digits)
    assert copies["memorised_share_pixel"] == 1.0
    assert copies["memorised_share_feature"] == 1.0
    assert copies["nn_distance_pixel_mean"] == 0.0
    assert copies["real_memorised_share_pixel"] < 0.05  # held-out digits against the same rule
    collapsed = score(np.repeat(digits[2][:1], 150, axis=0), digits)
    assert collapsed["recall"] < 0.1 and collapsed["coverage"] < 0.1
    assert collapsed["class_entropy"] == 0.0
    assert collapsed["class_kl_to_real"] > 3.0  # about log2(10) bits from a balanced set
    assert collapsed["fd"] > 10 * copies["real_fd"]


def test_noisy_samples_and_other_sizes(digits):
    tr, ytr, va, yva = digits
    rng = np.random.default_rng(0)
    noisy = np.clip(va + rng.normal(0, 60, va.shape), 0, 255).astype(np.uint8)
    s = I.score_images(noisy, tr, va, train_labels=ytr, feature_config=FAST)
    # classifier features shrug off much of the noise (they were trained to ignore what does not
    # change the class), so FD rises only a little; the pixel distance to the nearest real digit shows it
    assert s.metrics["fd"] > 1.5 * s.metrics["real_fd"]
    assert s.metrics["nn_distance_pixel_mean"] > 1.5 * s.metrics["real_nn_distance_pixel_mean"]
    assert s.predicted.shape == (len(va),) and sum(s.class_shares.values()) == pytest.approx(1.0)
    # 16x16 samples (a model trained at twice the size) are brought back to 8x8 by box averaging
    big = np.repeat(np.repeat(va, 2, axis=1), 2, axis=2)
    np.testing.assert_array_equal(I._resize_like(big, 8, 8), va)
    m = score(big, digits)
    assert m["fd"] < 1e-6 and m["precision"] == m["recall"] == 1.0
    with pytest.raises(DataError, match="channels"):
        score(np.repeat(va, 3, axis=3), digits)
    with pytest.raises(DataError, match="uint8"):
        score(va.astype(np.float32), digits)


def test_fd_matches_torchmetrics_with_our_feature_module(digits):
    import torch
    from torchmetrics.image.fid import FrechetInceptionDistance

    tr, ytr, va, _ = digits
    fx = FE.get_feature_extractor(tr, ytr, None, FAST)
    fid = FrechetInceptionDistance(feature=fx.torchmetrics_module())
    fake = tr[:300]
    fid.update(torch.from_numpy(va).permute(0, 3, 1, 2).repeat(1, 3, 1, 1), real=True)  # RGB, as torchmetrics expects
    fid.update(torch.from_numpy(fake).permute(0, 3, 1, 2).repeat(1, 3, 1, 1), real=False)
    ours = I.frechet_distance(fx.features(fake), fx.features(va))
    assert float(fid.compute()) == pytest.approx(ours, rel=1e-3)


def test_features_are_deterministic_and_disk_cached(digits, tmp_path):
    tr = digits[0][:300]
    cfg = FE.FeatureConfig(steps=40, seed=5)
    import torch

    FE.clear_cache()
    state = torch.random.get_rng_state()
    a = FE.get_feature_extractor(tr, None, None, cfg, cache_dir=tmp_path)  # no labels: autoencoder
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's RNG is left alone
    assert a.kind == "autoencoder" and a.train_seconds > 0
    fa = a.features(digits[2])
    FE.clear_cache()
    b = FE._train(tr, None, 0, cfg, a.key)  # trained again from scratch
    np.testing.assert_array_equal(b.features(digits[2]), fa)
    FE.clear_cache()
    c = FE.get_feature_extractor(tr, None, None, cfg, cache_dir=tmp_path)  # read from the safetensors file
    assert c.train_seconds == 0.0 and list(tmp_path.glob("*.safetensors"))
    np.testing.assert_array_equal(c.features(digits[2]), fa)
    assert FE.get_feature_extractor(tr, None, None, cfg) is c  # in-process cache
    m1 = I.evaluate_images(digits[2], tr, feature_config=cfg, seed=1)
    m2 = I.evaluate_images(digits[2], tr, feature_config=cfg, seed=1)
    assert m1 == m2 and "class_entropy" not in m1 and "real_fd" not in m1


def test_bad_settings_raise():
    with pytest.raises(ConfigError, match="FeatureConfig.steps"):
        FE.FeatureConfig(steps=0)
    with pytest.raises(ConfigError, match="k must"):
        I.evaluate_images(np.zeros((4, 8, 8, 1), np.uint8), np.zeros((4, 8, 8, 1), np.uint8), k=0)


def test_small_or_missing_validation_falls_back_to_training(digits):
    tr, ytr, va, _ = digits
    m = I.evaluate_images(va[:50], tr, va[:3], train_labels=ytr, feature_config=FAST)  # 3 <= k
    assert m["reference_is_validation"] == 0.0 and "real_fd" not in m
    assert score(va[:50], digits)["reference_is_validation"] == 1.0
    with pytest.raises(DataError, match="more than k"):
        score(va[:3], digits)


def test_blocked_paths_match_one_shot(digits, monkeypatch):
    # small blocks: the running top-2 and the k-NN sums over chunks give the same answers
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(300, 5)), rng.normal(size=(200, 5)) + 0.2
    whole = I.manifold_metrics(real, fake)
    near = I.nearest_training_images(fake, real)
    monkeypatch.setattr(I, "_ROWS", 7)
    monkeypatch.setattr(I, "_BLOCK_ELEMS", 5 * 11)  # 11 training rows per block
    assert I.manifold_metrics(real, fake) == whole
    small = I.nearest_training_images(fake, real)
    np.testing.assert_array_equal(small.index, near.index)
    np.testing.assert_allclose(small.d2, near.d2)
