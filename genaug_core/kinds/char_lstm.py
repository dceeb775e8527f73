"""The character-LSTM model kind: a makemore-style recurrent language model, the whole kind in one file.

It shows what adding a model kind takes: a settings table ([model.char_lstm]), a network, how it
saves and loads, and the few hooks TokenStreamTask (text_task.py) calls; batches, loss,
validation, bits per character, augmentation, embedding noise, samples, scoring and
self-training come from the text family. Pick it with `model.kind = "char_lstm"`.

The network is embedding -> LSTM -> linear head over the same character tokenizer GPT-2 uses.
It is saved with huggingface_hub's PyTorchModelHubMixin (config.json + model.safetensors, no
pickle) and the tokenizer as a PreTrainedTokenizerFast, so without genaug_core:

    model = CharLSTM.from_pretrained("runs/<id>/model")   # the class from char_lstm.network()
    tokenizer = AutoTokenizer.from_pretrained("runs/<id>/model")
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any, Literal

from genaug_core.kinds.base import register_kind
from genaug_core.kinds.families import TextKind
from genaug_core.kinds.text_task import TokenStreamTask
from genaug_core.settings import Config, check_range, check_zero_or_range

# preset name -> shape; "small" has about as many parameters as GPT-2's "small" (~0.8M with a names vocabulary)
PRESETS: dict[str, dict[str, int]] = {
    "tiny": {"n_embd": 16, "hidden": 32, "n_layer": 1, "block_size": 32},  # tests
    "small": {"n_embd": 64, "hidden": 256, "n_layer": 2, "block_size": 64},
}


@dataclasses.dataclass(frozen=True)
class CharLSTMConfig(Config):
    """A character LSTM: a preset shape, optionally overridden field by field."""

    # preset shape: tiny (tests), small (2 layers of 256 units)
    preset: Literal["tiny", "small"] = "small"
    n_embd: int = 0  # width of the character embedding, 0 = the preset's, 4-1024
    hidden: int = 0  # LSTM units per layer, 0 = the preset's, 4-4096
    n_layer: int = 0  # stacked LSTM layers, 0 = the preset's, 1-8
    block_size: int = 0  # training window in characters (truncated backpropagation), 0 = the preset's, 8-4096
    dropout: float = 0.0  # between LSTM layers and before the head, 0-0.9

    def __post_init__(self) -> None:
        check_zero_or_range("CharLSTMConfig", "n_embd", self.n_embd, 4, 1024)
        check_zero_or_range("CharLSTMConfig", "hidden", self.hidden, 4, 4096)
        check_zero_or_range("CharLSTMConfig", "n_layer", self.n_layer, 1, 8)
        check_zero_or_range("CharLSTMConfig", "block_size", self.block_size, 8, 4096)
        check_range("CharLSTMConfig", "dropout", self.dropout, 0.0, 0.9)


@functools.cache
def network() -> type:
    """The torch module class, defined on first use so that importing the kind does not import torch."""
    import torch
    from huggingface_hub import PyTorchModelHubMixin

    class CharLSTM(torch.nn.Module, PyTorchModelHubMixin):
        def __init__(self, vocab_size: int, n_embd: int, hidden: int, n_layer: int, block_size: int,
                     dropout: float = 0.0):  # fmt: skip
            super().__init__()
            self.block_size = block_size
            self.wte = torch.nn.Embedding(vocab_size, n_embd)
            self.lstm = torch.nn.LSTM(n_embd, hidden, n_layer, batch_first=True, dropout=dropout if n_layer > 1 else 0)
            self.drop = torch.nn.Dropout(dropout)
            self.head = torch.nn.Linear(hidden, vocab_size)

        def forward(self, idx: torch.Tensor) -> torch.Tensor:  # (B, T) token ids -> (B, T, vocab) logits
            out, _ = self.lstm(self.wte(idx))  # (B, T, hidden)
            return self.head(self.drop(out))

    return CharLSTM


@register_kind
class CharLSTMKind(TextKind):
    name = "char_lstm"
    title = "Character LSTM (makemore-style)"
    section = "char_lstm"
    settings = CharLSTMConfig
    lr = 3e-3
    batch_size = 32

    def make_task(self, cfg, ds, device, rank: int, resume_dir: Path | None):
        return TokenStreamTask(self, cfg, ds, device, rank, resume_dir)

    def shape(self, settings: CharLSTMConfig) -> dict[str, int]:
        base = PRESETS[settings.preset]
        return {k: getattr(settings, k) or v for k, v in base.items()}

    # --- the network, for TokenStreamTask ------------------------------------------------------
    def build_tokenizer(self, settings, texts: list[str]):
        from genaug_core.models.text import build_char_tokenizer

        return build_char_tokenizer(texts)

    def build_model(self, settings, tokenizer):
        return network()(vocab_size=len(tokenizer), dropout=settings.dropout, **self.shape(settings))

    def load_for_training(self, folder: Path):
        model, extras, _ = self.load(folder)
        return model, extras["tokenizer"]

    def prepare_for_training(self, model, device) -> None:
        pass

    def context_length(self, model) -> int:
        return model.block_size

    def logits(self, model, x):
        return model(x)

    def input_embeddings(self, model):
        return model.wte

    def describe_model(self, model) -> str:
        lstm = model.lstm
        return f"LSTM {lstm.num_layers} layers of {lstm.hidden_size} units, window {model.block_size}"

    def generate(self, model, tokenizer, **options: Any) -> list[str]:
        from genaug_core.models.text import generate

        # the LSTM reads the whole sample so far (no window): its state carries the context
        return generate(model, tokenizer, next_logits=lambda m, idx: m(idx)[:, -1, :], **options)

    def save_model(self, folder: Path, model, tokenizer, meta: dict[str, Any]) -> None:
        import json

        from genaug_core.kinds.base import META_FILE

        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        (Path(folder) / META_FILE).write_text(json.dumps({"kind": "text", **meta}, indent=2), encoding="utf-8")

    # --- a saved model -------------------------------------------------------------------------
    def load(self, model_dir: Path):
        from transformers import AutoTokenizer

        from genaug_core.kinds.base import read_meta

        model = network().from_pretrained(model_dir)
        return model.eval(), {"tokenizer": AutoTokenizer.from_pretrained(model_dir)}, read_meta(Path(model_dir))

    def sample(self, loaded, n: int, seed: int, **options: Any) -> list[str]:
        """Options: prompt, max_new_tokens, temperature, top_k, top_p, stop_at_newline."""
        options.setdefault("max_new_tokens", loaded.meta.get("max_new_tokens", 2 * loaded.model.block_size))
        options.setdefault("stop_at_newline", loaded.meta.get("stop_at_newline", False))
        return self.generate(loaded.model, loaded.tokenizer, n=n, seed=seed, **options)
