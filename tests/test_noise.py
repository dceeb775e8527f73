"""Ball noise: every draw lies in the ball, eps = 0 is the identity, and the radii follow r^d.

For a uniform draw in a d-dimensional ball of radius eps (any norm), the
volume inside radius r grows like r^d, so (||x|| / eps)^d is uniform on [0, 1].
The KS tests check that with fixed seeds (float64, so rounding cannot matter).
"""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from genaug_core.augment.noise import NORMS, add_ball_noise, item_norms, neftune_eps, sample_ball

shapes = st.lists(st.integers(1, 6), min_size=1, max_size=3).flatmap(
    lambda dims: st.integers(1, 8).map(lambda b: (b, *dims))
)


@settings(max_examples=80, deadline=None)
@given(shape=shapes, eps=st.floats(0, 100), norm=st.sampled_from(NORMS), seed=st.integers(0, 2**31))
def test_every_sample_lies_in_the_ball(shape, eps, norm, seed):
    noise = sample_ball(shape, eps, norm, generator=torch.Generator().manual_seed(seed))
    assert noise.shape == shape and noise.dtype == torch.float32
    assert torch.isfinite(noise).all()
    assert (item_norms(noise, norm) <= eps * (1 + 1e-5) + 1e-6).all()


@settings(max_examples=30, deadline=None)
@given(shape=shapes, norm=st.sampled_from(NORMS))
def test_eps_zero_is_the_identity(shape, norm):
    x = torch.randn(shape)
    assert (sample_ball(shape, 0.0, norm) == 0).all()
    out = add_ball_noise(x, 0.0, norm)
    assert torch.equal(out, x) and out is not x


def test_add_ball_noise_leaves_the_input_alone():
    x = torch.zeros(4, 3, 5)
    out = add_ball_noise(x, 1.0, "l2", generator=torch.Generator().manual_seed(0))
    assert (x == 0).all() and not torch.equal(out, x)


@pytest.mark.parametrize("norm", ["l2", "l1"])
@pytest.mark.parametrize("d", [1, 2, 5, 32])
def test_radius_distribution_matches_r_to_the_d(norm, d):
    eps = 2.5
    gen = torch.Generator().manual_seed(1234 + d)
    noise = sample_ball((4000, d), eps, norm, generator=gen, dtype=torch.float64)
    u = (item_norms(noise, norm) / eps) ** d  # uniform on [0, 1] for a uniform draw in the ball
    result = stats.kstest(u.numpy(), "uniform")
    assert result.pvalue > 1e-3, (norm, d, result)
    # and not merely uniform radii: the wrong law (r ~ U) must fail the same test for d > 1
    if d > 1:
        wrong = (item_norms(noise, norm) / eps).numpy()
        assert stats.kstest(wrong, "uniform").pvalue < 1e-3


def test_linf_coordinates_are_uniform_and_signs_balanced():
    noise = sample_ball((2000, 3), 0.5, "linf", generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert stats.kstest((noise.flatten() / 0.5).numpy(), "uniform", args=(-1, 2)).pvalue > 1e-3
    for norm in ("l1", "l2"):
        n = sample_ball((4000, 4), 1.0, norm, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        assert abs(float((n > 0).double().mean()) - 0.5) < 0.02  # symmetric about 0


def test_same_generator_seed_same_noise():
    a = sample_ball((3, 7), 1.0, "l1", generator=torch.Generator().manual_seed(5))
    b = sample_ball((3, 7), 1.0, "l1", generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="norm"):
        sample_ball((2, 3), 1.0, "l3")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="eps"):
        sample_ball((2, 3), -1.0)
    with pytest.raises(ValueError, match="eps"):
        sample_ball((2, 3), math.inf)


def test_neftune_eps():
    assert neftune_eps(5.0, 100, 64) == pytest.approx(5.0 / math.sqrt(6400))
    assert neftune_eps(5.0, 0, 0) == 5.0
