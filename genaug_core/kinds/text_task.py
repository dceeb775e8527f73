"""The training Task every next-token text kind shares (GPT-2, the character LSTM, ...).

The loop (genaug_core/train/loop.py) calls, on any kind's Task:

    task.model                      the torch module to train (fresh, or loaded from a checkpoint)
    task.loss(model, step)          -> (loss tensor, tokens in the batch) for one random training batch
    task.evaluate(model)            -> {"loss", "bpc"} on the held-out real validation windows
    task.train_record(loss)         -> extra fields of a train metrics line ({"bpc": ...})
    task.write_samples(model, path_stem, n, seed), task.save(model, folder), task.describe()

Items are joined into one token stream separated by the end-of-text token; a batch is B random
windows of T + 1 tokens (train/data.py's TextBatches, with on-the-fly augmentation); the
L1/L2-ball or NEFTune noise is a forward hook on the input embeddings, active in training mode.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from genaug_core.errors import DataError


class TokenStreamTask:
    """The loop's Task for a next-token model: random windows of the token stream, cross-entropy.

    The kind supplies the network: build_tokenizer(settings, texts), build_model(settings, tokenizer),
    load_for_training(folder) -> (model, tokenizer), prepare_for_training(model, device),
    context_length(model), logits(model, x), input_embeddings(model), describe_model(model),
    generate(model, tokenizer, n, seed, max_new_tokens, stop_at_newline), save_model(folder, ...).
    """

    augment_note = ""  # the loop logs it; non-leaking augmentation is for image kinds

    def __init__(self, kind, cfg, ds, device, rank: int, resume_dir: Path | None):
        import torch

        from genaug_core.models import text as tm
        from genaug_core.train.data import TextBatches, eval_windows, load_pipeline
        from genaug_core.train.regularization import EmbeddingNoise

        kind.check_noise_target(cfg)
        self.kind, self.cfg, self.device, self.rank = kind, cfg, device, rank
        settings = kind.settings_of(cfg)
        train_texts, val_texts = ds.train_texts(), ds.validation_texts()
        if not train_texts:
            raise DataError("no training text left after preprocessing", ds.name)
        if resume_dir is not None:  # the checkpoint's tokenizer: its ids are what the weights know
            self.model, self.tokenizer = kind.load_for_training(resume_dir)
            self.model.train()
        else:
            self.tokenizer = kind.build_tokenizer(settings, ds.texts)
            self.model = kind.build_model(settings, self.tokenizer)
        self.model.to(device)
        kind.prepare_for_training(self.model, device)
        self.block_size = kind.context_length(self.model)  # T
        self.batch_size = cfg.train.resolved(kind).batch_size  # B (auto: the kind's)
        # one item a line (names) -> a newline also ends a sample
        self.stop_at_newline = not any("\n" in t for t in ds.texts)
        eot = self.tokenizer.eos_token_id

        def encode(texts: list[str]) -> list:
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
            pipeline=load_pipeline(cfg.augment.pipeline, cfg.augment.p, kind.data),
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
            kind.input_embeddings(self.model).register_forward_hook(self.noise)
        self.tokenizer_name = getattr(settings, "tokenizer", "char")

    def describe(self) -> str:
        n = sum(p.numel() for p in self.model.parameters())
        return (
            f"{self.kind.describe_model(self.model)}, vocab {len(self.tokenizer)} ({self.tokenizer_name}), "
            f"{n / 1e6:.2f}M parameters; {len(self.batches):,} training tokens, "
            f"batch {self.batch_size} x {self.block_size}"
        )

    def loss(self, model, step: int):
        import torch.nn.functional as F

        from genaug_core.train.data import step_seed

        x, y = self.batches.get(step)  # (B, T) inputs and targets
        x, y = x.to(self.device), y.to(self.device)
        self.noise_gen.manual_seed(step_seed(self.cfg.train.seed, self.rank, step, stream=1))
        logits = self.kind.logits(model, x)  # (B, T, vocab)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1))
        return loss, x.numel()

    def evaluate(self, model) -> dict[str, float]:
        import torch
        import torch.nn.functional as F

        if self.val is None:
            return {}
        with torch.no_grad():
            return self._evaluate(model, F)

    def _evaluate(self, model, F) -> dict[str, float]:
        model.eval()
        total, count = 0.0, 0
        for chunk in self.val.split(self.batch_size):
            chunk = chunk.to(self.device)
            logits = self.kind.logits(model, chunk[:, :-1])  # (b, T, vocab)
            loss = F.cross_entropy(
                logits.reshape(-1, logits.size(-1)).float(), chunk[:, 1:].reshape(-1), reduction="sum"
            )
            total, count = total + float(loss), count + chunk[:, 1:].numel()
        model.train()
        loss = total / count
        return {"loss": loss, "bpc": loss / math.log(2) / self.chars_per_token}

    def train_record(self, loss: float) -> dict[str, float]:
        """Extra fields of a train metrics line: bits per character."""
        return {"bpc": loss / math.log(2) / self.chars_per_token}

    def write_samples(self, model, path_stem: Path, n: int, seed: int) -> Path:
        samples = self.kind.generate(
            model,
            self.tokenizer,
            n=n,
            max_new_tokens=2 * self.block_size,
            seed=seed,
            stop_at_newline=self.stop_at_newline,
        )
        return self.kind.write_samples(path_stem, samples)

    def meta(self) -> dict[str, Any]:
        return {
            "stop_at_newline": self.stop_at_newline,
            "chars_per_token": self.chars_per_token,
            "tokenizer": self.tokenizer_name,
            "max_new_tokens": 2 * self.block_size,
        }

    def save(self, model, folder: Path) -> None:
        self.kind.save_model(folder, model, self.tokenizer, {"model_kind": self.kind.name, **self.meta()})
