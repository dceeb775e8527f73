"""Sampling a run while it trains: the newest complete checkpoint, safe against writes and pruning;
time-aware checkpoints; the train.compile rule."""

import shutil
import threading

import numpy as np
import pytest
import torch

from genaug_core import kinds, runs
from genaug_core.config import RunConfig, TrainConfig
from genaug_core.errors import ConfigError
from genaug_core.train.checkpoint import save_checkpoint
from genaug_core.train.loop import build_optimizer, compile_choice, train

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:diffusers.*")

TINY = {"steps": 3, "batch_size": 8, "warmup_steps": 1, "eval_every": 0, "eval_batches": 1, "log_every": 1,
        "num_samples": 0, "eval_samples": 0, "checkpoint_every": 2, "threads": 1, "device": "cpu", "ema_decay": 0.9}  # fmt: skip


def image_cfg(**train) -> RunConfig:
    return RunConfig.from_dict(
        {
            "data": {"source": "digits"},
            "model": {"image": {"preset": "tiny", "num_train_timesteps": 50, "sample_steps": 2}},
            "train": {**TINY, **train},
        }
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished tiny image run with EMA: checkpoints 2 and 3 and the final model/."""
    cfg = image_cfg()
    run = runs.create_run(cfg, run_dir=tmp_path_factory.mktemp("live") / "run")
    assert train(cfg, run, progress=False) == "done"
    return cfg, run


def as_running(run, dest):
    """A copy of the run folder as it looks mid-run: checkpoints, no final model/ yet."""
    shutil.copytree(run, dest)
    shutil.rmtree(dest / runs.MODEL_DIR)
    return dest


def test_newest_complete_checkpoint_is_sampled_and_partial_ones_skipped(trained, tmp_path):
    _, run = trained
    live = as_running(run, tmp_path / "live")
    # a checkpoint being written (the loop's temp name) and a newer one left half written
    shutil.copytree(live / "checkpoint-3", live / ".tmp-checkpoint-9")
    half = live / "checkpoint-7"
    shutil.copytree(live / "checkpoint-3", half)
    weights = half / runs.MODEL_DIR / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # truncated mid-write
    (half / "state.json").write_text('{"step": 7, "total": 9}')

    loaded = kinds.load_run_model(live)  # no final model: the newest complete checkpoint
    assert loaded.step == 3 and loaded.ema and loaded.total == 3
    assert loaded.weights == "step 3 of 3, EMA weights"
    images = loaded.sample(2, seed=0, steps=2)
    assert images.shape == (2, 8, 8, 1) and images.dtype == np.uint8
    assert kinds.load_run_model(run).weights == "the final model"
    assert kinds.load_run_model(run, 2).weights == "step 2 of 3, EMA weights"
    (rec,) = [r for r in runs.list_runs(run.parent) if r.id == run.name]
    assert rec.broken is None and not list(run.glob(runs.READ_PREFIX + "*"))
    # the EMA weights are the ones loaded, not the raw training weights
    from safetensors.torch import load_file

    ema = load_file(live / "checkpoint-3" / "ema.safetensors")
    name = next(iter(ema))
    assert torch.equal(dict(loaded.model.named_parameters())[name].detach(), ema[name])


def test_sampling_while_checkpoints_are_written_and_pruned(trained, tmp_path):
    """A writer saves checkpoint after checkpoint (keeping one, so each save deletes the previous) while
    a reader loads the newest and samples: every load succeeds, on a complete checkpoint, never going back."""
    cfg, run = trained
    live = as_running(run, tmp_path / "live")
    kind = kinds.get_kind("ddpm")
    from genaug_core.data import load_dataset

    task = kind.make_task(cfg, load_dataset(cfg.data), torch.device("cpu"), 0, live / "checkpoint-3" / "model")
    optimizer = build_optimizer(task.model, cfg.train.resolved(kind), torch.device("cpu"))
    task.loss(task.model, 0)[0].backward()
    optimizer.step()  # AdamW state to save
    written, errors, done = [3], [], threading.Event()

    def writer():
        try:
            for step in range(4, 40):
                save_checkpoint(live, step, lambda folder: task.save(task.model, folder), optimizer, None,
                                {"total": 40}, keep=1)  # fmt: skip
                written.append(step)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    seen = []
    try:
        while not done.is_set() or not seen:
            loaded = kinds.load_run_model(live, "latest")
            seen.append(loaded.step)
            assert loaded.sample(1, seed=0, steps=1).shape == (1, 8, 8, 1)
    finally:
        thread.join()
    assert not errors
    assert set(seen) <= set(written) and seen == sorted(seen)
    assert kinds.load_run_model(live).step == 39 and not (live / ".tmp-checkpoint-39").exists()
    assert [s for s, _ in runs.list_checkpoints(live)] == [39]
    assert not list(live.glob(runs.READ_PREFIX + "*"))  # the reader's hard-linked copies are gone


def test_time_aware_checkpoints_exist_early(tmp_path):
    """checkpoint_every_s writes checkpoints by the clock, between the step-count ones."""
    cfg = image_cfg(steps=4, checkpoint_every=0, checkpoint_every_s=1e-6, keep_checkpoints=10, ema_decay=0.0)
    run = runs.create_run(cfg, run_dir=tmp_path / "run")
    assert train(cfg, run, progress=False) == "done"
    assert [s for s, _ in runs.list_checkpoints(run)] == [1, 2, 3, 4]  # every step here; 4 = the final one
    log = (run / runs.LOG_FILE).read_text()
    assert "saved checkpoint-1 in" in log
    off = image_cfg(steps=4, checkpoint_every=0, checkpoint_every_s=0.0)
    run = runs.create_run(off, run_dir=tmp_path / "off")
    train(off, run, progress=False)
    assert [s for s, _ in runs.list_checkpoints(run)] == [4]


def test_compile_rule():
    gpt2 = kinds.get_kind("gpt2")
    assert compile_choice(True, 1, gpt2) == (True, "compiling: train.compile = true")
    assert compile_choice(False, 10**6, gpt2) == (False, "not compiling: train.compile = false")
    for kind in (k for _, k in kinds.KINDS.items()):
        for precision in ("no", "bf16", "fp16"):
            even = kind.compile_break_even.get(precision)
            if even is None:
                on, why = compile_choice("auto", 10**7, kind, precision)
                assert not on and "not measured to pay back" in why
                continue
            on, why = compile_choice("auto", even + 1, kind, precision)
            assert on and why.startswith(f"compiling: {even + 1:,} steps > break-even ~{even:,}")
            on, why = compile_choice("auto", even, kind, precision)
            assert not on and why.startswith("not compiling:")
    assert any(k.compile_break_even for _, k in kinds.KINDS.items())  # measured for at least one kind


def test_compile_setting_accepts_old_configs():
    assert TrainConfig().compile == "auto"
    assert TrainConfig.from_dict({"compile": True}).compile is True
    assert TrainConfig.from_dict({"compile": False}).compile is False
    assert TrainConfig.from_dict({"compile": "auto"}).compile == "auto"
    with pytest.raises(ConfigError, match="compile"):
        TrainConfig.from_dict({"compile": "yes"})
    with pytest.raises(ConfigError, match="checkpoint_every_s"):
        TrainConfig(checkpoint_every_s=-1.0)


def test_the_log_says_whether_it_compiled(trained):
    _, run = trained
    log = (run / runs.LOG_FILE).read_text()
    assert "not compiling: 3 steps <=" in log or "not compiling: torch.compile was not measured" in log


def test_compile_without_a_cpu_compiler_is_refused_or_skipped(tmp_path, monkeypatch):
    monkeypatch.setenv("CXX", "no-such-compiler-here")
    gpt2 = kinds.get_kind("gpt2")
    on, why = compile_choice("auto", 10**7, gpt2, "no", on_cpu=True)
    assert not on and "needs a C++ compiler" in why
    with pytest.raises(ConfigError, match=r"C\+\+ compiler"):
        compile_choice(True, 10, gpt2, "no", on_cpu=True)
    cfg = image_cfg(compile=True)
    run = runs.create_run(cfg, run_dir=tmp_path / "run")
    with pytest.raises(ConfigError):
        train(cfg, run, progress=False)
    status = runs.read_status(run)
    assert status["state"] == "failed" and "C++ compiler" in status["error"]
