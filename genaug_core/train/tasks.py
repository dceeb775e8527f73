"""What differs between training on text and on images, behind one small interface.

The loop (loop.py) is the same for both; a task supplies:

    task.model                      the torch module to train (fresh, or loaded from a checkpoint)
    task.loss(model, step)          -> (loss tensor, units in the batch) for one random training batch
    task.evaluate(model)            -> {"loss": ..., ("bpc": ...)} on the held-out real validation set
    task.write_samples(model, path) a text file or a PNG grid of samples
    task.save(model, folder)        save_pretrained + genaug.json, loadable by plain transformers / diffusers

TextTask: GPT-2 on a character (or BPE) token stream; noise on the token
embeddings. ImageTask: a UNet denoiser (DDPM); noise on the pixels; with
non-leaking augmentation the UNet also gets each image's describing vector
(genaug_core.models.augment_map).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from genaug_core import runs
from genaug_core.config import RunConfig
from genaug_core.data import ImageDataset, TextDataset
from genaug_core.errors import ConfigError, DataError
from genaug_core.train.data import ImageBatches, TextBatches, eval_windows, load_pipeline, step_seed
from genaug_core.train.regularization import EmbeddingNoise, pixel_noise


def check_noise_target(cfg: RunConfig, kind: str) -> None:
    target = cfg.regularization.noise_target
    wanted = "embeddings" if kind == "text" else "pixels"
    if target not in ("auto", wanted) and cfg.regularization.noise_eps > 0:
        raise ConfigError(
            f"RegularizationConfig.noise_target = {target!r} does not fit {kind} data; use 'auto' or {wanted!r}"
        )


class TextTask:
    kind = "text"
    unit = "tokens"
    augment_note = ""  # non-leaking augmentation is for images only

    def __init__(self, cfg: RunConfig, ds: TextDataset, device: torch.device, rank: int, resume_dir: Path | None):
        from genaug_core.models import text as tm

        check_noise_target(cfg, "text")
        self.cfg, self.device, self.rank = cfg, device, rank
        train_texts, val_texts = ds.train_texts(), ds.validation_texts()
        if not train_texts:
            raise DataError("no training text left after preprocessing", ds.name)
        if resume_dir is not None:  # the checkpoint's tokenizer: its ids are what the weights know
            self.model, self.tokenizer, _ = tm.load_text_model(resume_dir)
            self.model.train()
        else:
            self.tokenizer = tm.build_tokenizer(cfg.model.text, ds.texts)
            self.model = tm.build_text_model(cfg.model.text, self.tokenizer)
        self.model.to(device)
        tm.use_training_attention(self.model, device)
        self.block_size = self.model.config.n_positions  # T
        self.batch_size = cfg.train.resolved("text").batch_size  # B (auto: 12, nanoGPT's CPU demo)
        # one item a line (names) -> a newline also ends a sample
        self.stop_at_newline = not any("\n" in t for t in ds.texts)
        eot = self.tokenizer.eos_token_id

        def encode(texts: list[str]) -> list[np.ndarray]:
            return tm.encode_items(self.tokenizer, texts)

        items = encode(train_texts)
        self.batches = TextBatches(
            items,
            eot,
            self.block_size,
            self.batch_size,
            seed=cfg.train.seed,
            rank=rank,
            texts=train_texts,
            encode=encode,
            pipeline=load_pipeline(cfg.augment.pipeline, cfg.augment.p, "text"),
            p=cfg.augment.p,
        )
        val_items = encode(val_texts) if val_texts else []
        self.val = (
            torch.from_numpy(eval_windows(val_items, eot, self.block_size, cfg.train.eval_batches * self.batch_size))
            if val_items
            else None
        )  # (K, T+1)
        # characters per token on held-out text (1 for the char tokenizer), to report bits per character
        ref_texts, ref_items = (val_texts, val_items) if val_items else (train_texts, items)
        n_tokens = sum(len(x) for x in ref_items)
        self.chars_per_token = sum(len(t) for t in ref_texts) / max(1, n_tokens)
        # L1/L2-ball noise on the token embeddings, only in training mode
        reg = cfg.regularization
        self.noise_gen = torch.Generator(device=device)
        self.noise = EmbeddingNoise(reg.noise_eps, reg.noise_norm, reg.neftune, self.noise_gen)
        if reg.noise_eps > 0:
            self.model.get_input_embeddings().register_forward_hook(self.noise)

    def describe(self) -> str:
        from genaug_core.models.text import count_params

        c = self.model.config
        return (
            f"GPT-2 {c.n_layer} layers, {c.n_head} heads, width {c.n_embd}, context {c.n_positions}, "
            f"vocab {c.vocab_size} ({self.cfg.model.text.tokenizer}), {count_params(self.model) / 1e6:.2f}M parameters; "
            f"{len(self.batches):,} training tokens, batch {self.batch_size} x {self.block_size}"
        )

    def loss(self, model: torch.nn.Module, step: int) -> tuple[torch.Tensor, int]:
        x, y = self.batches.get(step)  # (B, T) inputs and targets
        x, y = x.to(self.device), y.to(self.device)
        self.noise_gen.manual_seed(step_seed(self.cfg.train.seed, self.rank, step, stream=1))
        logits = model(input_ids=x, use_cache=False).logits  # (B, T, vocab); no KV cache while training
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1))
        return loss, x.numel()

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module) -> dict[str, float]:
        if self.val is None:
            return {}
        model.eval()
        total, count = 0.0, 0
        for chunk in self.val.split(self.batch_size):
            chunk = chunk.to(self.device)
            logits = model(input_ids=chunk[:, :-1], use_cache=False).logits  # (b, T, vocab)
            loss = F.cross_entropy(
                logits.reshape(-1, logits.size(-1)).float(), chunk[:, 1:].reshape(-1), reduction="sum"
            )
            total, count = total + float(loss), count + chunk[:, 1:].numel()
        model.train()
        loss = total / count
        return {"loss": loss, "bpc": loss / math.log(2) / self.chars_per_token}

    def write_samples(self, model: torch.nn.Module, path_stem: Path, n: int, seed: int) -> Path:
        from genaug_core.models.text import generate

        samples = generate(
            model,
            self.tokenizer,
            n=n,
            max_new_tokens=2 * self.block_size,
            seed=seed,
            stop_at_newline=self.stop_at_newline,
        )
        path = path_stem.with_suffix(".txt")
        runs.write_text_samples(path, samples)
        return path

    def meta(self) -> dict[str, Any]:
        return {
            "stop_at_newline": self.stop_at_newline,
            "chars_per_token": self.chars_per_token,
            "tokenizer": self.cfg.model.text.tokenizer,
            "max_new_tokens": 2 * self.block_size,
        }

    def save(self, model: torch.nn.Module, folder: Path) -> None:
        from genaug_core.models.text import save_text_model

        save_text_model(folder, model, self.tokenizer, self.meta())


class ImageTask:
    kind = "image"
    unit = "images"

    def __init__(self, cfg: RunConfig, ds: ImageDataset, device: torch.device, rank: int, resume_dir: Path | None):
        from genaug_core.models import image as im
        from genaug_core.models.augment_map import condition_on_vectors

        check_noise_target(cfg, "image")
        self.cfg, self.device, self.rank = cfg, device, rank
        mcfg = cfg.model.image
        split = ds.split
        if len(split.train) == 0:
            raise DataError("no training images left after preprocessing", ds.name)
        if not mcfg.image_size and ds.height != ds.width:
            raise ConfigError(
                f"images are {ds.height}x{ds.width}; set model.image.image_size (or preprocess.image_size) to train square"
            )
        self.size = mcfg.image_size or ds.height  # S
        self.class_names = list(ds.class_names or []) if (ds.labels is not None and mcfg.class_conditional) else []
        self.num_classes = len(self.class_names)  # 0 = unconditional
        if resume_dir is not None:
            self.model, sched_config, _ = im.load_image_model(resume_dir)
            self.model.train()
            from diffusers import DDPMScheduler

            self.scheduler = DDPMScheduler.from_config(sched_config)
        else:
            self.model = im.build_unet(mcfg, self.size, ds.channels, self.num_classes)
            self.scheduler = im.build_scheduler(mcfg)
        pipeline = load_pipeline(cfg.augment.pipeline, cfg.augment.p, "image")
        # non-leaking augmentation (EDM): the UNet also gets each training image's describing vector, D numbers
        self.augment_dim, self.augment_note = condition_on_vectors(
            self.model, pipeline, cfg.augment.non_leaking, resumed=resume_dir is not None,
            image_shape=ds.images.shape[1:],  # (H, W, C) the pipeline augments
        )
        self.model.to(device)
        self.batch_size = cfg.train.resolved("image").batch_size  # B (auto: 64)
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
            x0 = im.resize(im.to_model_units(ds.images[idx]), self.size)  # (K, C, S, S)
            self.val = {
                "x0": x0,
                "y": None if labels is None else torch.from_numpy(labels[idx]),
                "noise": torch.randn(x0.shape, generator=gen),
                "t": torch.randint(0, self.scheduler.config.num_train_timesteps, (k,), generator=gen),
            }

    def describe(self) -> str:
        n = sum(p.numel() for p in self.model.parameters())
        c = self.model.config
        cond = f"{self.num_classes} classes + no class" if self.num_classes else "unconditional"
        return (
            f"UNet2DModel channels {tuple(c.block_out_channels)}, {c.layers_per_block} layers per block, "
            f"{self.size}x{self.size}x{c.in_channels}, {cond}, {n / 1e6:.2f}M parameters; "
            f"{len(self.batches):,} training images, batch {self.batch_size}"
        )

    def _add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        # DDPM forward process: x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise (the scheduler's add_noise)
        return self.scheduler.add_noise(x0, noise, t)

    def loss(self, model: torch.nn.Module, step: int) -> tuple[torch.Tensor, int]:
        x0, y, a = self.batches.get_with_vectors(step)  # (B, C, S, S) in [-1, 1], (B,) labels or None, (B, D) or None
        x0 = x0.to(self.device)
        gen = torch.Generator(device=self.device).manual_seed(step_seed(self.cfg.train.seed, self.rank, step, 1))
        reg = self.cfg.regularization
        x0 = pixel_noise(x0, reg.noise_eps, reg.noise_norm, gen)  # L1/L2-ball noise in data space
        if y is not None:
            y = y.to(self.device)
            drop = torch.rand(y.shape, generator=gen, device=self.device) < self.cfg.model.image.class_dropout
            y = torch.where(drop, torch.full_like(y, self.num_classes), y)  # index num_classes = "no class"
        noise = torch.randn(x0.shape, generator=gen, device=self.device)
        t = torch.randint(
            0, self.scheduler.config.num_train_timesteps, (x0.shape[0],), generator=gen, device=self.device
        )
        noisy = self._add_noise(x0, noise, t)
        vectors = {} if a is None else {"augment_labels": a.to(self.device)}  # what augmentation did to each image
        pred = model(noisy, t, class_labels=y, **vectors).sample  # predicted noise (B, C, S, S)
        return F.mse_loss(pred.float(), noise), x0.shape[0]

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module) -> dict[str, float]:
        if self.val is None:
            return {}
        model.eval()
        v, total, count = self.val, 0.0, 0
        for s in range(0, len(v["x0"]), self.batch_size):
            sl = slice(s, s + self.batch_size)
            x0, noise, t = v["x0"][sl].to(self.device), v["noise"][sl].to(self.device), v["t"][sl].to(self.device)
            y = None if v["y"] is None else v["y"][sl].to(self.device)
            pred = model(self._add_noise(x0, noise, t), t, class_labels=y).sample
            total += float(F.mse_loss(pred.float(), noise, reduction="sum"))
            count += noise.numel()
        model.train()
        return {"loss": total / count}

    def write_samples(self, model: torch.nn.Module, path_stem: Path, n: int, seed: int) -> Path:
        from genaug_core.models.image import make_grid, sample_images, save_png

        mcfg = self.cfg.model.image
        class_ids = [i % self.num_classes for i in range(n)] if self.num_classes else None
        images = sample_images(
            model, dict(self.scheduler.config), n=n, steps=mcfg.sample_steps, sampler=mcfg.sampler,
            class_ids=class_ids, seed=seed,
        )  # fmt: skip
        ncols = self.num_classes if 0 < self.num_classes <= 16 else 0  # one column per class
        path = path_stem.with_suffix(".png")
        tmp = path.with_name(runs.TMP_PREFIX + path.name)
        save_png(make_grid(images, ncols), tmp, scale=max(1, 32 // self.size))
        tmp.replace(path)
        return path

    def meta(self) -> dict[str, Any]:
        return {
            "class_names": self.class_names,
            "no_class": self.num_classes if self.num_classes else None,
            "sampler": self.cfg.model.image.sampler,
            "sample_steps": self.cfg.model.image.sample_steps,
            "image_size": self.size,
        }

    def save(self, model: torch.nn.Module, folder: Path) -> None:
        from genaug_core.models.image import save_image_model

        save_image_model(folder, model, self.scheduler, self.meta())


def make_task(cfg: RunConfig, ds, device: torch.device, rank: int, resume_dir: Path | None):
    """The task for the dataset's kind."""
    if isinstance(ds, TextDataset):
        return TextTask(cfg, ds, device, rank, resume_dir)
    return ImageTask(cfg, ds, device, rank, resume_dir)
