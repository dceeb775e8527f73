"""A tiny DDPM for images: diffusers' UNet2DModel + DDPMScheduler, and a fast sampler.

Training (see genaug_core/train/loop.py) is the DDPM recipe: take a clean
image x0 in [-1, 1], draw a timestep t and Gaussian noise, mix them with the
scheduler's `add_noise`, and teach the UNet to predict the noise (MSE), or,
with `prediction_type = "v_prediction"`, the velocity
v = sqrt(abar_t) noise - sqrt(1 - abar_t) x0 (Salimans & Ho 2022). The
prediction type lives in the scheduler config, as in diffusers, so DDIM and
DPM-Solver++ read it when sampling. Min-SNR-gamma weighting (Hang et al.
2023) optionally reweights each image's loss by its timestep's
signal-to-noise ratio (`min_snr_weights`).

When the data has labels the UNet is class-conditional: `num_class_embeds`
is the number of classes + 1, and the extra last index means "no class".
Training swaps a label for "no class" with a small probability, so the same
model also samples unconditionally, and with classifier-free guidance (Ho &
Salimans 2022): each step predicts with the class and with "no class" in one
batched forward and moves past the unconditional prediction by the guidance
scale, out = uncond + s * (cond - uncond) (s = 1: plain conditional sampling).

Sampling uses a fast scheduler built from the training schedule: DDIM or
DPM-Solver++, 20-50 steps instead of 1000, both clipping the predicted clean
image to [-1, 1] (without clipping an undertrained model leaves speckled
noise). The loop is written out in `sample_images`, the diffusers way:
schedulers are separate from models, so every step is visible.

A saved model is a flat folder that plain diffusers loads:

    UNet2DModel.from_pretrained("runs/<id>/model")
    DDPMScheduler.from_pretrained("runs/<id>/model")

plus genaug.json (class names, the "no class" index, default sampler). A model
trained with non-leaking augmentation (augment_map.py) also has
augment_map.safetensors, the map from describing vectors to its embedding,
and its size and layout under genaug.json's "augment": `load_image_model`
attaches it (to continue training), sampling never needs it, and plain
diffusers loads the folder as above without it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from genaug_core.errors import ConfigError

if TYPE_CHECKING:
    import torch
    from diffusers import DDPMScheduler, UNet2DModel

    from genaug_core.kinds.ddpm import ImageModelConfig

# preset name -> UNet shape. Attention sits only at the lowest resolution (cheap there).
IMAGE_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"channels": (4, 8), "layers_per_block": 1, "attention": False},  # tests
    "small": {"channels": (32, 64), "layers_per_block": 2, "attention": True},  # 8x8 and 16x16 data
    "medium": {"channels": (32, 64, 64), "layers_per_block": 2, "attention": True},  # 32x32 and up
}

META_FILE = "genaug.json"
SAMPLERS = ("ddim", "dpm")
PREDICTION_TYPES = ("epsilon", "v_prediction")
# classifier-free guidance scale: 0 = ignore the class, 1 = plain conditional sampling (off), above 1 = stronger
GUIDANCE_MIN, GUIDANCE_MAX = 0.0, 20.0


def resolve_shape(cfg: ImageModelConfig, image_size: int) -> dict[str, Any]:
    """The preset's UNet shape with overrides applied; checks that image_size halves cleanly."""
    preset = cfg.preset if cfg.preset != "auto" else ("small" if image_size <= 16 else "medium")
    shape = dict(IMAGE_PRESETS[preset], preset=preset)
    if cfg.channels:
        shape["channels"] = tuple(cfg.channels)
    if cfg.layers_per_block:
        shape["layers_per_block"] = cfg.layers_per_block
    factor = 2 ** (len(shape["channels"]) - 1)  # the UNet halves the size between levels
    if image_size % factor:
        raise ConfigError(
            f"image size {image_size} must be a multiple of {factor} for a UNet with "
            f"{len(shape['channels'])} levels; set model.image.image_size or preprocess.image_size"
        )
    return shape


def _groups(channels: Sequence[int]) -> int:
    """The largest GroupNorm group count (<= 32) dividing every channel count."""
    return next(g for g in (32, 16, 8, 4, 2, 1) if all(c % g == 0 for c in channels))


def build_unet(cfg: ImageModelConfig, image_size: int, in_channels: int, num_classes: int = 0) -> UNet2DModel:
    """A freshly initialised UNet2DModel; class-conditional when num_classes > 0 (+1 "no class")."""
    from diffusers import UNet2DModel

    shape = resolve_shape(cfg, image_size)
    levels = len(shape["channels"])
    attn = shape["attention"]
    down = ["DownBlock2D"] * (levels - 1) + ["AttnDownBlock2D" if attn else "DownBlock2D"]
    up = ["AttnUpBlock2D" if attn else "UpBlock2D"] + ["UpBlock2D"] * (levels - 1)
    return UNet2DModel(
        sample_size=image_size,
        in_channels=in_channels,
        out_channels=in_channels,
        block_out_channels=tuple(shape["channels"]),
        layers_per_block=shape["layers_per_block"],
        down_block_types=tuple(down),
        up_block_types=tuple(up),
        add_attention=attn,
        norm_num_groups=_groups(shape["channels"]),
        num_class_embeds=num_classes + 1 if num_classes else None,  # the last index is "no class"
    )


def build_scheduler(cfg: ImageModelConfig) -> DDPMScheduler:
    """The training noise schedule (the config's prediction type, samples clipped to [-1, 1])."""
    from diffusers import DDPMScheduler

    return DDPMScheduler(
        num_train_timesteps=cfg.num_train_timesteps,
        beta_schedule=cfg.beta_schedule,
        prediction_type=cfg.prediction_type,
        clip_sample=True,
    )


def training_target(scheduler: DDPMScheduler, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """What the UNet learns to output for x_t = add_noise(x0, noise, t), by the scheduler's prediction type:
    the noise itself (epsilon) or the velocity sqrt(abar_t) noise - sqrt(1 - abar_t) x0 (v_prediction).
    x0, noise: (B, C, H, W); t: (B,) -> (B, C, H, W)."""
    kind = scheduler.config.prediction_type
    if kind == "epsilon":
        return noise
    if kind == "v_prediction":
        return scheduler.get_velocity(x0, noise, t)
    raise ConfigError(f"prediction type {kind!r} is not known; choose one of: {', '.join(PREDICTION_TYPES)}")


def min_snr_weights(scheduler: DDPMScheduler, t: torch.Tensor, gamma: float) -> torch.Tensor:
    """Min-SNR-gamma loss weights (Hang et al., ICCV 2023) of timesteps t (B,) -> (B,), as diffusers'
    training scripts compute them: snr = abar_t / (1 - abar_t) (diffusers.training_utils.compute_snr),
    weight = min(snr, gamma) / snr for epsilon prediction and min(snr, gamma) / (snr + 1) for v-prediction.
    Easy, nearly clean timesteps (large snr) are down-weighted so they stop dominating the gradient."""
    import torch
    from diffusers.training_utils import compute_snr

    snr = compute_snr(scheduler, t)  # (B,) float32
    clipped = torch.minimum(snr, torch.full_like(snr, gamma))
    kind = scheduler.config.prediction_type
    if kind == "epsilon":
        return clipped / snr
    if kind == "v_prediction":
        return clipped / (snr + 1)
    raise ConfigError(f"Min-SNR weighting has no rule for prediction type {kind!r}; use epsilon or v_prediction")


def fast_scheduler(train_scheduler_config: dict[str, Any], sampler: str = "ddim", clip: bool = True):
    """A DDIM or DPM-Solver++ scheduler over the training schedule.

    clip: clip the predicted x0 to [-1, 1] (pixels; off for latents, which are not bounded).
    """
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

    if sampler == "ddim":
        return DDIMScheduler.from_config(train_scheduler_config, clip_sample=clip, timestep_spacing="trailing")
    if sampler == "dpm":
        # dynamic thresholding with sample_max_value 1 clips the predicted x0 to [-1, 1]
        return DPMSolverMultistepScheduler.from_config(
            train_scheduler_config,
            algorithm_type="dpmsolver++",
            thresholding=clip,
            sample_max_value=1.0,
            timestep_spacing="trailing",
        )
    raise ConfigError(f"sampler {sampler!r} is not known; choose one of: {', '.join(SAMPLERS)}")


# --- pixels <-> model units -------------------------------------------------


def to_model_units(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, C) -> float32 (N, C, H, W) in [-1, 1]."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float (N, C, H, W) in [-1, 1] -> uint8 (N, H, W, C)."""
    import torch

    x = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """A float (N, C, H, W) batch at (N, C, size, size) (genaug_core.data.pixels.resize_batch)."""
    from genaug_core.data.pixels import resize_batch

    return resize_batch(x, size, size)


# --- sampling ----------------------------------------------------------------


def sample_images(
    unet: UNet2DModel,
    train_scheduler_config: dict[str, Any],
    n: int = 64,
    steps: int = 25,
    sampler: str = "ddim",
    class_ids: int | Sequence[int] | None = None,
    seed: int = 0,
    batch_size: int = 256,
    progress: bool = False,
    guidance_scale: float = 1.0,
    decode: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> np.ndarray:
    """Draw n images as uint8 (n, H, W, C).

    class_ids: None = unconditional ("no class" on a conditional model), an int
    = every image of that class, a sequence = one class id per image.
    guidance_scale: classifier-free guidance for class-conditional samples
    (1 = off: one forward per step; otherwise the class and "no class"
    predictions come from one batched forward and are mixed as
    uncond + s * (cond - uncond)); GUIDANCE_MIN to GUIDANCE_MAX.
    decode: None = the UNet denoises pixels (x0 clipped to [-1, 1] at every
    step); else it denoises latents (unclipped) and `decode` maps each finished
    batch to pixels in [-1, 1] (kinds/ldm.py: the autoencoder's decoder).
    """
    import torch

    if n < 1 or steps < 1:
        raise ConfigError(f"need n >= 1 and steps >= 1, got n = {n}, steps = {steps}")
    guidance_scale = float(guidance_scale)
    if not (math.isfinite(guidance_scale) and GUIDANCE_MIN <= guidance_scale <= GUIDANCE_MAX):
        raise ConfigError(
            f"guidance scale {guidance_scale} is out of range; allowed: {GUIDANCE_MIN:g} to {GUIDANCE_MAX:g} "
            "(1 = off)"
        )
    if guidance_scale != 1.0 and not unet.config.num_class_embeds:
        raise ConfigError(
            "this model was trained without labels, so classifier-free guidance has nothing to guide by; "
            "set the guidance scale to 1"
        )
    labels = _class_labels(unet, n, class_ids)
    # guide only when asked and there is a class to guide towards (with "no class" cond = uncond)
    guided = guidance_scale != 1.0 and class_ids is not None
    device = next(unet.parameters()).device
    size, channels = unet.config.sample_size, unet.config.in_channels
    gen = torch.Generator(device="cpu").manual_seed(seed)
    out = []
    was_training = unet.training
    unet.eval()
    chunks = range(0, n, batch_size)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=math.ceil(n / batch_size) * steps, desc="sampling", unit="step")
    with torch.no_grad():
        for start in chunks:
            b = min(batch_size, n - start)
            scheduler = fast_scheduler(train_scheduler_config, sampler, clip=decode is None)
            scheduler.set_timesteps(steps)
            x = torch.randn((b, channels, size, size), generator=gen).to(device)  # (b, C, H, W) pure noise
            y = None if labels is None else labels[start : start + b].to(device)
            for t in scheduler.timesteps:
                if guided:
                    no_class = torch.full_like(y, unet.config.num_class_embeds - 1)
                    both = unet(torch.cat([x, x]), t, class_labels=torch.cat([y, no_class])).sample  # (2b, C, H, W)
                    cond, uncond = both.chunk(2)
                    pred = uncond + guidance_scale * (cond - uncond)
                else:
                    pred = unet(x, t, class_labels=y).sample  # predicted noise (or velocity), (b, C, H, W)
                x = scheduler.step(pred, t, x).prev_sample  # one step towards a clean image
                if bar is not None:
                    bar.update(1)
            out.append(to_uint8(x if decode is None else decode(x)))  # (b, H, W, C) pixels
    if bar is not None:
        bar.close()
    unet.train(was_training)
    return np.concatenate(out)


def _class_labels(unet: UNet2DModel, n: int, class_ids: int | Sequence[int] | None):
    import torch

    num = unet.config.num_class_embeds
    if not num:
        if class_ids is not None:
            raise ConfigError("this model was trained without labels; sample without a class")
        return None
    no_class = num - 1
    if class_ids is None:
        return torch.full((n,), no_class, dtype=torch.long)
    ids = [int(class_ids)] * n if isinstance(class_ids, (int, np.integer)) else [int(c) for c in class_ids]
    if len(ids) != n:
        raise ConfigError(f"got {len(ids)} class ids for {n} samples")
    bad = [c for c in ids if not 0 <= c < no_class]
    if bad:
        raise ConfigError(f"class id {bad[0]} is out of range; this model knows classes 0 to {no_class - 1}")
    return torch.tensor(ids, dtype=torch.long)


# --- saving and loading -------------------------------------------------------


def save_image_model(out_dir: str | Path, unet: UNet2DModel, scheduler: DDPMScheduler, meta: dict[str, Any]) -> None:
    """UNet (safetensors) + scheduler_config.json + genaug.json in one flat folder, plus
    augment_map.safetensors when the UNet has an augmentation map (kept out of the plain UNet weights)."""
    from genaug_core.models import augment_map as am

    out_dir = Path(out_dir)
    with am.without_augment_map(unet) as amap:
        unet.save_pretrained(out_dir, safe_serialization=True)
    scheduler.save_pretrained(out_dir)
    if amap is not None:
        am.save_augment_map(amap, out_dir)
        meta = {**meta, "augment": am.meta(amap)}
    (out_dir / META_FILE).write_text(json.dumps({"kind": "image", **meta}, indent=2), encoding="utf-8")


def load_image_model(model_dir: str | Path) -> tuple[UNet2DModel, dict[str, Any], dict[str, Any]]:
    """(UNet in eval mode, training scheduler config, genaug meta) from a saved folder; the UNet has its
    augmentation map again when one was saved (sampling ignores it)."""
    from diffusers import DDPMScheduler, UNet2DModel

    model_dir = Path(model_dir)
    unet = UNet2DModel.from_pretrained(model_dir, use_safetensors=True)
    scheduler_config = dict(DDPMScheduler.from_pretrained(model_dir).config)
    meta_path = model_dir / META_FILE
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    if meta.get("augment"):
        from genaug_core.models.augment_map import load_augment_map

        load_augment_map(unet, model_dir, meta["augment"])
    return unet.eval(), scheduler_config, meta


# --- pictures ----------------------------------------------------------------


def make_grid(images: np.ndarray, ncols: int = 0, pad: int = 1) -> np.ndarray:
    """Tile uint8 (N, H, W, C) images, `ncols` to a row (default: a square), into one picture for a PNG."""
    from genaug_core.viz import tile_images

    return tile_images(images, ncols or max(1, math.ceil(math.sqrt(len(images)))), pad=pad)
