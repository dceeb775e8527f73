"""The training engine: L1/L2 controls, batches, the loop's run folder, STOP, resume."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from genaug_core import kinds, runs
from genaug_core.augment.noise import item_norms
from genaug_core.config import RunConfig, TrainConfig, read_run_config
from genaug_core.train import regularization as reg
from genaug_core.train.data import ImageBatches, TextBatches, eval_windows
from genaug_core.train.loop import lr_at, train

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:diffusers.*")

ROOT = Path(__file__).resolve().parents[1]
HAS_PIPELINE = importlib.util.find_spec("genaug_core.augment.pipeline") is not None

# --- L1/L2 controls ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_penalty_is_zero_at_lambda_zero_and_grows(kind):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.LayerNorm(8), torch.nn.Linear(8, 2))
    params = reg.penalized_parameters(model)
    assert [p.shape for p in params] == [(8, 8), (2, 8)]  # matrices only: no biases, no norm scales
    assert float(reg.weight_penalty(params, kind, 0.0)) == 0.0
    assert float(reg.weight_penalty(params, "none", 1.0)) == 0.0
    values = [float(reg.weight_penalty(params, kind, lam).detach()) for lam in (1e-4, 1e-3, 1e-2)]
    assert 0 < values[0] < values[1] < values[2]
    expected = sum(p.detach().abs().sum() if kind == "l1" else p.detach().pow(2).sum() for p in params) * 1e-3
    assert values[1] == pytest.approx(float(expected), rel=1e-5)
    reg.weight_penalty(params, kind, 1e-3).backward()  # differentiable
    assert params[0].grad is not None


@pytest.mark.parametrize("norm", ["l1", "l2", "linf"])
def test_pixel_noise_respects_eps(norm):
    x = torch.zeros(16, 1, 8, 8)
    gen = torch.Generator().manual_seed(0)
    noisy = reg.pixel_noise(x, 0.5, norm, gen)
    norms = item_norms(noisy - x, norm)
    assert (norms <= 0.5 + 1e-5).all() and (norms > 0).all()
    assert reg.pixel_noise(x, 0.0, norm, gen) is x


@pytest.mark.parametrize("norm", ["l1", "l2", "linf"])
def test_embedding_noise_respects_eps_and_only_trains(norm):
    emb = torch.nn.Embedding(10, 6)
    hook = reg.EmbeddingNoise(0.3, norm, generator=torch.Generator().manual_seed(0))
    emb.register_forward_hook(hook)
    ids = torch.randint(0, 10, (4, 5))  # (B, T)
    clean = emb.weight[ids].detach()
    noisy = emb(ids).detach()  # training mode: noised
    norms = item_norms(noisy - clean, norm)  # one perturbation per sequence (T, d)
    assert (norms <= 0.3 + 1e-5).all() and (norms > 0).all()
    emb.eval()
    assert torch.equal(emb(ids), emb.weight[ids])  # eval / sampling: no noise


def test_neftune_radius():
    hook = reg.EmbeddingNoise(5.0, "linf", neftune=True)
    assert hook.radius(64, 128) == pytest.approx(5.0 / (64 * 128) ** 0.5)


def test_lr_schedule_warms_up_and_decays():
    tc = TrainConfig(steps=100, lr=1e-3, warmup_steps=10, min_lr_ratio=0.1)
    lrs = [lr_at(s, tc) for s in range(100)]
    assert lrs[0] < lrs[5] < lrs[9] <= 1e-3
    assert lrs[10] == pytest.approx(1e-3)
    assert lrs[99] == pytest.approx(1e-4, rel=0.01)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False))


# --- batches ----------------------------------------------------------------------------


class Upper:
    """A stand-in augmentation pipeline: upper-cases texts / inverts images."""

    def apply(self, items, seed=0):
        if isinstance(items, np.ndarray):
            return 255 - items
        return [t.upper() for t in items]


def test_text_batches_are_shifted_windows_and_reproducible():
    items = [np.array([5, 6, 7]), np.array([8, 9])]
    b = TextBatches(items, eot=2, block_size=4, batch_size=3, seed=1)
    x, y = b.get(7)
    assert x.shape == y.shape == (3, 4) and x.dtype == torch.long
    assert torch.equal(x[:, 1:], y[:, :-1])  # targets are the inputs shifted by one
    assert torch.equal(b.get(7)[0], x)  # the same step draws the same batch (resume)
    other_rank = TextBatches(items, eot=2, block_size=4, batch_size=3, seed=1, rank=1)
    assert not torch.equal(other_rank.get(7)[0], x) or not torch.equal(b.get(8)[0], x)


def test_text_batches_augment_with_probability_p():
    texts = ["abc", "de", "fgh"]
    vocab = {c: i + 3 for i, c in enumerate("abcdefghABCDEFGH")}

    def encode(ts):
        return [np.array([vocab[c] for c in t]) for t in ts]

    plain = TextBatches(encode(texts), 2, 6, 8, seed=0, texts=texts, encode=encode, pipeline=Upper(), p=0.0)
    always = TextBatches(encode(texts), 2, 6, 8, seed=0, texts=texts, encode=encode, pipeline=Upper(), p=1.0)
    upper = {vocab[c] for c in "ABCDEFGH"}
    assert not upper & set(plain.get(0)[0].flatten().tolist())
    tokens = set(always.get(0)[0].flatten().tolist())
    assert tokens & upper and not tokens & {vocab[c] for c in "abcdefgh"}


def test_eval_windows_fixed():
    items = [np.arange(3, 20)]
    w = eval_windows(items, 2, 4, max_windows=3)
    assert w.shape == (3, 5)
    assert np.array_equal(w, eval_windows(items, 2, 4, max_windows=3))


def test_image_batches_and_augmentation():
    images = np.zeros((6, 8, 8, 1), np.uint8)
    b = ImageBatches(images, np.arange(6), 8, 4, seed=0)
    x, y = b.get(0)
    assert x.shape == (4, 1, 8, 8) and y.shape == (4,) and float(x.max()) == -1.0
    aug = ImageBatches(images, None, 16, 4, seed=0, pipeline=Upper(), p=1.0)
    x, y = aug.get(0)
    assert x.shape == (4, 1, 16, 16) and y is None and float(x.min()) == 1.0  # inverted, resized


# --- the loop -----------------------------------------------------------------------------

TINY = {
    "steps": 3,
    "batch_size": 4,
    "warmup_steps": 1,
    "eval_every": 2,
    "eval_batches": 1,
    "log_every": 1,
    "num_samples": 2,
    "checkpoint_every": 2,
    "threads": 1,
    "device": "cpu",
}


def text_cfg(**train) -> RunConfig:
    return RunConfig.from_dict(
        {
            "data": {"source": "names", "params": {"max_items": 200}},
            "model": {"text": {"preset": "tiny"}},
            "train": {**TINY, **train},
        }
    )


def image_cfg(**sections) -> RunConfig:
    d = {
        "data": {"source": "digits"},
        "model": {"image": {"preset": "tiny", "num_train_timesteps": 50, "sample_steps": 2}},
        "train": {**TINY, "batch_size": 8},
    }
    for k, v in sections.items():
        d[k] = {**d.get(k, {}), **v}
    return RunConfig.from_dict(d)


def test_text_run_writes_the_run_folder(tmp_path):
    run = runs.create_run(text_cfg(), run_dir=tmp_path / "run")
    assert train(read_run_config(run), run, progress=False) == "done"
    status = runs.read_status(run)
    assert (status["state"], status["step"], status["total"], status["kind"]) == ("done", 3, 3, "text")
    train_recs = runs.read_metrics(run, "train")
    assert [r["step"] for r in train_recs] == [1, 2, 3]
    assert {"loss", "bpc", "lr", "time", "tokens_per_s"} <= set(train_recs[0])
    assert [r["step"] for r in runs.read_metrics(run, "val")] == [0, 2, 3]
    assert [s for s, _ in runs.list_samples(run)] == [0, 2, 3]
    assert [s for s, _ in runs.list_checkpoints(run)] == [2, 3]  # keep_checkpoints = 2
    assert (run / "model" / "model.safetensors").exists() and (run / "log.txt").read_text()
    assert not list(run.rglob("*.bin")) and not list(run.rglob("*.pkl")) and not list(run.rglob("*.pt"))
    loaded = kinds.load_run_model(run)
    assert loaded.kind == "text" and loaded.step is None
    samples = loaded.sample(3, seed=1, max_new_tokens=10)
    assert len(samples) == 3 and all(isinstance(s, str) for s in samples)
    assert kinds.load_run_model(run, checkpoint=2).step == 2
    (rec,) = runs.list_runs(tmp_path)
    assert rec.state == "done" and rec.broken is None and rec.has_model and rec.checkpoints == [2, 3]


def test_image_run_with_penalty_noise_and_ema(tmp_path):
    cfg = image_cfg(
        regularization={"penalty": "l2", "penalty_lambda": 1e-3, "noise_eps": 0.5, "noise_norm": "l1"},
        train={"ema_decay": 0.9},
    )
    run = runs.create_run(cfg, run_dir=tmp_path / "run")
    assert train(cfg, run, progress=False) == "done"
    recs = runs.read_metrics(run, "train")
    assert all(r["penalty"] > 0 for r in recs) and "images_per_s" in recs[0]
    assert (run / "samples" / "step-0000003.png").exists()
    assert (run / "checkpoint-3" / "ema.safetensors").exists()
    loaded = kinds.load_run_model(run)
    assert loaded.meta["class_names"] == [str(i) for i in range(10)]
    images = loaded.sample(4, seed=0, class_ids=7, steps=2)
    assert images.shape == (4, 8, 8, 1) and images.dtype == np.uint8


def test_text_run_with_embedding_noise_and_l1(tmp_path):
    cfg = text_cfg().replace(
        regularization=RunConfig().regularization.replace(
            penalty="l1", penalty_lambda=1e-4, noise_eps=5.0, noise_norm="linf", neftune=True
        )
    )
    run = runs.create_run(cfg, run_dir=tmp_path / "run")
    assert train(cfg, run, progress=False) == "done"
    assert all(r["penalty"] > 0 for r in runs.read_metrics(run, "train"))


@pytest.mark.skipif(not HAS_PIPELINE, reason="genaug_core.augment.pipeline is not there yet")
def test_run_with_the_augmentation_pipeline(tmp_path):
    from genaug_core.augment.pipeline import default_pipeline

    cfg = image_cfg(augment={"pipeline": default_pipeline("image").to_dict(), "p": 0.5})
    run = runs.create_run(cfg, run_dir=tmp_path / "run")
    assert train(cfg, run, progress=False) == "done"


def test_stop_file_cancels_with_a_checkpoint(tmp_path):
    cfg = text_cfg(steps=50, checkpoint_every=0)
    run = runs.create_run(cfg, run_dir=tmp_path / "run")
    runs.request_stop(run)
    assert train(cfg, run, progress=False) == "cancelled"
    status = runs.read_status(run)
    assert status["state"] == "cancelled" and status["step"] == 1
    assert [s for s, _ in runs.list_checkpoints(run)] == [1]
    assert not runs.stop_requested(run) and not (run / "model").exists()
    assert kinds.load_run_model(run).step == 1  # sampling works from the checkpoint


def test_resume_continues_the_step_count(tmp_path):
    cfg = text_cfg(steps=6, checkpoint_every=0, eval_every=0)
    run = runs.create_run(cfg, run_dir=tmp_path / "run")
    runs.request_stop(run)
    assert train(cfg, run, progress=False) == "cancelled"  # stopped after step 1
    ck = runs.latest_checkpoint(run)
    opt_before = json.loads((ck / "optimizer.json").read_text())
    assert train(cfg, run, resume=True, progress=False) == "done"
    assert runs.read_status(run)["step"] == 6
    assert [r["step"] for r in runs.read_metrics(run, "train")] == [1, 2, 3, 4, 5, 6]
    assert opt_before["param_groups"][0]["lr"] > 0

    # resuming reproduces an uninterrupted run exactly (batches and dropout are seeded per step)
    straight = runs.create_run(cfg, run_dir=tmp_path / "straight")
    train(cfg, straight, progress=False)
    losses = [r["loss"] for r in runs.read_metrics(run, "train")]
    assert losses == pytest.approx([r["loss"] for r in runs.read_metrics(straight, "train")], rel=1e-4)


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.toml")), ids=lambda p: p.name)
def test_example_configs_are_valid(path):
    cfg = RunConfig.load(path)
    assert cfg.train.steps >= 1


def test_bad_noise_target_fails_the_run(tmp_path):
    from genaug_core.errors import ConfigError

    cfg = image_cfg(regularization={"noise_eps": 0.1, "noise_target": "embeddings"})
    run = runs.create_run(cfg, run_dir=tmp_path / "run")
    with pytest.raises(ConfigError, match="noise_target"):
        train(cfg, run, progress=False)
    status = runs.read_status(run)
    assert status["state"] == "failed" and "noise_target" in status["error"]
    assert "Traceback" in (run / "log.txt").read_text()
