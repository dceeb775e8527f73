"""The latent-diffusion model kind: an AutoencoderKL trained on the run's images, then a DDPM on its latents.

Latent diffusion (Rombach et al. 2022) denoises an autoencoder's latents instead of pixels: with
downsample 4 a 32x32x3 image is an 8x8x4 latent, so the UNet works on 16x fewer positions. A run of
this kind has two phases in one process:

1. the autoencoder (genaug_core/models/autoencoder.py) trains on the training images for
   `autoencoder_steps` steps (seconds to a minute); its progress goes to the log, its reconstruction
   error on the held-out images into every validation record (`ae_mse`) and the log's "model:" line,
   and originals beside their reconstructions into samples/autoencoder.png (a Cancel during this phase
   takes effect when it ends, at the loop's first step);
2. the DDPM recipe of kinds/ddpm.py (DDPMTask, with its two hooks `_model_space` and `_encode`) trains
   the UNet on the frozen autoencoder's latents. Augmentation, non-leaking vectors and L1/L2-ball noise
   act on pixels, before encoding; class conditioning is the DDPM's.

Sampling denoises latents (DDIM or DPM-Solver++, without clipping: latents are not bounded like
pixels) and decodes them. A saved model is the DDPM's flat folder plus the autoencoder in `vae/`,
all loadable with plain diffusers:

    unet = UNet2DModel.from_pretrained("runs/<id>/model")
    vae = AutoencoderKL.from_pretrained("runs/<id>/model/vae")  # the folder itself: with subfolder="vae",
                                                                # diffusers would take the UNet's weights beside it
    scheduler = DDIMScheduler.from_pretrained("runs/<id>/model", timestep_spacing="trailing")
    # denoise z ~ N(0, I) of shape (n, unet.config.in_channels, s, s), then
    # images = vae.decode(z / vae.config.scaling_factor).sample   # in [-1, 1]
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np

from genaug_core.errors import ConfigError, RunError
from genaug_core.kinds.base import read_meta, register_kind
from genaug_core.kinds.ddpm import DDPM, DDPMTask, ImageModelConfig
from genaug_core.settings import check_choice, check_range

RECONSTRUCTIONS_FILE = "autoencoder.png"  # in samples/: originals (top row) above their reconstructions
VAE_DIR = "vae"  # the autoencoder's save_pretrained folder inside model/
N_SHOWN = 8  # training images shown beside their reconstructions


@dataclasses.dataclass(frozen=True)
class LatentModelConfig(ImageModelConfig):
    """An AutoencoderKL trained first on the run's images, then a UNet2DModel DDPM on its latents.
    The preset sizes both: tiny (tests), else a CPU-sized autoencoder and the DDPM preset for the latent size."""

    # the recipe measured on latents (bench/train_image.py --dataset photos --arms latent_ema,latent_v_g2_ema):
    # v-prediction sampled with guidance 2 reached FD 1.8 on 32x32 photos after 116 s where epsilon without
    # guidance needed 301 s for 7.3 (both with an EMA of 0.995); the pixel kind keeps epsilon and 1
    prediction_type: Literal["epsilon", "v_prediction"] = "v_prediction"
    guidance_scale: float = 2.0
    # how many times the autoencoder shrinks each side: 2, 4 or 8 (32x32 -> 8x8 at 4)
    downsample: int = 4
    # channels of a latent, 1-16 (Stable Diffusion: 4)
    latent_channels: int = 4
    # autoencoder training steps before the UNet trains, 1-100,000 (the first phase of the run)
    autoencoder_steps: int = 200
    # autoencoder batch size, 1-1,024, and AdamW learning rate, 1e-6 to 1
    autoencoder_batch_size: int = 32
    autoencoder_lr: float = 1e-3

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("LatentModelConfig", "downsample", self.downsample, (2, 4, 8))
        check_range("LatentModelConfig", "latent_channels", self.latent_channels, 1, 16)
        check_range("LatentModelConfig", "autoencoder_steps", self.autoencoder_steps, 1, 100_000)
        check_range("LatentModelConfig", "autoencoder_batch_size", self.autoencoder_batch_size, 1, 1024)
        check_range("LatentModelConfig", "autoencoder_lr", self.autoencoder_lr, 1e-6, 1.0)


def _print_log(message: str) -> None:
    """A log line like the loop's (the training child's stdout is the run's log.txt)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class LatentTask(DDPMTask):
    """DDPMTask on latents: `_model_space` trains (or loads) the autoencoder, `_encode` maps pixels to latents."""

    def _model_space(self, ds, resume_dir: Path | None) -> tuple[int, int]:
        import torch

        from genaug_core.models import autoencoder as ae

        mcfg, f = self.mcfg, self.mcfg.downsample
        if self.size % f:
            raise ConfigError(
                f"image size {self.size} must be a multiple of model.{self.kind.section}.downsample = {f}; "
                f"set model.{self.kind.section}.image_size or preprocess.image_size"
            )
        train_images = self._pixels(ds.images[ds.split.train])  # uint8 (N, S, S, C)
        self.shown = train_images[:N_SHOWN]
        val_images = self._pixels(ds.images[ds.split.validation[:512]])
        if resume_dir is not None:  # a resumed (or warm-started) run keeps its autoencoder
            from diffusers import AutoencoderKL

            if not (resume_dir / VAE_DIR).is_dir():
                raise RunError(f"{resume_dir}: no {VAE_DIR}/ autoencoder to continue a latent run from")
            self.vae = AutoencoderKL.from_pretrained(resume_dir / VAE_DIR, use_safetensors=True)
            self.ae_stats = {"resumed": True}
            self.ae_seconds = float(read_meta(resume_dir).get("latent", {}).get("autoencoder_seconds") or 0.0)
        else:
            with torch.random.fork_rng():
                torch.manual_seed(self.cfg.train.seed)
                self.vae = ae.build_autoencoder(
                    ds.channels, "tiny" if mcfg.preset == "tiny" else "small", f, mcfg.latent_channels,
                    sample_size=self.size,
                )  # fmt: skip
            log = _print_log if self.rank == 0 else None
            if log:
                n = sum(p.numel() for p in self.vae.parameters())
                log(f"autoencoder: AutoencoderKL {tuple(self.vae.config.block_out_channels)}, {n / 1e6:.2f}M "
                    f"parameters, {self.size}x{self.size}x{ds.channels} -> {self.size // f}x{self.size // f}x"
                    f"{mcfg.latent_channels}; training {mcfg.autoencoder_steps} steps on {len(train_images):,} images")
            self.vae.to(self.device)
            self.ae_stats = ae.train_autoencoder(
                self.vae, train_images, mcfg.autoencoder_steps, mcfg.autoencoder_batch_size, mcfg.autoencoder_lr,
                seed=self.cfg.train.seed, log=log, log_every=max(1, mcfg.autoencoder_steps // 6),
            )  # fmt: skip
            self.ae_seconds = self.ae_stats["seconds"]  # wall time of the first phase (kept across resumes)
        self.vae.to(self.device).eval().requires_grad_(False)  # frozen while the UNet trains
        self.ae_val_mse = ae.reconstruction_mse(self.vae, val_images) if len(val_images) else None
        return self.size // f, mcfg.latent_channels

    def _pixels(self, images: np.ndarray) -> np.ndarray:
        """uint8 (N, H, W, C) at the size the run trains at (resized like the batches are)."""
        from genaug_core.models import image as im

        if images.shape[1] == self.size or len(images) == 0:
            return images
        return im.to_uint8(im.resize(im.to_model_units(images), self.size))

    def __init__(self, kind, cfg, ds, device, rank: int, resume_dir: Path | None):
        super().__init__(kind, cfg, ds, device, rank, resume_dir)
        if resume_dir is None:  # latents are not bounded like pixels: the schedule must not clip them
            from diffusers import DDPMScheduler

            self.scheduler = DDPMScheduler.from_config(self.scheduler.config, clip_sample=False)
        # the frozen encoder maps a clean training image to the same latent at every step: encode each once.
        # Images an augmentation or the input noise changed miss the cache and are encoded in the step.
        self._cache = dict(zip((_key(x) for x in self.batches.x), self._encode(self.batches.x), strict=True))

    def _encode(self, x0):
        import torch

        from genaug_core.models.autoencoder import encode

        cache = getattr(self, "_cache", {})  # (built once the training images are known)
        found = [cache.get(_key(x)) for x in x0] if cache else [None] * len(x0)
        todo = [i for i, z in enumerate(found) if z is None]
        if todo:
            with torch.no_grad():  # the autoencoder is frozen; chunks keep a large encode small
                fresh = x0[todo]
                z = torch.cat([encode(self.vae, fresh[s : s + 256]) for s in range(0, len(fresh), 256)])
            for i, zi in zip(todo, z, strict=True):
                found[i] = zi
        return torch.stack(found).to(x0.device)  # (B, L, s, s)

    def describe(self) -> str:
        n = sum(p.numel() for p in self.model.parameters())
        c, f = self.model.config, self.mcfg.downsample
        cond = f"{self.num_classes} classes + no class" if self.num_classes else "unconditional"
        return (
            f"latent diffusion: {self._ae_line()}; UNet2DModel channels {tuple(c.block_out_channels)} on "
            f"{c.sample_size}x{c.sample_size}x{c.in_channels} latents ({self.size}x{self.size} pixels / {f}), {cond}, "
            f"{n / 1e6:.2f}M parameters; {len(self.batches):,} training images, batch {self.batch_size}"
        )

    def _ae_line(self) -> str:
        from genaug_core.models.autoencoder import psnr

        held = "" if self.ae_val_mse is None else f", held-out MSE {self.ae_val_mse:.5f} ({psnr(self.ae_val_mse):.1f} dB)"
        if self.ae_stats.get("resumed"):
            return f"autoencoder from the checkpoint{held}"
        s = self.ae_stats
        return (f"autoencoder trained {s['steps']} steps in {s['seconds']:.1f}s, training MSE {s['train_mse']:.5f}"
                f"{held}, scaling factor {s['scaling_factor']:.3f}")  # fmt: skip

    def evaluate(self, model) -> dict[str, float]:
        out = super().evaluate(model)
        if out and self.ae_val_mse is not None:
            out["ae_mse"] = self.ae_val_mse  # the frozen autoencoder's held-out reconstruction error
        return out

    def write_samples(self, model, path_stem: Path, n: int, seed: int) -> Path:
        shown = path_stem.parent / RECONSTRUCTIONS_FILE
        if not shown.exists():
            write_reconstructions(self.vae, self.shown, shown)
        return super().write_samples(model, path_stem, n, seed)

    def _decoder(self):
        return _decoder(self.vae)  # latents -> pixels

    def meta(self) -> dict[str, Any]:
        c = self.vae.config
        latent = {"downsample": self.mcfg.downsample, "channels": c.latent_channels, "scaling_factor": c.scaling_factor,
                  "autoencoder_seconds": self.ae_seconds, "autoencoder_val_mse": self.ae_val_mse}
        return {**super().meta(), "latent": latent}

    def save(self, model, folder: Path) -> None:
        super().save(model, folder)  # the UNet, scheduler and genaug.json, flat (as the DDPM kind)
        self.vae.save_pretrained(folder / VAE_DIR, safe_serialization=True)


def _key(x) -> bytes:
    """The latent cache's key: a digest of a clean image's exact bytes (C, S, S), not the bytes themselves."""
    import hashlib

    return hashlib.blake2b(x.detach().cpu().numpy().tobytes(), digest_size=16).digest()


def write_reconstructions(vae, images: np.ndarray, path: Path) -> None:
    """A PNG: `images` (uint8 (N, H, W, C)) in the top row, the autoencoder's reconstructions below, each
    enlarged to at least 64 px."""
    from genaug_core import runs
    from genaug_core.models.autoencoder import reconstruct
    from genaug_core.models.image import make_grid

    if len(images) == 0:
        return
    both = np.concatenate([images, reconstruct(vae, images)])  # (2N, H, W, C)
    runs.write_png(path, make_grid(both, ncols=len(images)), scale=max(1, math.ceil(64 / images.shape[1])))


def _decoder(vae):
    """Scaled latents (B, L, s, s) -> pixels (B, C, S, S) in [-1, 1]: what sampling a latent model ends with."""
    from genaug_core.models.autoencoder import decode

    return lambda z: decode(vae, z)


@register_kind
class LDM(DDPM):
    name = "ldm"
    title = "Latent diffusion (diffusers AutoencoderKL + UNet2DModel)"
    section = "latent"
    settings = LatentModelConfig
    default_for_data = False
    # model.kind = "auto" picks latent diffusion for images above this side (that divide by the default
    # downsample): `bench/train_image.py --dataset photos --minutes 6` on 2 quiet EPYC cores, 32x32: FD 5.2
    # after 6 min (autoencoder included) vs 38.3 for the pixel-space DDPM (README, "Latent diffusion")
    default_above = 16

    def default_for(self, size: int) -> bool:
        return size > self.default_above and size % LatentModelConfig.downsample == 0

    def make_task(self, cfg, ds, device, rank: int, resume_dir: Path | None) -> LatentTask:
        return LatentTask(self, cfg, ds, device, rank, resume_dir)

    def load(self, model_dir: Path):
        from diffusers import AutoencoderKL

        from genaug_core.models.image import load_image_model

        unet, scheduler_config, meta = load_image_model(model_dir)
        if not (model_dir / VAE_DIR).is_dir():
            raise RunError(f"{model_dir}: no {VAE_DIR}/ autoencoder beside the UNet")
        vae = AutoencoderKL.from_pretrained(model_dir / VAE_DIR, use_safetensors=True).eval()
        return unet, {"scheduler_config": scheduler_config, "vae": vae}, meta

    def decoder(self, loaded):
        return _decoder(loaded.extras["vae"])  # DDPM.sample denoises latents (unclipped), then decodes them

    def sample_bytes(self, loaded, n: int, batch_size: int = 256) -> int:
        """The uint8 result plus, per batch, about four full-resolution feature maps of the decoder's widest level."""
        size = int(loaded.meta.get("image_size") or 0)
        vae_cfg = loaded.extras["vae"].config
        channels, width = int(vae_cfg.in_channels), int(vae_cfg.block_out_channels[0])
        b = min(n, batch_size)
        return n * size * size * channels + b * size * size * 4 * (3 * channels + 4 * width)
