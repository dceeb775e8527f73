"""The tiny GPT-2 and tiny DDPM: shapes, finite losses, plain HF loading, samplers."""

import numpy as np
import pytest
import torch

from genaug_core import runs
from genaug_core.config import ImageModelConfig, TextModelConfig
from genaug_core.errors import ConfigError
from genaug_core.models import image as im
from genaug_core.models import text as tm

NAMES = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper", "evelyn", "abigail"]
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:diffusers.*")

TINY_TEXT = TextModelConfig(preset="tiny")
TINY_IMAGE = ImageModelConfig(preset="tiny", num_train_timesteps=50)


@pytest.fixture(scope="module")
def gpt():
    torch.manual_seed(0)
    tok = tm.build_tokenizer(TINY_TEXT, NAMES)
    return tm.build_text_model(TINY_TEXT, tok), tok


def test_char_tokenizer_round_trip(gpt):
    _, tok = gpt
    ids = tok("emmava", add_special_tokens=False)["input_ids"]
    assert len(ids) == 6  # one token per character
    assert tok.decode(ids) == "emmava"
    assert tok("z", add_special_tokens=False)["input_ids"] == [tok.unk_token_id]  # unseen character


def test_bpe_tokenizer_encodes_anything():
    tok = tm.build_tokenizer(TextModelConfig(preset="tiny", tokenizer="bpe", bpe_vocab_size=300), NAMES * 5)
    ids = tok("emma zoë!", add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == "emma zoë!"
    assert tok.unk_token_id not in ids


def test_text_forward_backward_finite(gpt):
    model, tok = gpt
    x = torch.randint(3, len(tok), (2, 16))  # (B, T)
    logits = model(input_ids=x).logits
    assert logits.shape == (2, 16, len(tok))
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), x.reshape(-1))
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())
    model.zero_grad()


def test_presets_and_shape_checks():
    assert tm.resolve_shape(TextModelConfig())["n_embd"] == 128  # "small": nanoGPT's CPU shape
    with pytest.raises(ConfigError, match="multiple of n_head"):
        tm.resolve_shape(TextModelConfig(preset="tiny", n_embd=30, n_head=4))
    with pytest.raises(ConfigError, match="multiple of 2"):
        im.resolve_shape(TINY_IMAGE, 9)
    assert im.resolve_shape(ImageModelConfig(), 8)["preset"] == "small"
    assert im.resolve_shape(ImageModelConfig(), 32)["preset"] == "medium"


def test_text_save_load_with_plain_transformers(gpt, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model, tok = gpt
    tm.save_text_model(tmp_path, model, tok, {"stop_at_newline": True})
    assert (tmp_path / "model.safetensors").exists() and (tmp_path / "tokenizer.json").exists()
    model2 = AutoModelForCausalLM.from_pretrained(tmp_path)
    tok2 = AutoTokenizer.from_pretrained(tmp_path)
    x = torch.tensor([tok2("olivia", add_special_tokens=False)["input_ids"]])
    assert x.tolist() == [tok("olivia", add_special_tokens=False)["input_ids"]]
    model.eval(), model2.eval()
    with torch.no_grad():
        assert torch.allclose(model(x).logits, model2(x).logits, atol=1e-6)
    assert tok.eos_token_id in model2.generation_config.eos_token_id  # plain generate stops at <|endoftext|>


def test_generate_is_seeded_and_stops_at_newline(gpt):
    model, tok = gpt
    a = tm.generate(model, tok, n=4, max_new_tokens=20, seed=3, stop_at_newline=True, top_k=5, top_p=0.9)
    b = tm.generate(model, tok, n=4, max_new_tokens=20, seed=3, stop_at_newline=True, top_k=5, top_p=0.9)
    assert a == b and len(a) == 4
    assert all("\n" not in s and len(s) <= 20 for s in a)
    greedy = tm.generate(model, tok, n=2, max_new_tokens=5, temperature=0)
    assert greedy[0] == greedy[1]
    long = tm.generate(model, tok, n=1, max_new_tokens=70, seed=0)  # longer than the 32-token context
    assert len(long[0]) <= 70
    with pytest.raises(ConfigError):
        tm.generate(model, tok, n=1, top_p=0)


@pytest.fixture(scope="module")
def unet():
    torch.manual_seed(0)
    return im.build_unet(TINY_IMAGE, 8, 1, num_classes=3), im.build_scheduler(TINY_IMAGE)


def test_image_forward_backward_finite(unet):
    model, sched = unet
    x0 = torch.rand(4, 1, 8, 8) * 2 - 1  # (B, C, H, W)
    noise = torch.randn_like(x0)
    t = torch.randint(0, 50, (4,))
    y = torch.tensor([0, 1, 2, 3])  # 3 = "no class"
    pred = model(sched.add_noise(x0, noise, t), t, class_labels=y).sample
    assert pred.shape == x0.shape
    loss = torch.nn.functional.mse_loss(pred, noise)
    loss.backward()
    assert torch.isfinite(loss)
    model.zero_grad()


def test_image_save_load_with_plain_diffusers(unet, tmp_path):
    from diffusers import DDPMScheduler, UNet2DModel

    model, sched = unet
    im.save_image_model(tmp_path, model, sched, {"class_names": ["a", "b", "c"]})
    model2 = UNet2DModel.from_pretrained(tmp_path)
    sched2 = DDPMScheduler.from_pretrained(tmp_path)
    assert sched2.config.num_train_timesteps == 50
    x, t, y = torch.randn(2, 1, 8, 8), torch.tensor([3, 40]), torch.tensor([0, 3])
    model.eval(), model2.eval()
    with torch.no_grad():
        assert torch.allclose(model(x, t, class_labels=y).sample, model2(x, t, class_labels=y).sample, atol=1e-6)


@pytest.mark.parametrize("sampler", ["ddim", "dpm"])
def test_sample_images(unet, sampler):
    model, sched = unet
    a = im.sample_images(model, dict(sched.config), n=5, steps=2, sampler=sampler, class_ids=1, seed=1)
    b = im.sample_images(model, dict(sched.config), n=5, steps=2, sampler=sampler, class_ids=1, seed=1)
    assert a.shape == (5, 8, 8, 1) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert im.sample_images(model, dict(sched.config), n=3, steps=2, sampler=sampler).shape == (3, 8, 8, 1)
    with pytest.raises(ConfigError, match="out of range"):
        im.sample_images(model, dict(sched.config), n=2, steps=2, class_ids=3)


def test_grid_and_png(tmp_path):
    images = np.zeros((5, 8, 8, 1), np.uint8)
    grid = im.make_grid(images, ncols=3)
    assert grid.shape == (2 * 9 + 1, 3 * 9 + 1, 1)
    runs.write_png(tmp_path / "g.png", grid, scale=2)
    assert (tmp_path / "g.png").stat().st_size > 0
