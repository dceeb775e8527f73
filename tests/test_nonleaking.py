"""Non-leaking augmentation: describing vectors in the registry and pipeline, the UNet's map, saving, training."""

import ast
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from genaug_core import kinds, runs
from genaug_core.augment.catalog import list_augmenters
from genaug_core.augment.pipeline import Pipeline, Step, default_pipeline
from genaug_core.config import ImageModelConfig, RunConfig
from genaug_core.errors import ConfigError
from genaug_core.models import augment_map as am
from genaug_core.models import image as im
from genaug_core.train.data import ImageBatches
from genaug_core.train.ema import EMA
from genaug_core.train.loop import train

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:diffusers.*")

ROOT = Path(__file__).resolve().parents[1]
IMAGE = [a for a in list_augmenters("image")]
NON_LEAKING = [a for a in IMAGE if a.non_leaking]
TINY_IMAGE = ImageModelConfig(preset="tiny", num_train_timesteps=50)


def ids(specs):
    return [s.name for s in specs]


def rgb(n=8, seed=0, size=32):
    """Random RGB images: no two alike, none symmetric (so a flip or shift always shows)."""
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


# --- the registry and the import graph ------------------------------------------------------------


def test_which_augmenters_leak():
    names = {a.name for a in NON_LEAKING}
    assert {"horizontal_flip", "vertical_flip", "affine", "pad_and_crop", "random_resized_crop",
            "brightness_contrast", "gamma", "color_jitter", "hue_saturation_value"} <= names
    assert not names & {"gauss_noise", "coarse_dropout", "gaussian_blur", "motion_blur", "elastic",
                        "grid_distortion", "perspective", "pixel_dropout", "jpeg"}
    assert all(not a.vector and a.describe is None for a in list_augmenters("text"))
    assert all(a.describe is not None for a in NON_LEAKING)


@pytest.mark.parametrize("spec", NON_LEAKING, ids=ids(NON_LEAKING))
def test_every_vector_is_zero_when_not_applied_and_reproducible(spec):
    images = rgb(6)
    off = Pipeline("image", (Step(spec.name, spec.example, p=0.0),))
    out, vec = off.apply_with_vectors(images, seed=3)
    assert vec.shape == (6, len(spec.vector)) and vec.dtype == np.float32
    assert not vec.any()
    np.testing.assert_array_equal(out, images)
    on = Pipeline("image", (Step(spec.name, spec.example, p=1.0),))
    out, vec = on.apply_with_vectors(images, seed=3)
    np.testing.assert_array_equal(out, on.apply(images, seed=3))  # the same images as apply()
    again = on.apply_with_vectors(images, seed=3)[1]
    np.testing.assert_array_equal(vec, again)
    assert np.isfinite(vec).all() and vec.any(), f"{spec.name}: an applied step should say what it did"


def test_grayscale_skips_rgb_steps_with_zeros_in_their_place():
    pipe = Pipeline("image", (Step("hue_saturation_value"), Step("invert")))
    out, vec = pipe.apply_with_vectors(np.zeros((3, 8, 8, 1), np.uint8), seed=0)
    assert pipe.augment_dim == 4 and vec.shape == (3, 4)
    assert not vec[:, :3].any() and (vec[:, 3] == 1).all()


def test_registry_imports_no_entry_module():
    """No cycle: registry <- image, text <- catalog (imports inside functions count)."""

    def imported(path):
        tree = ast.parse((ROOT / path).read_text())
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names.add(node.module or "")
                names.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
        return names

    entries = {"genaug_core.augment.image", "genaug_core.augment.text", "genaug_core.augment.catalog",
               "genaug_core.augment.pipeline"}
    assert not imported("genaug_core/augment/registry.py") & entries
    for path in ("genaug_core/augment/image.py", "genaug_core/augment/text.py"):
        assert not imported(path) & {"genaug_core.augment.catalog", "genaug_core.augment.pipeline"}


# --- what each vector says, checked against the pixels and the drawn parameters ---------------------


def test_flip_bit_is_set_exactly_when_the_image_was_flipped():
    images = rgb(40)
    pipe = Pipeline("image", (Step("horizontal_flip", p=0.5), Step("vertical_flip", p=0.5)))
    out, vec = pipe.apply_with_vectors(images, seed=1)
    flipped_x = np.array([(o == i[:, ::-1]).all() for o, i in zip(out, images, strict=True)])
    flipped_y = np.array([(o == i[::-1]).all() for o, i in zip(out, images, strict=True)])
    both = np.array([(o == i[::-1, ::-1]).all() for o, i in zip(out, images, strict=True)])
    untouched = np.array([(o == i).all() for o, i in zip(out, images, strict=True)])
    np.testing.assert_array_equal(vec[:, 0] == 1, flipped_x | both)
    np.testing.assert_array_equal(vec[:, 1] == 1, flipped_y | both)
    np.testing.assert_array_equal((vec == 0).all(axis=1), untouched)
    assert set(np.unique(vec)) == {0.0, 1.0} and 0 < untouched.sum() < 40 and both.any()


def test_affine_rotation_and_scale_match_the_drawn_parameters():
    pipe = Pipeline("image", (Step("affine", {"rotate": [-60, 60], "scale": [0.7, 1.4], "translate": [0, 0]}, p=0.7),))
    images = rgb(20)
    out, vec = pipe.apply_with_vectors(images, seed=2)
    _, drawn = pipe.apply_with_params(images, seed=2)
    assert pipe.augment_layout == tuple(f"s1.affine.{n}" for n in ("rot_cos-1", "rot_sin", "dx", "dy", "log_scale_x",
                                                                      "log_scale_y", "shear_x", "shear_y"))
    for v, d in zip(vec, drawn, strict=True):
        if not d[0]["applied"]:
            assert not v.any()
            continue
        r = math.radians(d[0]["params"]["rotate"])  # drawn values are rounded to 3 decimals for the table
        assert v[0] == pytest.approx(math.cos(r) - 1, abs=1e-4) and v[1] == pytest.approx(math.sin(r), abs=1e-4)
        scale = d[0]["params"]["scale"]
        assert v[4] == pytest.approx(math.log(scale["x"]), abs=2e-3)
        assert v[5] == pytest.approx(math.log(scale["y"]), abs=2e-3)
        assert v[2:4] == pytest.approx([0, 0], abs=1e-6) and v[6:] == pytest.approx([0, 0], abs=1e-6)


def test_affine_shift_and_shear_match_the_pixels_and_the_range():
    dot = np.zeros((12, 32, 32, 1), np.uint8)
    dot[:, 10, 12] = 255
    shift = Pipeline("image", (Step("affine", {"rotate": [0, 0], "scale": [1, 1], "translate": [-0.3, 0.3],
                                              "interpolation": "nearest"}),))
    out, vec = shift.apply_with_vectors(dot, seed=3)
    for o, v in zip(out, vec, strict=True):
        (y, x), = np.argwhere(o[..., 0] == 255)
        assert (x - 12, y - 10) == pytest.approx((v[2] * 32, v[3] * 32), abs=1e-6)
    assert np.abs(vec[:, 2:4]).max() > 0.1
    shear = Pipeline("image", (Step("affine", {"rotate": [0, 0], "scale": [1, 1], "translate": [0, 0],
                                              "shear": [-20, 20]}),))
    vec = shear.apply_with_vectors(rgb(12), seed=4)[1]
    assert np.degrees(np.abs(vec[:, 6:])).max() <= 20 + 1e-3 and np.abs(vec[:, 6:]).min() > 0
    assert not vec[:, :6].any()


def test_shift_by_padding_and_crop_matches_the_pixels():
    dot = np.zeros((12, 16, 16, 1), np.uint8)
    dot[:, 7, 9] = 255
    out, vec = Pipeline("image", (Step("pad_and_crop", {"pad": 3}),)).apply_with_vectors(dot, seed=5)
    for o, v in zip(out, vec, strict=True):
        (y, x), = np.argwhere(o[..., 0] == 255)
        assert (x - 9, y - 7) == pytest.approx((v[0] * 16, v[1] * 16))
    assert vec.any()


def test_resized_crop_vector_matches_the_drawn_crop():
    pipe = Pipeline("image", (Step("random_resized_crop", {"scale": [0.3, 0.6]}),))
    images = rgb(6)
    vec = pipe.apply_with_vectors(images, seed=6)[1]
    drawn = pipe.apply_with_params(images, seed=6)[1]
    for v, d in zip(vec, drawn, strict=True):
        x0, y0, x1, y1 = d[0]["params"]["crop_coords"]
        assert v[0] == pytest.approx((16 - (x0 + x1) / 2) / 32) and v[1] == pytest.approx((16 - (y0 + y1) / 2) / 32)
        assert v[2] == pytest.approx(math.log(32 / (x1 - x0))) and v[3] == pytest.approx(math.log(32 / (y1 - y0)))
        assert v[2] > 0 and v[3] > 0  # zoomed in


def test_brightness_and_contrast_match_the_drawn_values_and_the_pixels():
    grey = np.full((10, 8, 8, 1), 100, np.uint8)
    pipe = Pipeline("image", (Step("brightness_contrast", {"brightness": [-0.3, 0.3], "contrast": [0, 0]}),))
    out, vec = pipe.apply_with_vectors(grey, seed=7)
    drawn = pipe.apply_with_params(grey, seed=7)[1]
    for o, v, d in zip(out, vec, drawn, strict=True):
        assert v[0] * 255 == pytest.approx(d[0]["params"]["beta"], abs=1e-2) and v[1] == pytest.approx(0, abs=1e-6)
        assert int(o[0, 0, 0]) == pytest.approx(100 + v[0] * 255, abs=1)  # the shift the pixels show
    contrast = Pipeline("image", (Step("brightness_contrast", {"brightness": [0, 0], "contrast": [-0.3, 0.3]}),))
    vec = contrast.apply_with_vectors(grey, seed=8)[1]
    drawn = contrast.apply_with_params(grey, seed=8)[1]
    assert vec[:, 1] == pytest.approx([d[0]["params"]["alpha"] - 1 for d in drawn], abs=1e-3)


def test_pipeline_layout_concatenates_the_steps():
    pipe = Pipeline("image", (Step("horizontal_flip", p=0.0), Step("gauss_noise"), Step("pad_and_crop", {"pad": 2}),
                              Step("brightness_contrast", p=1.0)))
    assert pipe.augment_layout == ("s1.horizontal_flip.flip_x", "s3.pad_and_crop.dx", "s3.pad_and_crop.dy",
                                   "s4.brightness_contrast.brightness", "s4.brightness_contrast.contrast")
    assert pipe.augment_dim == 5 and pipe.leaking_steps == (1,)
    out, vec = pipe.apply_with_vectors(rgb(8, size=16), seed=0)
    assert vec.shape == (8, 5) and not vec[:, 0].any() and vec[:, 3:].any()  # the p=0 flip: always zeros
    assert Pipeline("image").augment_dim == 0
    with pytest.raises(ConfigError, match="image pipelines"):
        Pipeline("text", (Step("char_edit"),)).apply_with_vectors(["abc"])


def test_default_image_pipeline_does_not_leak_or_mirror():
    pipe = default_pipeline("image")
    assert pipe.leaking_steps == () and pipe.augment_dim > 0
    mirror = [s for s in pipe.steps if s.augmenter in ("horizontal_flip", "vertical_flip")]
    assert all(s.p == 0 for s in mirror)  # digits are not mirror-symmetric
    for shape in [(8, 8, 1), (32, 32, 3)]:
        images = np.random.default_rng(0).integers(0, 256, (16, *shape), dtype=np.uint8)
        out, vec = pipe.apply_with_vectors(images, seed=1)
        assert out.shape == images.shape and vec.shape == (16, pipe.augment_dim)
        changed = (out != images).reshape(16, -1).any(axis=1)
        assert changed.any() and (vec.any(axis=1) | ~changed).all()  # a changed image has a nonzero vector


def test_vector_rms_measures_each_component_with_every_step_on():
    pipe = default_pipeline("image")
    rms = pipe.vector_rms((8, 8, 1))
    names = pipe.augment_layout
    assert rms.shape == (pipe.augment_dim,) and rms.dtype == np.float32
    assert rms[names.index("s2.pad_and_crop.dx")] == pytest.approx(0.125 * math.sqrt(2 / 3), rel=0.15)  # -1, 0, +1 px
    assert rms[names.index("s5.horizontal_flip.flip_x")] == 1.0  # measured even though the step's p is 0
    assert rms[names.index("s1.affine.shear_x")] == 1.0  # always 0 here: left as it is, never scaled up
    np.testing.assert_array_equal(rms, pipe.vector_rms((8, 8, 1)))  # fixed draws
    assert pipe.vector_rms((32, 32, 3))[names.index("s2.pad_and_crop.dx")] < 0.05  # 1 pixel of 32


# --- the UNet's map ---------------------------------------------------------------------------------


@pytest.fixture
def unet():
    torch.manual_seed(0)
    return im.build_unet(TINY_IMAGE, 8, 1, num_classes=3).eval()


def _inputs():
    gen = torch.Generator().manual_seed(1)
    return torch.randn(4, 1, 8, 8, generator=gen), torch.tensor([1, 10, 25, 49]), torch.tensor([0, 1, 2, 3])


def test_zero_vector_gives_exactly_the_output_without_the_map(unet):
    x, t, y = _inputs()
    with torch.no_grad():
        plain = unet(x, t, class_labels=y).sample
        amap = am.attach_augment_map(unet, 5)
        assert not amap.weight.any()  # starts with no effect
        torch.nn.init.normal_(amap.weight)  # a trained map
        zero = unet(x, t, class_labels=y, augment_labels=torch.zeros(4, 5)).sample
        none = unet(x, t, class_labels=y).sample
        some = unet(x, t, class_labels=y, augment_labels=torch.ones(4, 5)).sample
    assert torch.equal(zero, plain) and torch.equal(none, plain)
    assert not torch.allclose(some, plain)
    with pytest.raises(ValueError, match=r"\(batch, 5\)"):
        unet(x, t, class_labels=y, augment_labels=torch.zeros(4, 3))


def test_the_map_adds_to_the_time_embedding_and_trains(unet):
    x, t, y = _inputs()
    plain = unet.time_embedding(unet.time_proj(t).to(unet.dtype)).detach()  # (B, E)
    amap = am.attach_augment_map(unet, 2)
    seen = {}
    unet.time_embedding.register_forward_hook(lambda m, i, out: seen.update(emb=out.detach()))
    with torch.no_grad():
        amap.weight.fill_(0.5)
        unet(x, t, class_labels=y, augment_labels=torch.tensor([[1.0, 0.0]] * 4))
    assert torch.allclose(seen["emb"], plain + 0.5)  # emb (B, E) + W @ [1, 0]
    assert amap.weight.shape == (unet.time_embedding.linear_2.out_features, 2)
    scaled = am.AugmentMap(2, 4, rms=[0.5, 2.0])
    with torch.no_grad():
        scaled.weight.fill_(1.0)
    assert scaled(torch.tensor([[1.0, 1.0]])).tolist() == [[2.5] * 4]  # W @ (a / rms)
    unet.train()
    loss = unet(x, t, class_labels=y, augment_labels=torch.ones(4, 2)).sample.square().mean()
    loss.backward()
    assert amap.weight.grad is not None and amap.weight.grad.abs().sum() > 0
    names = [n for n, _ in unet.named_parameters()]
    assert "augment_map.weight" in names  # so the optimizer, EMA and checkpoints include it
    assert "augment_map.weight" in EMA(unet, 0.9).shadow


def test_save_loads_as_plain_diffusers_and_samples_the_same(unet, tmp_path):
    from diffusers import DDPMScheduler, UNet2DModel
    from safetensors import safe_open

    amap = am.attach_augment_map(unet, 3, ["a", "b", "c"], rms=[0.1, 1.0, 2.0])
    with torch.no_grad():
        torch.nn.init.normal_(amap.weight)
    sched = im.build_scheduler(TINY_IMAGE)
    im.save_image_model(tmp_path, unet, sched, {"class_names": ["a", "b", "c"]})
    assert am.augment_map_of(unet) is amap  # put back after saving
    with safe_open(str(tmp_path / "diffusion_pytorch_model.safetensors"), "pt") as f:
        saved = set(f.keys())
    assert saved == set(UNet2DModel.from_config(unet.config).state_dict())  # exactly a plain UNet's weights
    assert (tmp_path / "augment_map.safetensors").exists() and not list(tmp_path.glob("*.bin"))
    meta = json.loads((tmp_path / "genaug.json").read_text())
    assert meta["augment"] == {"dim": 3, "layout": ["a", "b", "c"], "weights": "augment_map.safetensors"}

    plain = UNet2DModel.from_pretrained(tmp_path)  # no map, no warning about extra keys
    plain_sched = DDPMScheduler.from_pretrained(tmp_path)
    ours, sched_config, meta = im.load_image_model(tmp_path)
    assert torch.equal(am.augment_map_of(ours).weight, amap.weight) and am.augment_map_of(ours).rms.tolist() == [
        pytest.approx(0.1), 1.0, 2.0]
    a = im.sample_images(plain, dict(plain_sched.config), n=4, steps=3, class_ids=1, seed=5)
    b = im.sample_images(ours, sched_config, n=4, steps=3, class_ids=1, seed=5)
    np.testing.assert_array_equal(a, b)


def test_condition_on_vectors_decides_and_says_why(unet):
    pipe = Pipeline("image", (Step("affine"), Step("gauss_noise")))
    dim, note = am.condition_on_vectors(unet, pipe, non_leaking=True, resumed=False, image_shape=(8, 8, 1))
    assert dim == 8 and am.augment_map_of(unet).in_features == 8
    np.testing.assert_array_equal(am.augment_map_of(unet).rms.numpy(), pipe.vector_rms((8, 8, 1)))
    assert "on: 8-number" in note and "leak into samples: 2. gauss_noise" in note
    assert am.condition_on_vectors(unet, pipe, True, resumed=True)[0] == 8  # a saved map is kept
    with pytest.raises(ConfigError, match="takes 8 numbers"):
        am.condition_on_vectors(unet, Pipeline("image", (Step("invert"),)), True, resumed=True)
    fresh = im.build_unet(TINY_IMAGE, 8, 1)
    dim, note = am.condition_on_vectors(fresh, pipe, non_leaking=False, resumed=False)
    assert dim == 0 and am.augment_map_of(fresh) is None and "non_leaking = false" in note
    dim, note = am.condition_on_vectors(fresh, Pipeline("image", (Step("gauss_noise"),)), True, False)
    assert dim == 0 and "no step has a describing vector" in note
    dim, note = am.condition_on_vectors(fresh, pipe, True, resumed=True)
    assert dim == 0 and "trained without it" in note
    assert am.condition_on_vectors(fresh, None, True, False) == (0, "")


# --- training ---------------------------------------------------------------------------------------


def test_image_batches_return_vectors_aligned_with_images():
    images = rgb(6, size=8)
    pipe = Pipeline("image", (Step("horizontal_flip", p=0.5),))
    b = ImageBatches(images, None, 8, 16, seed=0, pipeline=pipe, p=0.7, augment_dim=1)
    x, y, vec = b.get_with_vectors(3)
    assert vec.shape == (16, 1) and vec.dtype == torch.float32 and y is None
    assert torch.equal(b.get(3)[0], x)  # the same images with or without the vectors
    pixels = im.to_uint8(x)  # (B, H, W, C)
    for img, v in zip(pixels, vec, strict=True):
        as_is = [i for i in range(6) if (images[i] == img).all()]
        mirrored = [i for i in range(6) if (images[i][:, ::-1] == img).all()]
        assert len(as_is) + len(mirrored) == 1
        assert float(v[0]) == (1.0 if mirrored else 0.0)
    assert 0 < float(vec.sum()) < 16
    assert ImageBatches(images, None, 8, 4, pipeline=pipe, p=1.0).get_with_vectors(0)[2] is None
    none = ImageBatches(images, None, 8, 4, augment_dim=1).get_with_vectors(0)[2]
    assert torch.equal(none, torch.zeros(4, 1))  # no augmentation: all zeros
    with pytest.raises(ValueError, match="augment_dim"):
        ImageBatches(images, None, 8, 4, pipeline=pipe, p=1.0, augment_dim=3)


def image_cfg(non_leaking=True, **train):
    return RunConfig.from_dict({
        "data": {"source": "digits", "max_train_items": 40},
        "model": {"image": {"preset": "tiny", "num_train_timesteps": 50, "sample_steps": 2}},
        "train": {"steps": 3, "batch_size": 8, "warmup_steps": 1, "eval_every": 0, "eval_batches": 1, "log_every": 1,
                  "num_samples": 2, "checkpoint_every": 0, "threads": 1, "device": "cpu", "ema_decay": 0.9,
                  "eval_samples": 0, **train},
        "augment": {"pipeline": default_pipeline("image").to_dict(), "p": 1.0, "non_leaking": non_leaking},
    })  # fmt: skip


def test_non_leaking_run_saves_a_plain_model_and_the_map(tmp_path):
    from diffusers import DDPMScheduler, UNet2DModel
    from safetensors.torch import load_file

    cfg = image_cfg()
    run = runs.create_run(cfg, run_dir=tmp_path / "run")
    assert train(cfg, run, progress=False) == "done"
    model = run / "model"
    assert (model / "augment_map.safetensors").exists()
    dim = default_pipeline("image").augment_dim
    assert json.loads((model / "genaug.json").read_text())["augment"]["dim"] == dim
    saved_rms = load_file(model / "augment_map.safetensors")["rms"].numpy()
    np.testing.assert_array_equal(saved_rms, default_pipeline("image").vector_rms((8, 8, 1)))  # the digits' shape
    plain = UNet2DModel.from_pretrained(model)
    sched = DDPMScheduler.from_pretrained(model)
    loaded = kinds.load_run_model(run)
    assert am.augment_map_of(loaded.model).weight.any()  # trained away from zero
    np.testing.assert_array_equal(im.sample_images(plain, dict(sched.config), n=3, steps=2, class_ids=4, seed=1),
                                  loaded.sample(3, seed=1, steps=2, class_ids=4))
    ck = run / "checkpoint-3"
    assert "augment_map.weight" in load_file(ck / "ema.safetensors")  # EMA averages the map too
    assert (ck / "model" / "augment_map.safetensors").exists()
    log = (run / "log.txt").read_text()
    assert f"non-leaking conditioning on: {dim}-number describing vector" in log and "no step leaks" in log


def test_non_leaking_run_resumes_with_its_map(tmp_path):
    cfg = image_cfg(steps=4, checkpoint_every=2)
    run = runs.create_run(cfg, run_dir=tmp_path / "run")
    runs.request_stop(run)
    assert train(cfg, run, progress=False) == "cancelled"  # a checkpoint after step 1
    assert train(cfg, run, resume=True, progress=False) == "done"
    straight = runs.create_run(cfg, run_dir=tmp_path / "straight")
    assert train(cfg, straight, progress=False) == "done"
    losses = [r["loss"] for r in runs.read_metrics(run, "train")]
    assert losses == pytest.approx([r["loss"] for r in runs.read_metrics(straight, "train")], rel=1e-4)


def test_plain_augmentation_run_has_no_map(tmp_path):
    cfg = image_cfg(non_leaking=False, steps=1)
    run = runs.create_run(cfg, run_dir=tmp_path / "run")
    assert train(cfg, run, progress=False) == "done"
    assert not (run / "model" / "augment_map.safetensors").exists()
    assert "augment" not in json.loads((run / "model" / "genaug.json").read_text())
    assert "non-leaking conditioning off (augment.non_leaking = false)" in (run / "log.txt").read_text()
