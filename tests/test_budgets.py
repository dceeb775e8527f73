"""Budgets (genaug_core.budgets): bytes per operation, checked before allocating; the training time cap."""

import types
from pathlib import Path

import pytest

from genaug_core import budgets, kinds, runs
from genaug_core.config import PreprocessConfig, RunConfig
from genaug_core.data import preprocess as pre
from genaug_core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_op_bytes_budget_from_the_environment(monkeypatch):
    monkeypatch.delenv(budgets.OP_BYTES_ENV, raising=False)
    assert budgets.max_op_bytes() == 1024**3
    budgets.check_op_bytes("sampling", 1024**3)  # at the budget: fine
    with pytest.raises(ConfigError, match=r"sampling \(64 samples\) would allocate about 2\.0 GiB.*1\.0 GiB.*GENAUG_MAX_OP_BYTES"):
        budgets.check_op_bytes("sampling", 2 * 1024**3, "64 samples")
    monkeypatch.setenv(budgets.OP_BYTES_ENV, "1000")
    assert budgets.max_op_bytes() == 1000
    monkeypatch.setenv(budgets.OP_BYTES_ENV, "nonsense")
    assert budgets.max_op_bytes() == 1024**3


def test_preprocessing_refuses_before_it_allocates(tiny_images, monkeypatch):
    cfg = PreprocessConfig(image_size=512, channels=3, feature_norm="l2")
    need = pre.peak_bytes(len(tiny_images), 8, 8, 1, cfg)
    assert need >= 12 * 512 * 512 * 3 * 8 * 3  # three float64 copies of the RGB 512x512 images
    monkeypatch.setenv(budgets.OP_BYTES_ENV, str(need - 1))
    monkeypatch.setattr(pre, "fit_image", lambda *a: pytest.fail("allocated before checking the budget"))
    with pytest.raises(ConfigError, match=r"preprocessing \(12 images to 512x512x3, l2 norm\).*GENAUG_MAX_OP_BYTES"):
        pre.preprocess(tiny_images, cfg)
    monkeypatch.undo()
    monkeypatch.setenv(budgets.OP_BYTES_ENV, str(need))
    out, _ = pre.preprocess(tiny_images, PreprocessConfig(image_size=16, channels=3))
    assert out.images.shape == (12, 16, 16, 3)


def test_image_sampling_estimate_grows_with_size_and_count():
    ddpm = kinds.resolve("ddpm", "image")
    loaded = types.SimpleNamespace(model=types.SimpleNamespace(config=types.SimpleNamespace(
        sample_size=64, in_channels=3, block_out_channels=[32, 64])), meta={})
    small, big = ddpm.sample_bytes(loaded, 16), ddpm.sample_bytes(loaded, 256)
    assert 16 * 64 * 64 * 3 < small < big and big >= 256 * 64 * 64 * 4 * 4 * 32
    assert kinds.resolve("gpt2", "text").sample_bytes(loaded, 256) == 0


def test_training_stops_at_the_time_budget_with_a_checkpoint(tmp_path, monkeypatch):
    from genaug_core.train.loop import train

    cfg = RunConfig.load(ROOT / "configs" / "tiny_text.toml")
    cfg = cfg.replace(train=cfg.train.replace(steps=50, checkpoint_every=0, eval_every=0, eval_samples=0))
    run = runs.create_run(cfg, run_dir=tmp_path / "run")
    monkeypatch.setenv(budgets.RUN_SECONDS_ENV, "0.5")  # this test process has run longer than that already
    assert train(cfg, run, progress=False) == "cancelled"
    status = runs.read_status(run)
    assert status["state"] == "cancelled" and status["step"] == 1
    assert "time budget" in status["error"] and budgets.RUN_SECONDS_ENV in status["error"]
    assert [s for s, _ in runs.list_checkpoints(run)] == [1]  # Resume continues from here
    monkeypatch.delenv(budgets.RUN_SECONDS_ENV)
    assert train(cfg, run, resume=True, progress=False) == "done"
    assert runs.read_status(run)["error"] is None
