"""The article's L1/L2 controls applied during training.

1. A penalty on the weights added to the loss:
       L1: lambda * sum |w|        L2: lambda * sum w^2
   over the weight matrices and convolution kernels (tensors with 2 or more
   dimensions, embeddings included); biases and norm scales are left alone,
   as with weight decay. The sum (not the mean) keeps lambda's meaning the
   same for every model size: each weight feels a pull of lambda (L1) or
   2 * lambda * w (L2).
2. Noise uniform in an L1, L2 or L-inf ball of radius eps, added to every
   training input: to pixels (in model units, [-1, 1]) before the diffusion
   noise, or to token embeddings (NEFTune-style: a forward hook on the
   embedding layer that only acts in training mode). The samplers are
   genaug_core.augment.noise's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from genaug_core.augment.noise import add_ball_noise, neftune_eps

if TYPE_CHECKING:
    import torch


def penalized_parameters(model: torch.nn.Module) -> list[torch.Tensor]:
    """The tensors the penalty (and AdamW's weight decay) act on: every parameter with dim >= 2."""
    return [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]


def weight_penalty(params: list[torch.Tensor], kind: str, lam: float) -> torch.Tensor:
    """lambda * sum|w| (l1) or lambda * sum w^2 (l2) over `params`; a 0 tensor when off."""
    import torch

    if kind == "none" or lam == 0 or not params:
        device = params[0].device if params else None
        return torch.zeros((), device=device)
    if kind == "l1":
        total = sum(p.abs().sum() for p in params)
    elif kind == "l2":
        total = sum(p.pow(2).sum() for p in params)
    else:
        raise ValueError(f"penalty must be none, l1 or l2, got {kind!r}")
    return lam * total


def pixel_noise(x: torch.Tensor, eps: float, norm: str, generator: torch.Generator | None) -> torch.Tensor:
    """x (B, C, H, W) plus per-image noise uniform in the `norm` ball of radius eps."""
    if eps == 0:
        return x
    return add_ball_noise(x, eps, norm, generator=generator)


class EmbeddingNoise:
    """A forward hook for an nn.Embedding that adds ball noise to its output while training.

        hook = EmbeddingNoise(eps=0.1, norm="l2")
        model.get_input_embeddings().register_forward_hook(hook)

    Each sequence's (T, d) block of embeddings gets one perturbation of norm
    <= eps. With neftune=True, eps is NEFTune's alpha and the radius is
    alpha / sqrt(T * d). `generator` is reseeded by the loop every step.
    """

    def __init__(self, eps: float, norm: str = "l2", neftune: bool = False, generator: torch.Generator | None = None):
        self.eps, self.norm, self.neftune, self.generator = eps, norm, neftune, generator

    def radius(self, seq_len: int, dim: int) -> float:
        return neftune_eps(self.eps, seq_len, dim) if self.neftune else self.eps

    def __call__(self, module: torch.nn.Module, inputs, output: torch.Tensor) -> torch.Tensor:
        if not module.training or self.eps == 0:
            return output
        b, t, d = output.shape  # (B, T, d) token embeddings
        return add_ball_noise(output, self.radius(t, d), self.norm, generator=self.generator)
