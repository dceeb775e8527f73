"""Noise drawn uniformly from the L1, L2 or L-infinity ball of radius eps.

This is the article's "regularization augmentation" in data space: every
training input is moved by a random perturbation whose norm is at most eps.
The samplers are exact (uniform in the ball, in any dimension) and batched:
for a tensor of shape (B, ...) each of the B items gets its own perturbation
whose norm is taken over all its other dimensions.

- L2: a uniform direction (normalised Gaussian) times eps * U^(1/d), because
  the volume inside radius r grows like r^d.
- L1: d+1 standard exponentials E; x_i = E_i / sum(E) lies uniformly in the
  unit simplex {x >= 0, sum x <= 1}; random signs make it the L1 ball.
- L-inf: every coordinate uniform in [-eps, eps].

NEFTune (Jain et al., 2023) adds uniform noise scaled by alpha / sqrt(L * d)
to token embeddings of a sequence of L tokens of width d; `neftune_eps` gives
that radius, to be used with the L-inf ball.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import torch

Norm = Literal["l1", "l2", "linf"]
NORMS: tuple[str, ...] = ("l1", "l2", "linf")


def sample_ball(
    shape: tuple[int, ...] | torch.Size,
    eps: float,
    norm: Norm = "l2",
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Return noise of `shape` = (B, ...) with each item uniform in the `norm` ball of radius eps."""
    import torch

    if norm not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
    if eps < 0 or not math.isfinite(eps):
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
    dtype = dtype or torch.float32
    shape = tuple(shape)
    if len(shape) < 1:
        raise ValueError("shape must have a batch dimension")
    b, d = shape[0], math.prod(shape[1:])
    kw = {"generator": generator, "dtype": dtype, "device": device}
    if eps == 0 or b == 0 or d == 0:
        return torch.zeros(shape, dtype=dtype, device=device)
    if norm == "linf":
        noise = (torch.rand((b, d), **kw) * 2 - 1) * eps
    elif norm == "l2":
        direction = torch.randn((b, d), **kw)
        direction = direction / direction.norm(dim=1, keepdim=True).clamp_min(1e-12)
        radius = torch.rand((b, 1), **kw).pow(1.0 / d) * eps
        noise = direction * radius
    else:  # l1
        # -log(U) is an Exp(1) draw; it is ~2x faster than Tensor.exponential_ here
        e = -torch.log(torch.rand((b, d + 1), **kw).clamp_min(1e-30))
        simplex = e[:, :d] / e.sum(dim=1, keepdim=True)
        signs = torch.randint(0, 2, (b, d), generator=generator, device=device).to(dtype) * 2 - 1
        noise = simplex * signs * eps
    return noise.reshape(shape)


def add_ball_noise(
    x: torch.Tensor, eps: float, norm: Norm = "l2", generator: torch.Generator | None = None
) -> torch.Tensor:
    """x plus ball noise of radius eps per item (a new tensor; x is not changed)."""
    if eps == 0:
        return x.clone()
    return x + sample_ball(x.shape, eps, norm, generator=generator, dtype=x.dtype, device=x.device)


def item_norms(noise: torch.Tensor, norm: Norm = "l2"):
    """The `norm` of each item of a (B, ...) tensor: (B,)."""
    flat = noise.reshape(noise.shape[0], -1)
    if norm == "l1":
        return flat.abs().sum(dim=1)
    if norm == "l2":
        return flat.norm(dim=1)
    return flat.abs().amax(dim=1)


def neftune_eps(alpha: float, seq_len: int, dim: int) -> float:
    """NEFTune's noise scale alpha / sqrt(L * d) for L tokens of embedding width d."""
    return float(alpha) / math.sqrt(max(1, seq_len) * max(1, dim))
