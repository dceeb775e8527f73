"""The latent-diffusion kind: the autoencoder alone, a tiny latent run through the real loop, the saved pair
loaded with plain diffusers, resume, and the Train page's reconstruction panel.

(tests/test_kinds.py also walks this kind through the checks every kind passes.)"""

from __future__ import annotations

import json

import numpy as np
import pytest

from genaug_core import kinds, runs
from genaug_core.config import RunConfig
from genaug_core.models import autoencoder as ae
from genaug_core.train.loop import train

SIZE = 16  # shapes at 16x16 RGB -> 4x4x4 latents with downsample 4


def tiny_config(steps: int = 3) -> RunConfig:
    return RunConfig.from_dict({
        "name": "tiny ldm",
        "data": {"source": "shapes", "params": {"n": 48, "size": SIZE, "seed": 0}},
        "model": {"kind": "ldm", "latent": {"preset": "tiny", "autoencoder_steps": 4, "autoencoder_batch_size": 8}},
        "train": {"steps": steps, "batch_size": 4, "warmup_steps": 1, "eval_every": 2, "eval_batches": 1, "log_every": 1,
                  "num_samples": 2, "eval_samples": 0, "checkpoint_every": 2, "threads": 1, "device": "cpu"},
    })  # fmt: skip


@pytest.fixture(scope="module")
def latent_run(tmp_path_factory):
    run = runs.create_run(tiny_config(), run_dir=tmp_path_factory.mktemp("ldm") / "run")
    assert train(tiny_config(), run, progress=False) == "done"
    return run


def test_autoencoder_round_trip_shapes_range_and_measured_scaling_factor():
    import torch

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(12, SIZE, SIZE, 3), dtype=np.uint8)
    torch.manual_seed(0)
    vae = ae.build_autoencoder(3, "tiny", downsample=4, latent_channels=4, sample_size=SIZE)
    stats = ae.train_autoencoder(vae, images, steps=3, batch_size=4, lr=1e-3, seed=0)
    assert np.isfinite(stats["train_mse"]) and stats["steps"] == 3
    # the factor gives the training latents unit standard deviation, and lives in the VAE's own config
    assert vae.config.scaling_factor == pytest.approx(stats["scaling_factor"])
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1  # (N, 3, 16, 16)
    with torch.no_grad():
        z = ae.encode(vae.eval(), x)
        assert tuple(z.shape) == (12, 4, SIZE // 4, SIZE // 4)
        assert float(z.std()) == pytest.approx(1.0, rel=1e-3)
        y = ae.decode(vae, z)
    assert tuple(y.shape) == (12, 3, SIZE, SIZE) and float(y.min()) >= -1 and float(y.max()) <= 1
    back = ae.reconstruct(vae, images)
    assert back.dtype == np.uint8 and back.shape == images.shape
    with pytest.raises(Exception, match="downsample"):
        ae.build_autoencoder(3, "tiny", downsample=3)


def test_autoencoder_training_lowers_the_reconstruction_error():
    import torch

    from genaug_core.data import load_builtin

    images = load_builtin("shapes", n=16, size=SIZE, seed=0).images  # (16, 16, 16, 3): flat shapes, learnable fast
    torch.manual_seed(0)
    vae = ae.build_autoencoder(3, "tiny", downsample=2, latent_channels=4, sample_size=SIZE)
    before = ae.reconstruction_mse(vae, images)
    ae.train_autoencoder(vae, images, steps=40, batch_size=8, lr=3e-3, seed=0)
    assert ae.reconstruction_mse(vae, images) < 0.7 * before


def test_latent_run_end_to_end_writes_the_pair_the_metrics_and_the_reconstructions(latent_run):
    from PIL import Image

    status = runs.read_status(latent_run)
    assert status["state"] == "done" and status["model_kind"] == "ldm" and status["kind"] == "image"
    model = latent_run / runs.MODEL_DIR
    assert runs.check_model_dir(model) is None  # the UNet, flat, as the DDPM kind saves it
    assert runs.check_model_dir(model / "vae") is None  # the autoencoder beside it
    meta = json.loads((model / "genaug.json").read_text())
    vae_config = json.loads((model / "vae" / "config.json").read_text())
    assert meta["model_kind"] == "ldm" and meta["image_size"] == SIZE
    assert meta["latent"]["scaling_factor"] == pytest.approx(vae_config["scaling_factor"]) != 1.0
    unet_config = json.loads((model / "config.json").read_text())
    assert unet_config["sample_size"] == SIZE // 4 and unet_config["in_channels"] == 4
    assert json.loads((model / "scheduler_config.json").read_text())["clip_sample"] is False
    val = runs.read_metrics(latent_run, split="val")
    assert val and all(np.isfinite(r["loss"]) and r["ae_mse"] > 0 for r in val)
    assert "autoencoder trained 4 steps" in (latent_run / runs.LOG_FILE).read_text()
    recon = Image.open(latent_run / runs.SAMPLES_DIR / "autoencoder.png")
    assert recon.width >= 8 * 64 and recon.height >= 2 * 64  # 8 originals over 8 reconstructions, >= 64 px each
    loaded = kinds.load_run_model(latent_run)
    images = loaded.sample(n=3, seed=0, class_ids=[0, 1, 2], steps=2)
    assert images.dtype == np.uint8 and images.shape == (3, SIZE, SIZE, 3)
    assert loaded.sample(n=2, seed=0, sampler="dpm", steps=2).shape == (2, SIZE, SIZE, 3)  # unconditional too


def test_saved_pair_loads_with_plain_diffusers_and_samples_like_our_loader(latent_run):
    """The README recipe: UNet2DModel + AutoencoderKL (model/vae) + DDIMScheduler, the DDIM loop, decode."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DModel

    model = latent_run / runs.MODEL_DIR
    unet = UNet2DModel.from_pretrained(model).eval()
    vae = AutoencoderKL.from_pretrained(model / "vae").eval()  # (subfolder="vae" would pick the UNet weights)
    scheduler = DDIMScheduler.from_pretrained(model, timestep_spacing="trailing")
    scheduler.set_timesteps(3)
    n, classes = 4, torch.tensor([0, 1, 2, 0])
    gen = torch.Generator().manual_seed(5)
    size, channels = unet.config.sample_size, unet.config.in_channels
    with torch.no_grad():
        z = torch.randn((n, channels, size, size), generator=gen)
        for t in scheduler.timesteps:
            z = scheduler.step(unet(z, t, class_labels=classes).sample, t, z).prev_sample
        x = vae.decode(z / vae.config.scaling_factor).sample  # (n, 3, S, S) in about [-1, 1]
    plain = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    ours = kinds.load_run_model(latent_run).sample(n=n, seed=5, class_ids=[0, 1, 2, 0], steps=3, sampler="ddim",
                                                   guidance_scale=1.0)  # the plain loop above has no guidance
    assert np.array_equal(plain, ours)


def test_resume_keeps_the_autoencoder_and_continues(latent_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(latent_run, run)
    before = (run / runs.MODEL_DIR / "vae" / "diffusion_pytorch_model.safetensors").read_bytes()
    more = tiny_config(steps=5)
    assert train(more, run, resume=True, progress=False) == "done"
    assert runs.read_status(run)["step"] == 5
    assert (run / runs.MODEL_DIR / "vae" / "diffusion_pytorch_model.safetensors").read_bytes() == before
    assert "autoencoder from the checkpoint" in (run / runs.LOG_FILE).read_text()


def test_latent_settings_are_checked():
    from genaug_core.errors import ConfigError

    with pytest.raises(ConfigError, match="downsample"):
        RunConfig.from_dict({"model": {"kind": "ldm", "latent": {"downsample": 3}}})
    cfg = tiny_config().replace(data=tiny_config().data.replace(params={"n": 48, "size": 18, "seed": 0}))
    run = runs.create_run(cfg)
    with pytest.raises(ConfigError, match="multiple of model.latent.downsample"):
        train(cfg, run, progress=False)


def test_train_page_offers_the_latent_kind_and_shows_the_reconstructions(latent_run, monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from genaug_core.data import load_builtin

    monkeypatch.setenv("GENAUG_RUNS_DIR", str(latent_run.parent))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=60)
    at.switch_page("pages/3_Train.py")
    at.session_state["genaug.dataset"] = load_builtin("shapes", n=48, size=SIZE)
    at.session_state["genaug.dataset_spec"] = {"source": "shapes", "params": {"n": 48, "size": SIZE}}
    at.run()
    assert not at.exception, at.exception
    titles = at.selectbox(key="train.kind").options
    assert titles[0] == kinds.get_kind("ddpm").title and kinds.get_kind("ldm").title in titles
    assert any("Autoencoder: training images" in c.value for c in at.caption)


def test_the_latent_cache_gives_what_the_encoder_gives_and_misses_changed_images():
    import torch

    from genaug_core.data import load_dataset
    from genaug_core.data.preprocess import preprocess

    cfg = tiny_config()
    ds, _ = preprocess(load_dataset(cfg.data), cfg.preprocess)
    task = kinds.get_kind("ldm").make_task(cfg, ds, torch.device("cpu"), 0, None)
    x = task.batches.x[:4]  # (4, 3, 16, 16) clean training images: cached
    with torch.no_grad():
        direct = ae.encode(task.vae, x)
    assert torch.allclose(task._encode(x), direct, atol=1e-5)
    changed = x.flip(-1)  # an "augmented" batch is encoded afresh, not looked up
    with torch.no_grad():
        assert torch.allclose(task._encode(changed), ae.encode(task.vae, changed), atol=1e-5)
    assert not torch.allclose(task._encode(changed), direct, atol=1e-3)


@pytest.mark.parametrize(("size", "expected"), [(0, "ddpm"), (8, "ddpm"), (16, "ddpm"), (18, "ddpm"), (20, "ldm"),
                                                (32, "ldm"), (64, "ldm")])  # fmt: skip
def test_auto_picks_pixel_space_up_to_16_pixels_and_latent_diffusion_above(size, expected):
    assert kinds.kinds_for("image", size)[0].name == expected
    assert kinds.resolve("auto", "image", size).name == expected
    assert kinds.resolve("ddpm", "image", size).name == "ddpm"  # a named kind is kept at every size
    assert kinds.kinds_for("text", size)[0].name == "gpt2"


def test_the_loop_resolves_auto_by_the_size_of_the_data_it_loads(tmp_path):
    base = tiny_config(steps=1).to_dict()
    base["model"]["kind"] = "auto"
    base["model"]["image"].update(preset="tiny")
    base["train"].update(num_samples=0, eval_every=0)
    for size, expected in ((8, "ddpm"), (24, "ldm")):
        base["data"]["params"]["size"] = size
        cfg = RunConfig.from_dict(base)
        run = runs.create_run(cfg, run_dir=tmp_path / f"s{size}")
        assert train(cfg, run, progress=False) == "done"
        assert runs.read_status(run)["model_kind"] == expected
        assert kinds.for_run(run).name == expected
