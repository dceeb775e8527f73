"""A small image autoencoder for latent diffusion: diffusers' AutoencoderKL, sized for a CPU.

Latent diffusion (Rombach et al. 2022, Stable Diffusion) trains the denoiser on an autoencoder's
latents instead of on pixels: a 32x32x3 image becomes an 8x8x4 latent (downsample 4), so each
UNet step works on 16x fewer positions. Here the autoencoder is not downloaded: it is trained on
the user's own training images, as the first phase of the same run (seconds to a minute), with
the reconstruction loss (MSE in [-1, 1]) plus a very small KL term (weight 1e-6, Stable
Diffusion's value) that keeps the latent space smooth without blurring.

As in Stable Diffusion, the latents the UNet sees are the encoder's mean times a
`scaling_factor` that gives them unit standard deviation; the factor is measured on the
training images after training and stored in the VAE's own config (`vae.config.scaling_factor`),
so a plain diffusers user decodes with `vae.decode(z / vae.config.scaling_factor)`.

    vae = build_autoencoder(in_channels=3, preset="small", downsample=4, latent_channels=4)
    stats = train_autoencoder(vae, images_uint8, steps=600, batch_size=32, lr=1e-3, seed=0)
    z = encode(vae, x)     # (N, 3, 32, 32) in [-1, 1] -> (N, 4, 8, 8), unit-std latents
    x = decode(vae, z)     # back to (N, 3, 32, 32), clamped to [-1, 1]
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from genaug_core.errors import ConfigError

if TYPE_CHECKING:
    import torch
    from diffusers import AutoencoderKL

# preset -> channels of the widest levels; the first len = log2(downsample) + 1 are used
AUTOENCODER_PRESETS: dict[str, tuple[int, ...]] = {
    "tiny": (8, 16, 16, 16),  # tests
    "small": (32, 64, 64, 64),  # 32x32 and 64x64 photos on 2 cores
}
DOWNSAMPLES = (2, 4, 8)
KL_WEIGHT = 1e-6  # Stable Diffusion's KL weight: a nearly deterministic autoencoder with a smooth latent space


def _groups(channels: tuple[int, ...]) -> int:
    """The largest GroupNorm group count (<= 32) dividing every channel count."""
    return next(g for g in (32, 16, 8, 4, 2, 1) if all(c % g == 0 for c in channels))


def build_autoencoder(
    in_channels: int, preset: str = "small", downsample: int = 4, latent_channels: int = 4,
    channels: tuple[int, ...] = (), sample_size: int = 32,
) -> AutoencoderKL:  # fmt: skip
    """A freshly initialised AutoencoderKL that shrinks each side `downsample` times (2, 4 or 8)."""
    from diffusers import AutoencoderKL

    if downsample not in DOWNSAMPLES:
        raise ConfigError(f"autoencoder downsample {downsample} is not allowed; choose one of {DOWNSAMPLES}")
    if preset not in AUTOENCODER_PRESETS:
        raise ConfigError(f"autoencoder preset {preset!r} is not known; choose one of {', '.join(AUTOENCODER_PRESETS)}")
    levels = int(math.log2(downsample)) + 1  # AutoencoderKL halves the size between levels
    widths = tuple(channels) if channels else AUTOENCODER_PRESETS[preset][:levels]
    if len(widths) != levels:
        raise ConfigError(f"autoencoder channels {widths} need {levels} levels for downsample {downsample}")
    return AutoencoderKL(
        in_channels=in_channels,
        out_channels=in_channels,
        down_block_types=("DownEncoderBlock2D",) * levels,
        up_block_types=("UpDecoderBlock2D",) * levels,
        block_out_channels=widths,
        layers_per_block=1,
        latent_channels=latent_channels,
        norm_num_groups=_groups(widths),
        sample_size=sample_size,
        scaling_factor=1.0,  # measured after training (train_autoencoder)
    )


def _device(vae: AutoencoderKL):
    return next(vae.parameters()).device


def encode(vae: AutoencoderKL, x: torch.Tensor) -> torch.Tensor:
    """Pixels (N, C, H, W) in [-1, 1] -> scaled latents (N, L, H/f, W/f) (the posterior's mean)."""
    return vae.encode(x).latent_dist.mode() * vae.config.scaling_factor


def decode(vae: AutoencoderKL, z: torch.Tensor) -> torch.Tensor:
    """Scaled latents (N, L, h, w) -> pixels (N, C, h*f, w*f), clamped to [-1, 1]."""
    return vae.decode(z / vae.config.scaling_factor).sample.clamp(-1, 1)


def reconstruct(vae: AutoencoderKL, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """uint8 (N, H, W, C) -> the autoencoder's uint8 reconstruction (N, H, W, C)."""
    import torch

    from genaug_core.models.image import to_model_units, to_uint8

    was_training = vae.training
    vae.eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(images), batch_size):
            x = to_model_units(images[s : s + batch_size]).to(_device(vae))  # (b, C, H, W)
            out.append(to_uint8(decode(vae, encode(vae, x))))
    vae.train(was_training)
    return np.concatenate(out) if out else images[:0].copy()


def reconstruction_mse(vae: AutoencoderKL, images: np.ndarray, batch_size: int = 64) -> float:
    """Mean squared reconstruction error in model units ([-1, 1]) over uint8 (N, H, W, C) images."""
    import torch

    from genaug_core.models.image import to_model_units

    was_training = vae.training
    vae.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(images), batch_size):
            x = to_model_units(images[s : s + batch_size]).to(_device(vae))
            total += float(((vae(x).sample.clamp(-1, 1) - x) ** 2).sum())  # vae(x) decodes the posterior's mode
            count += x.numel()
    vae.train(was_training)
    return total / max(count, 1)


def psnr(mse: float) -> float:
    """Peak signal-to-noise ratio in dB of an MSE in [-1, 1] units (peak-to-peak 2)."""
    return 10 * math.log10(4.0 / mse) if mse > 0 else float("inf")


def measure_scaling_factor(vae: AutoencoderKL, images: np.ndarray, batch_size: int = 64) -> float:
    """1 / std of the unscaled latents of `images` (Stable Diffusion's recipe), stored in vae.config."""
    import torch

    from genaug_core.models.image import to_model_units

    vae.eval()
    with torch.no_grad():
        z = torch.cat([
            vae.encode(to_model_units(images[s : s + batch_size]).to(_device(vae))).latent_dist.mode()
            for s in range(0, len(images), batch_size)
        ])  # (N, L, h, w), unscaled  # fmt: skip
    std = float(z.float().std())
    factor = 1.0 / std if std > 0 else 1.0
    vae.register_to_config(scaling_factor=factor)
    return factor


def train_autoencoder(
    vae: AutoencoderKL, images: np.ndarray, steps: int, batch_size: int, lr: float, seed: int,
    log: Callable[[str], None] | None = None, log_every: int = 100,
) -> dict[str, Any]:  # fmt: skip
    """Train `vae` on uint8 (N, H, W, C) images (reconstruction MSE + KL_WEIGHT * KL), then measure its
    scaling factor. Returns {"steps", "seconds", "train_mse", "scaling_factor"}; `log` gets a progress line
    every `log_every` steps. Batches are drawn from a generator seeded with `seed`, so it is reproducible."""
    import torch

    from genaug_core.models.image import to_model_units

    if len(images) == 0:
        raise ConfigError("the autoencoder needs at least one training image")
    rng = np.random.default_rng([seed, 7])
    gen = torch.Generator().manual_seed(seed)
    device = next(vae.parameters()).device
    opt = torch.optim.AdamW(vae.parameters(), lr=lr, weight_decay=0.0)
    vae.train()
    t0 = time.perf_counter()
    recent: list[float] = []
    for step in range(1, steps + 1):
        for group in opt.param_groups:  # cosine decay to 10% of lr: the last steps polish the reconstruction
            group["lr"] = lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - 1) / max(steps, 1))))
        idx = rng.integers(0, len(images), size=min(batch_size, len(images)))
        x = to_model_units(images[idx]).to(device)  # (B, C, H, W) in [-1, 1]
        posterior = vae.encode(x).latent_dist
        z = posterior.sample(generator=gen)  # (B, L, h, w): the reparameterised latent
        recon = vae.decode(z).sample  # (B, C, H, W)
        mse = torch.nn.functional.mse_loss(recon, x)
        loss = mse + KL_WEIGHT * posterior.kl().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        recent.append(float(mse.detach()))
        if log is not None and (step % log_every == 0 or step == steps):
            avg = sum(recent) / len(recent)
            log(f"autoencoder step {step}/{steps}: reconstruction MSE {avg:.5f} ({psnr(avg):.1f} dB), "
                f"{time.perf_counter() - t0:.0f}s")  # fmt: skip
            recent = []
    seconds = time.perf_counter() - t0
    factor = measure_scaling_factor(vae, images)
    train_mse = reconstruction_mse(vae, images[:512])
    return {"steps": steps, "seconds": seconds, "train_mse": train_mse, "scaling_factor": factor}
