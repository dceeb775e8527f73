"""A tiny GPT-2 for text, its tokenizers and its sampler.

The model is transformers' `GPT2LMHeadModel` built from a `GPT2Config` preset
(SDPA attention). The default tokenizer has one token per character
(makemore / nanoGPT's character demo); a byte-level BPE trained on the data
with `tokenizers` is the option for longer text. Both are saved as a
`PreTrainedTokenizerFast` (tokenizer.json), so

    AutoModelForCausalLM.from_pretrained("runs/<id>/model")
    AutoTokenizer.from_pretrained("runs/<id>/model")

load a finished run without genaug_core.

Items are joined into one token stream separated by the end-of-text token,
which also starts every sample: a sample is "what follows <|endoftext|>" and
ends at the next <|endoftext|> (or at a newline for one-item-per-line data
such as names).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from genaug_core.errors import ConfigError

if TYPE_CHECKING:
    import torch
    from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast

    from genaug_core.kinds.gpt2 import TextModelConfig

EOT = "<|endoftext|>"  # separates items and starts every sample (GPT-2's convention)
PAD = "<pad>"  # never trained on; fills finished rows while sampling
UNK = "<unk>"  # a character never seen in the data

# preset name -> GPT2Config shape; "small" is nanoGPT's CPU demo shape (~0.8M parameters)
TEXT_PRESETS: dict[str, dict[str, int]] = {
    "tiny": {"n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 32},  # tests
    "small": {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64},  # the default on CPU
    "medium": {"n_layer": 6, "n_head": 6, "n_embd": 192, "block_size": 128},  # a GPU or patience
}

# the tokenizer encodes whole items; windows of the context length are cut by the trainer and the sampler
LONG = 10**9

META_FILE = "genaug.json"  # facts genaug needs beside a saved model (stop rule, chars per token)


# --- tokenizers --------------------------------------------------------------


def build_char_tokenizer(texts: list[str]) -> PreTrainedTokenizerFast:
    """One token per distinct character of `texts`, plus <pad>, <unk> and <|endoftext|>."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    chars = sorted(set("".join(texts)))
    vocab = {tok: i for i, tok in enumerate([PAD, UNK, EOT, *chars])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.Split(pattern="", behavior="isolated")  # every character alone
    tok.decoder = decoders.Fuse()  # join the characters back without spaces
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=EOT, eos_token=EOT, pad_token=PAD, unk_token=UNK, model_max_length=LONG
    )


def build_bpe_tokenizer(texts: list[str], vocab_size: int = 512) -> PreTrainedTokenizerFast:
    """A byte-level BPE (GPT-2's scheme) trained on `texts`; never produces <unk>."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, UNK, EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes: any text encodes
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=EOT, eos_token=EOT, pad_token=PAD, unk_token=UNK, model_max_length=LONG
    )


def build_tokenizer(cfg: TextModelConfig, texts: list[str]) -> PreTrainedTokenizerFast:
    if cfg.tokenizer == "bpe":
        return build_bpe_tokenizer(texts, cfg.bpe_vocab_size)
    return build_char_tokenizer(texts)


def encode_items(tokenizer: PreTrainedTokenizerFast, texts: list[str]) -> list[np.ndarray]:
    """Token ids of each text, without special tokens: a list of int64 arrays."""
    if not texts:
        return []
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    return [np.asarray(x, dtype=np.int64) for x in ids]


# --- the model ---------------------------------------------------------------


def resolve_shape(cfg: TextModelConfig) -> dict[str, int]:
    """The preset's shape with the config's non-zero overrides applied, checked."""
    shape = dict(TEXT_PRESETS[cfg.preset])
    for key in shape:
        if getattr(cfg, key):
            shape[key] = getattr(cfg, key)
    if shape["n_embd"] % shape["n_head"]:
        raise ConfigError(
            f"TextModelConfig: n_embd = {shape['n_embd']} must be a multiple of n_head = {shape['n_head']}"
        )
    return shape


def build_text_model(cfg: TextModelConfig, tokenizer: PreTrainedTokenizerFast) -> GPT2LMHeadModel:
    """A freshly initialised GPT2LMHeadModel of the preset's shape for this tokenizer."""
    from transformers import GPT2Config, GPT2LMHeadModel

    shape = resolve_shape(cfg)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=shape["block_size"],
        n_embd=shape["n_embd"],
        n_layer=shape["n_layer"],
        n_head=shape["n_head"],
        resid_pdrop=cfg.dropout,
        embd_pdrop=cfg.dropout,
        attn_pdrop=cfg.dropout,
        # GPT-2's tanh GELU as one fused torch op: the same function as "gelu_new", ~15% faster steps on CPU
        activation_function="gelu_pytorch_tanh",
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        attn_implementation="sdpa",  # torch's fused scaled_dot_product_attention (what a saved model loads with)
    )
    return GPT2LMHeadModel(config)


def use_training_attention(model: GPT2LMHeadModel, device: torch.device) -> None:
    """Pick the attention kernel to train with on `device`: GPT-2's plain ("eager") one on CPU, SDPA elsewhere.

    On CPU, torch's SDPA runs a flash-attention kernel whose backward pass is
    slow at these sizes (about a quarter of a training step at context 64, by
    torch.profiler), while the plain matmul-softmax-matmul is cheap: the
    default preset's whole step runs ~1.5x faster with it (`bench/train_text.py`,
    the default's row next to "ours with SDPA attention"). Only the training
    process changes; the saved config does not record it, so a saved model
    loads with SDPA.
    """
    model.set_attn_implementation("eager" if device.type == "cpu" else "sdpa")


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def stop_ids(tokenizer: PreTrainedTokenizerFast, stop_at_newline: bool) -> list[int]:
    """Token ids that end a sample: <|endoftext|>, and a newline token for one-item-per-line data."""
    ids = [tokenizer.eos_token_id]
    if stop_at_newline:
        newline = tokenizer.convert_tokens_to_ids("\n")  # char tokenizer; BPE samples are cut after decoding
        if newline is not None and newline != tokenizer.unk_token_id:
            ids.append(newline)
    return ids


def save_text_model(
    out_dir: str | Path, model: GPT2LMHeadModel, tokenizer: PreTrainedTokenizerFast, meta: dict[str, Any]
) -> None:
    """save_pretrained model + tokenizer (safetensors, tokenizer.json) and genaug.json with the stop rule."""
    _quiet_transformers()
    out_dir = Path(out_dir)
    model.generation_config.eos_token_id = stop_ids(tokenizer, meta.get("stop_at_newline", False))
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    (out_dir / META_FILE).write_text(json.dumps({"kind": "text", **meta}, indent=2), encoding="utf-8")


def load_text_model(model_dir: str | Path) -> tuple[GPT2LMHeadModel, PreTrainedTokenizerFast, dict[str, Any]]:
    """(model in eval mode, tokenizer, genaug meta) from a folder written by save_text_model."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _quiet_transformers()
    model_dir = Path(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, use_safetensors=True)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    meta_path = model_dir / META_FILE
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    return model.eval(), tokenizer, meta


def _quiet_transformers() -> None:
    """No per-file progress bars from save/load: they flood log.txt and the CLI."""
    from transformers.utils import logging

    logging.disable_progress_bar()


# --- sampling ----------------------------------------------------------------


def generate(
    model: GPT2LMHeadModel,
    tokenizer: PreTrainedTokenizerFast,
    n: int = 16,
    prompt: str = "",
    max_new_tokens: int = 100,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    seed: int = 0,
    stop_at_newline: bool = False,
    progress: bool = False,
    next_logits=None,
) -> list[str]:
    """Sample n continuations of `prompt` (without the prompt), nanoGPT style.

    next_logits(model, idx) -> (n, vocab) is how a non-GPT-2 model (another text kind) gives the
    logits of the next token for the token ids idx (n, t); default: GPT-2 on the last n_positions.

    Every sample starts after <|endoftext|> + prompt and ends at a stop token
    or after max_new_tokens. Longer than the context: the window slides (the
    oldest tokens are cropped). temperature 0 means greedy; top_k 0 and
    top_p 1 mean no truncation.
    """
    import torch

    if n < 1 or max_new_tokens < 1:
        raise ConfigError(f"need n >= 1 and max_new_tokens >= 1, got n = {n}, max_new_tokens = {max_new_tokens}")
    if temperature < 0 or not 0 < top_p <= 1 or top_k < 0:
        raise ConfigError(
            f"temperature must be >= 0, top_k >= 0 and 0 < top_p <= 1; got {temperature}, {top_k}, {top_p}"
        )
    device = next(model.parameters()).device
    if next_logits is None:
        block_size = model.config.n_positions

        def next_logits(model, idx):
            return model(idx[:, -block_size:], use_cache=False).logits[:, -1, :]

    gen = torch.Generator(device="cpu").manual_seed(seed)
    prompt_ids = [tokenizer.eos_token_id, *tokenizer(prompt, add_special_tokens=False)["input_ids"]]
    idx = torch.tensor([prompt_ids] * n, dtype=torch.long, device=device)  # (n, t0)
    stops = torch.tensor(stop_ids(tokenizer, stop_at_newline), device=device)
    banned = [tokenizer.pad_token_id, tokenizer.unk_token_id]  # never in the training stream
    done = torch.zeros(n, dtype=torch.bool, device=device)
    was_training = model.training
    model.eval()
    steps = range(max_new_tokens)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="sampling", unit="tok")
    with torch.no_grad():
        for _ in steps:
            logits = next_logits(model, idx).float()  # (n, vocab)
            logits[:, banned] = -float("inf")
            if temperature == 0:
                nxt = logits.argmax(dim=-1, keepdim=True)  # (n, 1)
            else:
                logits = logits / temperature
                if top_k:
                    kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]
                    logits[logits < kth] = -float("inf")
                if top_p < 1:
                    # drop the tail of the sorted distribution beyond probability mass top_p (keep >= 1 token)
                    sorted_logits, order = torch.sort(logits, descending=True)
                    cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
                    drop_sorted = cum - sorted_logits.softmax(dim=-1) > top_p
                    logits[drop_sorted.scatter(1, order, drop_sorted)] = -float("inf")
                probs = logits.softmax(dim=-1)
                nxt = torch.multinomial(probs.cpu(), 1, generator=gen).to(device)  # (n, 1)
            nxt[done] = tokenizer.eos_token_id  # finished rows only repeat the stop token
            idx = torch.cat([idx, nxt], dim=1)
            done |= torch.isin(nxt.squeeze(1), stops)
            if bool(done.all()):
                break
    model.train(was_training)

    out = []
    for row in idx[:, len(prompt_ids) :].tolist():
        text = tokenizer.decode(_until_stop(row, set(stops.tolist())), skip_special_tokens=True)
        if stop_at_newline:
            text = text.split("\n", 1)[0]
        out.append(text)
    return out


def _until_stop(row: list[int], stops: set[int]) -> list[int]:
    for i, t in enumerate(row):
        if t in stops:
            return row[:i]
    return row


def bits_per_char(loss_nats_per_token: float, chars_per_token: float) -> float:
    """Cross-entropy in bits per character from nats per token."""
    return loss_nats_per_token / math.log(2) / max(chars_per_token, 1e-9)
