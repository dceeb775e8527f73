"""The GPT-2 model kind: transformers' GPT2LMHeadModel on a character (or BPE) token stream.

Its settings are the [model.text] table (TextModelConfig: a preset shape, overridden field by
field); its Task feeds the loop random windows of the training items joined by <|endoftext|>,
with L1/L2-ball (or NEFTune) noise on the token embeddings; it saves with save_pretrained, so

    AutoModelForCausalLM.from_pretrained("runs/<id>/model")
    AutoTokenizer.from_pretrained("runs/<id>/model")

load a finished run without genaug_core. The network, tokenizers and sampler are in
genaug_core/models/text.py.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal

from genaug_core.kinds.base import register_kind
from genaug_core.kinds.families import TextKind
from genaug_core.kinds.text_task import TokenStreamTask
from genaug_core.settings import Config, check_range, check_zero_or_range


@dataclasses.dataclass(frozen=True)
class TextModelConfig(Config):
    """A GPT-2 for text: a preset shape, optionally overridden field by field."""

    # preset shape: tiny (tests: 2 layers, width 32), small (~0.8M params: 4 layers, 4 heads,
    # width 128, context 64, nanoGPT's CPU demo), medium (6 layers, width 192, context 128; GPU)
    preset: Literal["tiny", "small", "medium"] = "small"
    # overrides of the preset (0 = keep the preset's value)
    n_layer: int = 0  # transformer blocks, 1-48
    n_head: int = 0  # attention heads; must divide n_embd
    n_embd: int = 0  # width of the residual stream, 8-4096
    block_size: int = 0  # context length in tokens, 8-4096
    # dropout probability in attention, residual and embeddings, 0-0.9
    dropout: float = 0.0
    # char: one token per character (default, makemore-style); bpe: byte-level BPE trained on the data
    tokenizer: Literal["char", "bpe"] = "char"
    # vocabulary size of the BPE tokenizer (ignored for char), 260-65536
    bpe_vocab_size: int = 512

    def __post_init__(self) -> None:
        check_range("TextModelConfig", "n_layer", self.n_layer, 0, 48)
        check_range("TextModelConfig", "n_head", self.n_head, 0, 64)
        check_range("TextModelConfig", "n_embd", self.n_embd, 0, 4096)
        check_zero_or_range("TextModelConfig", "block_size", self.block_size, 8, 4096)
        check_range("TextModelConfig", "dropout", self.dropout, 0.0, 0.9)
        check_range("TextModelConfig", "bpe_vocab_size", self.bpe_vocab_size, 260, 65536)


@register_kind
class GPT2(TextKind):
    name = "gpt2"
    title = "GPT-2 (transformers)"
    section = "text"
    settings = TextModelConfig
    default_for_data = True
    lr = 2e-3  # reached a given validation loss in ~15% fewer steps than 1e-3 on prose
    batch_size = 12  # nanoGPT's CPU character demo
    bf16_autocast = True  # measured ~1.25x faster steps where the CPU has native bf16
    # bench/compile.py --cases text --threads 1 [--precision no]: fp32 steps 1.49x faster after ~210 s of
    # compiling on a heavily shared 2-core EPYC (break-even 1,290 steps); under bf16 autocast 0.99x: never
    compile_break_even = {"no": 1290}

    def make_task(self, cfg, ds, device, rank: int, resume_dir: Path | None):
        return TokenStreamTask(self, cfg, ds, device, rank, resume_dir)

    # --- the network, for TokenStreamTask ------------------------------------------------------
    def build_tokenizer(self, settings, texts: list[str]):
        from genaug_core.models.text import build_tokenizer

        return build_tokenizer(settings, texts)

    def build_model(self, settings, tokenizer):
        from genaug_core.models.text import build_text_model

        return build_text_model(settings, tokenizer)

    def load_for_training(self, folder: Path):
        from genaug_core.models.text import load_text_model

        model, tokenizer, _ = load_text_model(folder)
        return model, tokenizer

    def prepare_for_training(self, model, device) -> None:
        from genaug_core.models.text import use_training_attention

        use_training_attention(model, device)

    def context_length(self, model) -> int:
        return model.config.n_positions

    def logits(self, model, x):
        return model(input_ids=x, use_cache=False).logits  # no KV cache while training

    def input_embeddings(self, model):
        return model.get_input_embeddings()

    def describe_model(self, model) -> str:
        c = model.config
        return f"GPT-2 {c.n_layer} layers, {c.n_head} heads, width {c.n_embd}, context {c.n_positions}"

    def generate(self, model, tokenizer, **options: Any) -> list[str]:
        from genaug_core.models.text import generate

        return generate(model, tokenizer, **options)

    def save_model(self, folder: Path, model, tokenizer, meta: dict[str, Any]) -> None:
        from genaug_core.models.text import save_text_model

        save_text_model(folder, model, tokenizer, meta)

    # --- a saved model -------------------------------------------------------------------------

    def load(self, model_dir: Path):
        from genaug_core.models.text import load_text_model

        model, tokenizer, meta = load_text_model(model_dir)
        return model, {"tokenizer": tokenizer}, meta

    def sample(self, loaded, n: int, seed: int, **options: Any) -> list[str]:
        """Options: prompt, max_new_tokens, temperature, top_k, top_p, stop_at_newline."""
        options.setdefault("max_new_tokens", loaded.meta.get("max_new_tokens", 2 * self.context_length(loaded.model)))
        options.setdefault("stop_at_newline", loaded.meta.get("stop_at_newline", False))
        return self.generate(loaded.model, loaded.tokenizer, n=n, seed=seed, **options)
