"""The DDPM training recipe options: Min-SNR-gamma weights, v-prediction, EMA warm-up, classifier-free guidance.

Each expected value is computed here from the schedule's alphas_cumprod (or the EMA formula), not by
calling the code under test, so the tests fail if the implementation drifts from the published rule.
"""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from genaug_core import kinds, runs
from genaug_core.cli import main
from genaug_core.config import RunConfig, TrainConfig
from genaug_core.errors import ConfigError
from genaug_core.kinds.ddpm import ImageModelConfig
from genaug_core.models import image as im
from genaug_core.train.ema import EMA
from genaug_core.train.loop import train

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:diffusers.*")
ROOT = Path(__file__).resolve().parents[1]

TINY = ImageModelConfig(preset="tiny", num_train_timesteps=50)
SCHEDULE = ImageModelConfig()  # the default 1000-step linear schedule
T_KNOWN = torch.tensor([0, 10, 100, 500, 999])  # known timesteps, from nearly clean to nearly pure noise


def _snr_by_hand(sched, t):
    abar = sched.alphas_cumprod.double()[t]
    return abar / (1 - abar)  # signal-to-noise ratio of x_t = sqrt(abar) x0 + sqrt(1 - abar) noise


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
@pytest.mark.parametrize("gamma", [1.0, 5.0])
def test_min_snr_weights_equal_the_formula(prediction_type, gamma):
    sched = im.build_scheduler(SCHEDULE.replace(prediction_type=prediction_type))
    snr = _snr_by_hand(sched, T_KNOWN)
    clipped = torch.minimum(snr, torch.full_like(snr, gamma))
    expected = clipped / snr if prediction_type == "epsilon" else clipped / (snr + 1)
    got = im.min_snr_weights(sched, T_KNOWN, gamma)
    assert got.shape == (5,)
    assert torch.allclose(got.double(), expected, rtol=1e-5)
    # noisy timesteps (snr < gamma) keep weight 1 for epsilon; clean ones (t = 0, huge snr) are cut down
    assert got[0] < 0.05 and (prediction_type != "epsilon" or got[-1] == 1.0)


def test_velocity_target_equals_the_formula():
    sched = im.build_scheduler(SCHEDULE.replace(prediction_type="v_prediction"))
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.rand(5, 1, 8, 8, generator=g) * 2 - 1, torch.randn(5, 1, 8, 8, generator=g)
    abar = sched.alphas_cumprod[T_KNOWN].view(5, 1, 1, 1)
    v = abar.sqrt() * noise - (1 - abar).sqrt() * x0
    assert torch.allclose(im.training_target(sched, x0, noise, T_KNOWN), v, atol=1e-6)
    eps_sched = im.build_scheduler(SCHEDULE)
    assert im.training_target(eps_sched, x0, noise, T_KNOWN) is noise


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="snr_gamma"):
        ImageModelConfig(snr_gamma=0.5)
    with pytest.raises(ConfigError, match="prediction_type"):
        ImageModelConfig.from_dict({"prediction_type": "sample"})  # Literal fields are checked when read
    with pytest.raises(ConfigError, match="guidance_scale"):
        ImageModelConfig(guidance_scale=-1.0)
    with pytest.raises(ConfigError, match="ema_power"):
        TrainConfig(ema_power=2.0)


def _digits_cfg(tmp_path=None, **image):
    return RunConfig.from_dict({
        "data": {"source": "digits", "max_train_items": 64},
        "model": {"image": {"preset": "tiny", "num_train_timesteps": 50, "sample_steps": 2, **image}},
        "train": {"steps": 3, "batch_size": 8, "eval_every": 0, "eval_batches": 1, "num_samples": 0,
                  "checkpoint_every": 0, "threads": 1, "device": "cpu", "eval_samples": 0, "seed": 3},
    })  # fmt: skip


def _task(**image):
    from genaug_core.data import load_dataset

    cfg = _digits_cfg(**image)
    ds = load_dataset(cfg.data)
    kind = kinds.for_run_config(cfg, ds.kind)
    torch.manual_seed(0)
    return kind.make_task(cfg, ds, torch.device("cpu"), 0, None)


def test_loss_follows_prediction_type_and_snr_gamma():
    plain = _task()
    torch.manual_seed(0)
    weighted = _task(snr_gamma=5.0)
    assert all(p.equal(q) for p, q in zip(plain.model.parameters(), weighted.model.parameters(), strict=True))
    base, n = plain.loss(plain.model, step=0)
    same_batch, _ = weighted.loss(weighted.model, step=0)  # same seed: the same batch, noise and timesteps
    assert n == 8 and torch.isfinite(base) and torch.isfinite(same_batch)
    assert not torch.isclose(base, same_batch)  # the weights changed the loss
    v = _task(prediction_type="v_prediction")
    assert v.scheduler.config.prediction_type == "v_prediction"
    v_loss, _ = v.loss(v.model, step=0)
    assert not torch.isclose(base, v_loss)  # another target for the same network output


def test_validation_loss_is_on_the_velocity_for_v_prediction():
    task = _task(prediction_type="v_prediction")
    val = task.val
    with torch.no_grad():
        task.model.eval()
        x0, noise, t = val["x0"], val["noise"], val["t"]
        pred = task.model(task.scheduler.add_noise(x0, noise, t), t, class_labels=val["y"]).sample
        abar = task.scheduler.alphas_cumprod[t].view(-1, 1, 1, 1)
        v = abar.sqrt() * noise - (1 - abar).sqrt() * x0
        on_v = float(((pred - v) ** 2).mean())
        on_noise = float(((pred - noise) ** 2).mean())
    got = task.evaluate(task.model)["loss"]
    assert got == pytest.approx(on_v, rel=1e-4)
    assert got != pytest.approx(on_noise, rel=1e-2)


@pytest.fixture(scope="module")
def unet():
    torch.manual_seed(0)
    return im.build_unet(TINY, 8, 1, num_classes=3), im.build_scheduler(TINY)


@pytest.mark.parametrize("sampler", ["ddim", "dpm"])
def test_samplers_follow_the_prediction_type(unet, sampler):
    model, sched = unet
    v_config = {**dict(sched.config), "prediction_type": "v_prediction"}
    assert im.fast_scheduler(v_config, sampler).config.prediction_type == "v_prediction"
    eps = im.sample_images(model, dict(sched.config), n=4, steps=3, sampler=sampler, class_ids=1, seed=2)
    vel = im.sample_images(model, v_config, n=4, steps=3, sampler=sampler, class_ids=1, seed=2)
    assert not np.array_equal(eps, vel)  # the same network output read as a velocity gives other images


@pytest.mark.parametrize("sampler", ["ddim", "dpm"])
def test_guidance_one_is_plain_sampling_and_more_changes_samples(unet, sampler):
    model, sched = unet
    cfg = dict(sched.config)
    ids = [0, 1, 2, 0]
    plain = im.sample_images(model, cfg, n=4, steps=3, sampler=sampler, class_ids=ids, seed=5)
    one = im.sample_images(model, cfg, n=4, steps=3, sampler=sampler, class_ids=ids, seed=5, guidance_scale=1.0)
    assert np.array_equal(plain, one)
    guided = im.sample_images(model, cfg, n=4, steps=3, sampler=sampler, class_ids=ids, seed=5, guidance_scale=3.0)
    assert not np.array_equal(plain, guided)
    # scale 0 keeps only the "no class" half of the batched forward: the unconditional samples
    zero = im.sample_images(model, cfg, n=4, steps=3, sampler=sampler, class_ids=ids, seed=5, guidance_scale=0.0)
    uncond = im.sample_images(model, cfg, n=4, steps=3, sampler=sampler, class_ids=None, seed=5)
    assert np.abs(zero.astype(int) - uncond.astype(int)).max() <= 1  # equal up to float rounding


@pytest.mark.parametrize("bad", [-0.5, 20.5, float("nan"), float("inf")])
def test_bad_guidance_is_refused(unet, bad):
    model, sched = unet
    with pytest.raises(ConfigError, match="guidance scale .* out of range; allowed: 0 to 20"):
        im.sample_images(model, dict(sched.config), n=2, steps=2, class_ids=1, guidance_scale=bad)


def test_guidance_needs_a_class_conditional_model():
    torch.manual_seed(0)
    model, sched = im.build_unet(TINY, 8, 1, num_classes=0), im.build_scheduler(TINY)
    with pytest.raises(ConfigError, match="trained without labels"):
        im.sample_images(model, dict(sched.config), n=2, steps=2, guidance_scale=2.0)
    assert im.sample_images(model, dict(sched.config), n=2, steps=2, guidance_scale=1.0).shape == (2, 8, 8, 1)


def test_guidance_is_a_sample_option_of_the_kind():
    kind = kinds.get_kind("ddpm")
    spec = next(s for s in kind.sample_options if s.name == "guidance_scale")
    assert (spec.default, spec.min, spec.max) == (1.0, im.GUIDANCE_MIN, im.GUIDANCE_MAX)
    assert [s.name for s in kind.sample_options][:2] == ["steps", "sampler"]  # the image family's options kept


@pytest.mark.parametrize("power", [0.0, 2 / 3, 0.5])
def test_ema_warmup_decay_and_update(power):
    model = torch.nn.Linear(3, 2)
    ema = EMA(model, decay=0.995, power=power)
    for n in (1, 10, 100, 600, 5000):
        expected = (1 + n) / (10 + n) if power == 0 else 1 - (1 + n) ** -power
        assert ema.decay_at(n) == pytest.approx(min(0.995, expected))
    before = {k: v.clone() for k, v in ema.shadow.items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    ema.update(model)  # first update: shadow <- d * shadow + (1 - d) * weights
    d = ema.decay_at(1)
    for name, p in model.named_parameters():
        assert torch.allclose(ema.shadow[name], d * before[name] + (1 - d) * p.detach(), atol=1e-6)
    assert not math.isclose(EMA(model, 0.995, 0.5).decay_at(600), EMA(model, 0.995).decay_at(600), rel_tol=1e-3)


@pytest.fixture(scope="module")
def guided_run(tmp_path_factory):
    """A tiny v-prediction, Min-SNR, guided run (EMA with the power warm-up), trained once for this module."""
    cfg = _digits_cfg(prediction_type="v_prediction", snr_gamma=5.0, guidance_scale=2.0)
    cfg = cfg.replace(train=cfg.train.replace(ema_decay=0.9, ema_power=2 / 3, num_samples=4, eval_every=3))
    run = runs.create_run(cfg, run_dir=tmp_path_factory.mktemp("runs") / "guided")
    train(cfg, run, progress=False)
    return run


def test_v_prediction_run_saves_samples_and_loads_with_its_guidance(guided_run, tmp_path, capsys):
    """The saved scheduler says v_prediction (so plain diffusers samples it right), the run's guidance is
    the default of its class-conditional samples, and the CLI can change it."""
    from diffusers import DDPMScheduler

    run = guided_run
    assert DDPMScheduler.from_pretrained(run / "model").config.prediction_type == "v_prediction"
    assert list((run / "samples").glob("step-*.png"))
    loaded = kinds.load_run_model(run)
    assert loaded.meta["guidance_scale"] == 2.0
    assert loaded.model_kind.sample_defaults(loaded)["guidance_scale"] == 2.0
    ids = [0, 1, 2, 3]
    default = loaded.sample(4, seed=0, class_ids=ids, steps=2)
    assert np.array_equal(default, loaded.sample(4, seed=0, class_ids=ids, steps=2, guidance_scale=2.0))
    assert not np.array_equal(default, loaded.sample(4, seed=0, class_ids=ids, steps=2, guidance_scale=1.0))
    out = tmp_path / "g.png"
    args = ["sample", "--run-dir", str(run), "-n", "2", "--class-id", "3", "--steps", "2", "--out", str(out)]
    assert main([*args, "--guidance-scale", "1.5"]) == 0 and out.stat().st_size > 0
    assert main([*args, "--guidance-scale", "25"]) == 2
    assert "guidance scale 25.0 is out of range" in capsys.readouterr().err


def test_sample_page_has_a_guidance_control_from_the_spec(guided_run, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("GENAUG_RUNS_DIR", str(guided_run.parent))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/4_Sample.py")
    at.session_state["genaug.active_run"] = guided_run.name
    at.run()
    assert not at.exception, at.exception
    slider = at.slider(key="sample.guidance_scale")
    assert (slider.min, slider.max, slider.value) == (im.GUIDANCE_MIN, im.GUIDANCE_MAX, 2.0)  # the run's default
    slider.set_value(3.0)
    at.button(key="sample.go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.get("image")
