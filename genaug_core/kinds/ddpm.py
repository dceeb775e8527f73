"""The DDPM model kind: diffusers' UNet2DModel denoiser with a DDPMScheduler, sampled by DDIM or DPM-Solver++.

Its settings are the [model.image] table (ImageModelConfig); its Task is the DDPM recipe (a clean
batch in [-1, 1], a random timestep and Gaussian noise mixed by the scheduler's add_noise, MSE on
the predicted noise, or on the velocity with v-prediction, optionally weighted by Min-SNR-gamma),
class-conditional when the data has labels (the extra last class index is "no class", trained with
probability class_dropout, so the same model samples unconditionally and with classifier-free
guidance).
A saved model is a flat folder that plain diffusers loads:

    UNet2DModel.from_pretrained("runs/<id>/model")
    DDPMScheduler.from_pretrained("runs/<id>/model")

The network, schedulers and the sampling loop are in genaug_core/models/image.py.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal

from genaug_core.errors import ConfigError, DataError
from genaug_core.kinds.base import register_kind
from genaug_core.kinds.families import ImageKind
from genaug_core.models.image import GUIDANCE_MAX, GUIDANCE_MIN
from genaug_core.params import ParamSpec
from genaug_core.settings import Config, check_range, check_zero_or_range


@dataclasses.dataclass(frozen=True)
class ImageModelConfig(Config):
    """A UNet2DModel denoiser with a DDPM noise schedule, and how to sample from it."""

    # preset shape: tiny (tests: channels (4, 8), no attention), small (channels (32, 64), attention
    # at the lowest resolution; 8x8 and 16x16 data), medium (channels (32, 64, 64); 32x32 and up),
    # auto = small for images up to 16 pixels, medium above
    preset: Literal["auto", "tiny", "small", "medium"] = "auto"
    # overrides of the preset (empty / 0 = keep the preset's value)
    channels: tuple[int, ...] = ()  # output channels per resolution level, each 4-1024
    layers_per_block: int = 0  # ResNet layers per level, 1-4
    # height and width the model trains at (0 = the data's size after preprocessing), 4-512;
    # the data is resized to it, and samples come out at it
    image_size: int = 0
    # class-conditional training when the data has labels (with a "no class" index for unconditional sampling)
    class_conditional: bool = True
    # probability of training a labelled item with the "no class" label instead, 0-1
    class_dropout: float = 0.1
    # diffusion timesteps of the training schedule, 10-4000
    num_train_timesteps: int = 1000
    # noise schedule: linear (DDPM paper) or squaredcos_cap_v2 (cosine)
    beta_schedule: Literal["linear", "squaredcos_cap_v2"] = "linear"
    # default sampler and number of its steps for samples (DDIM or DPM-Solver++; both clip to the pixel range)
    sampler: Literal["ddim", "dpm"] = "ddim"
    sample_steps: int = 25  # 1-1000
    # what the UNet predicts: the noise (epsilon, DDPM) or the velocity sqrt(abar) noise - sqrt(1-abar) x0
    # (v_prediction, Salimans & Ho 2022); stored in the scheduler config, so the samplers follow it
    prediction_type: Literal["epsilon", "v_prediction"] = "epsilon"
    # Min-SNR-gamma loss weighting (Hang et al. 2023; diffusers' snr_gamma): each image's loss times
    # min(snr, gamma) / snr (epsilon) or / (snr + 1) (v); 0 = off, else 1-20 (the paper uses 5)
    snr_gamma: float = 0.0
    # classifier-free guidance of the run's own class-conditional samples and evaluation (1 = off), 0-20
    guidance_scale: float = 1.0

    def __post_init__(self) -> None:
        for c in self.channels:
            check_range("ImageModelConfig", "channels", c, 4, 1024)
        if len(self.channels) > 5:
            raise ConfigError(f"ImageModelConfig.channels has {len(self.channels)} levels; allowed: 1 to 5")
        check_range("ImageModelConfig", "layers_per_block", self.layers_per_block, 0, 4)
        check_zero_or_range("ImageModelConfig", "image_size", self.image_size, 4, 512)
        check_range("ImageModelConfig", "class_dropout", self.class_dropout, 0.0, 1.0)
        check_range("ImageModelConfig", "num_train_timesteps", self.num_train_timesteps, 10, 4000)
        check_range("ImageModelConfig", "sample_steps", self.sample_steps, 1, 1000)
        check_zero_or_range("ImageModelConfig", "snr_gamma", self.snr_gamma, 1.0, 20.0)
        check_range("ImageModelConfig", "guidance_scale", self.guidance_scale, GUIDANCE_MIN, GUIDANCE_MAX)


class DDPMTask:
    """The loop's Task for the DDPM: noise a clean batch at random timesteps, predict the noise or the
    velocity (MSE, optionally Min-SNR-weighted)."""

    def __init__(self, kind: DDPM, cfg, ds, device, rank: int, resume_dir: Path | None):
        import torch

        from genaug_core.models import image as im
        from genaug_core.models.augment_map import condition_on_vectors
        from genaug_core.train.data import ImageBatches, load_pipeline

        kind.check_noise_target(cfg)
        self.kind, self.cfg, self.device, self.rank = kind, cfg, device, rank
        self.mcfg = mcfg = kind.settings_of(cfg)
        split = ds.split
        if len(split.train) == 0:
            raise DataError("no training images left after preprocessing", ds.name)
        if not mcfg.image_size and ds.height != ds.width:
            raise ConfigError(
                f"images are {ds.height}x{ds.width}; set model.{kind.section}.image_size (or preprocess.image_size) "
                "to train square"
            )
        self.size = mcfg.image_size or ds.height  # S
        self.class_names = list(ds.class_names or []) if (ds.labels is not None and mcfg.class_conditional) else []
        self.num_classes = len(self.class_names)  # 0 = unconditional
        space = self._model_space(ds, resume_dir)  # (size, channels) the UNet works at: pixels here
        if resume_dir is not None:
            self.model, sched_config, _ = im.load_image_model(resume_dir)
            self.model.train()
            from diffusers import DDPMScheduler

            self.scheduler = DDPMScheduler.from_config(sched_config)
        else:
            self.model = im.build_unet(mcfg, *space, self.num_classes)
            self.scheduler = im.build_scheduler(mcfg)
        pipeline = load_pipeline(cfg.augment.pipeline, cfg.augment.p, kind.data)
        # non-leaking augmentation (EDM): the UNet also gets each training image's describing vector, D numbers
        self.augment_dim, self.augment_note = condition_on_vectors(
            self.model, pipeline, cfg.augment.non_leaking, resumed=resume_dir is not None,
            image_shape=ds.images.shape[1:],  # (H, W, C) the pipeline augments
        )
        self.model.to(device)
        self.batch_size = cfg.train.resolved(kind).batch_size  # B (auto: 64)
        labels = ds.labels if self.num_classes else None
        self.batches = ImageBatches(
            ds.images[split.train],
            None if labels is None else labels[split.train],
            self.size,
            self.batch_size,
            seed=cfg.train.seed,
            rank=rank,
            pipeline=pipeline,
            p=cfg.augment.p,
            augment_dim=self.augment_dim,
        )
        # a fixed validation problem: the same images, noise and timesteps at every evaluation
        self.val = None
        if len(split.validation):
            k = min(len(split.validation), cfg.train.eval_batches * self.batch_size)
            idx = split.validation[:k]
            gen = torch.Generator().manual_seed(cfg.train.seed)
            x0 = self._encode(im.resize(im.to_model_units(ds.images[idx]), self.size))  # (K, C, S, S)
            self.val = {
                "x0": x0,
                "y": None if labels is None else torch.from_numpy(labels[idx]),
                "noise": torch.randn(x0.shape, generator=gen),
                "t": torch.randint(0, self.scheduler.config.num_train_timesteps, (k,), generator=gen),
            }

    # --- hooks: the space the UNet denoises (kinds/ldm.py trains on an autoencoder's latents instead) ---
    def _model_space(self, ds, resume_dir: Path | None) -> tuple[int, int]:
        """(size, channels) of the UNet's input: the pixels themselves."""
        return self.size, ds.channels

    def _encode(self, x0):
        """A clean pixel batch (B, C, S, S) in [-1, 1] in the UNet's space: unchanged here."""
        return x0

    def _decoder(self):
        """What turns a denoised batch into pixels: None = it is pixels already (x0 clipped while sampling)."""
        return None

    def describe(self) -> str:
        n = sum(p.numel() for p in self.model.parameters())
        c = self.model.config
        cond = f"{self.num_classes} classes + no class" if self.num_classes else "unconditional"
        return (
            f"UNet2DModel channels {tuple(c.block_out_channels)}, {c.layers_per_block} layers per block, "
            f"{self.size}x{self.size}x{c.in_channels}, {cond}, {n / 1e6:.2f}M parameters; "
            f"{len(self.batches):,} training images, batch {self.batch_size}"
        )

    def _add_noise(self, x0, noise, t):
        # DDPM forward process: x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise (the scheduler's add_noise)
        return self.scheduler.add_noise(x0, noise, t)

    def _target(self, x0, noise, t):
        # what the UNet should output: the noise (epsilon) or the velocity (v_prediction), (B, C, S, S)
        from genaug_core.models.image import training_target

        return training_target(self.scheduler, x0, noise, t)

    def _weighted_mse(self, pred, target, t):
        """Mean squared error over the batch; with snr_gamma > 0 each image's mean is weighted by
        min(snr_t, gamma) / snr_t (or / (snr_t + 1) for v-prediction) first, as diffusers' scripts do."""
        import torch.nn.functional as F

        gamma = self.mcfg.snr_gamma
        if not gamma:
            return F.mse_loss(pred.float(), target.float())
        from genaug_core.models.image import min_snr_weights

        per_image = F.mse_loss(pred.float(), target.float(), reduction="none").mean(dim=(1, 2, 3))  # (B,)
        return (per_image * min_snr_weights(self.scheduler, t, gamma)).mean()

    def loss(self, model, step: int):
        import torch

        from genaug_core.train.data import step_seed
        from genaug_core.train.regularization import pixel_noise

        x0, y, a = self.batches.get_with_vectors(step)  # (B, C, S, S) in [-1, 1], (B,) labels or None, (B, D) or None
        x0 = x0.to(self.device)
        gen = torch.Generator(device=self.device).manual_seed(step_seed(self.cfg.train.seed, self.rank, step, 1))
        reg = self.cfg.regularization
        x0 = pixel_noise(x0, reg.noise_eps, reg.noise_norm, gen)  # L1/L2-ball noise in data space
        x0 = self._encode(x0)  # the space the UNet denoises (pixels here; latents in kinds/ldm.py)
        if y is not None:
            y = y.to(self.device)
            drop = torch.rand(y.shape, generator=gen, device=self.device) < self.mcfg.class_dropout
            y = torch.where(drop, torch.full_like(y, self.num_classes), y)  # index num_classes = "no class"
        noise = torch.randn(x0.shape, generator=gen, device=self.device)
        t = torch.randint(
            0, self.scheduler.config.num_train_timesteps, (x0.shape[0],), generator=gen, device=self.device
        )
        noisy = self._add_noise(x0, noise, t)
        vectors = {} if a is None else {"augment_labels": a.to(self.device)}  # what augmentation did to each image
        pred = model(noisy, t, class_labels=y, **vectors).sample  # predicted noise or velocity (B, C, S, S)
        return self._weighted_mse(pred, self._target(x0, noise, t), t), x0.shape[0]

    def evaluate(self, model) -> dict[str, float]:
        import torch

        if self.val is None:
            return {}
        with torch.no_grad():
            return self._evaluate(model)

    def _evaluate(self, model) -> dict[str, float]:
        import torch.nn.functional as F

        model.eval()
        v, total, count = self.val, 0.0, 0
        for s in range(0, len(v["x0"]), self.batch_size):
            sl = slice(s, s + self.batch_size)
            x0, noise, t = v["x0"][sl].to(self.device), v["noise"][sl].to(self.device), v["t"][sl].to(self.device)
            y = None if v["y"] is None else v["y"][sl].to(self.device)
            pred = model(self._add_noise(x0, noise, t), t, class_labels=y).sample  # (b, C, S, S)
            # unweighted MSE on the model's own target (noise or velocity; the two are not comparable)
            total += float(F.mse_loss(pred.float(), self._target(x0, noise, t).float(), reduction="sum"))
            count += noise.numel()
        model.train()
        return {"loss": total / count}

    def train_record(self, loss: float) -> dict[str, float]:
        return {}

    def write_samples(self, model, path_stem: Path, n: int, seed: int) -> Path:
        from genaug_core.models.image import sample_images

        mcfg = self.mcfg
        class_ids = [i % self.num_classes for i in range(n)] if self.num_classes else None
        images = sample_images(
            model, dict(self.scheduler.config), n=n, steps=mcfg.sample_steps, sampler=mcfg.sampler,
            class_ids=class_ids, seed=seed, guidance_scale=mcfg.guidance_scale if class_ids else 1.0,
            decode=self._decoder(),
        )  # fmt: skip
        ncols = self.num_classes if 0 < self.num_classes <= 16 else 0  # one column per class
        return self.kind.write_samples(path_stem, images, ncols=ncols)

    def meta(self) -> dict[str, Any]:
        return {
            "class_names": self.class_names,
            "no_class": self.num_classes if self.num_classes else None,
            "sampler": self.mcfg.sampler,
            "sample_steps": self.mcfg.sample_steps,
            "guidance_scale": self.mcfg.guidance_scale if self.num_classes else 1.0,
            "image_size": self.size,
        }

    def save(self, model, folder: Path) -> None:
        from genaug_core.models.image import save_image_model

        save_image_model(folder, model, self.scheduler, {"model_kind": self.kind.name, **self.meta()})


@register_kind
class DDPM(ImageKind):
    name = "ddpm"
    title = "DDPM (diffusers UNet2DModel)"
    section = "image"
    settings = ImageModelConfig
    default_for_data = True
    lr = 1e-3
    batch_size = 64
    bf16_autocast = False  # bf16 made a small UNet slower
    # bench/compile.py --cases digits,image32 --threads 1 on a heavily shared 2-core EPYC: 8x8 digits fp32 steps
    # 1.37x faster after ~640 s of compiling (break-even 2,158 steps), but 32x32 RGB steps 0.97x (never pays
    # back): one number must hold for every image size, so "auto" never compiles the UNet
    compile_break_even: dict[str, int] = {}
    augment_conditioning = True  # the augmentation map on the UNet's time embedding (models/augment_map.py)
    sample_options = (
        *ImageKind.sample_options,
        ParamSpec("guidance_scale", "float", 1.0, "Classifier-free guidance for class-conditional samples: 1 = off, "
                  "above 1 = more like the class and less varied, 0 = ignore the class.",
                  GUIDANCE_MIN, GUIDANCE_MAX, step=0.5),
    )  # fmt: skip

    def sample_defaults(self, loaded) -> dict[str, Any]:
        return {**super().sample_defaults(loaded), "guidance_scale": float(loaded.meta.get("guidance_scale", 1.0))}

    def default_for(self, size: int) -> bool:
        """Pixel space is the default unless latent diffusion is (images above 16 pixels: kinds/ldm.py)."""
        from genaug_core.kinds.base import KINDS

        others = [k for _, k in KINDS.items() if k is not self and k.data == self.data]
        return not any(k.default_for(size) for k in others)

    def make_task(self, cfg, ds, device, rank: int, resume_dir: Path | None) -> DDPMTask:
        return DDPMTask(self, cfg, ds, device, rank, resume_dir)

    def load(self, model_dir: Path):
        from genaug_core.models.image import load_image_model

        unet, scheduler_config, meta = load_image_model(model_dir)
        return unet, {"scheduler_config": scheduler_config}, meta

    def sample(self, loaded, n: int, seed: int, **options: Any):
        """Options: steps, sampler ("ddim" or "dpm"), class_ids (None = unconditional), guidance_scale
        (classifier-free guidance, 1 = off), batch_size, progress; unset ones default to the run's."""
        from genaug_core.models.image import sample_images

        options.setdefault("steps", loaded.meta.get("sample_steps", 25))
        options.setdefault("sampler", loaded.meta.get("sampler", "ddim"))
        if options.get("class_ids") is not None:  # the run's guidance applies to class-conditional samples
            options.setdefault("guidance_scale", loaded.meta.get("guidance_scale", 1.0))
        return sample_images(loaded.model, loaded.scheduler_config, n=n, seed=seed, decode=self.decoder(loaded),
                             **options)  # fmt: skip

    def decoder(self, loaded):
        """What turns a loaded model's denoised batch into pixels: None = pixel space (kinds/ldm.py: latents)."""
        return None
