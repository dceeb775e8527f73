"""Pipeline: validation with named fields, seeding, drawn parameters, editing, caching, previews."""

import json
import random

import numpy as np
import pytest

from genaug_core.augment import pipeline as pl
from genaug_core.augment import preview
from genaug_core.augment.pipeline import Pipeline, Step, default_pipeline
from genaug_core.errors import ConfigError, DataError


def images(n=6, shape=(8, 8, 1), seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([], "JSON object"),
        ({"kind": "image", "colour": 1}, "unknown field(s) 'colour'"),
        ({"steps": []}, "pipeline.kind is missing"),
        ({"kind": "audio"}, "pipeline.kind = 'audio'"),
        ({"kind": "image", "steps": {}}, "pipeline.steps must be a list"),
        ({"kind": "image", "steps": [{"augmenter": "nope"}]}, "pipeline.steps[0].augmenter = 'nope'"),
        ({"kind": "image", "steps": [{"augmenter": "keyboard"}]}, "is a text augmenter"),
        ({"kind": "image", "steps": [{"params": {}}]}, "pipeline.steps[0].augmenter is missing"),
        ({"kind": "image", "steps": [{"augmenter": "affine", "params": {"spin": 1}}]}, "no parameter 'spin'"),
        ({"kind": "image", "steps": [{"augmenter": "affine", "params": {"rotate": [0, 999]}}]},
         "pipeline.steps[0].params.rotate[1] = 999"),
        ({"kind": "image", "steps": [{"augmenter": "affine", "params": {"rotate": 5}}]},
         "pipeline.steps[0].params.rotate must be a [low, high] pair"),
        ({"kind": "image", "steps": [{"augmenter": "median_blur", "params": {"blur_limit": [4, 5]}}]},
         "pipeline.steps[0].params.blur_limit[0] = 4 is not allowed"),
        ({"kind": "image", "steps": [{"augmenter": "affine", "p": 1.5}]}, "pipeline.steps[0].p = 1.5"),
        ({"kind": "image", "steps": [{"augmenter": "affine", "p": True}]}, "pipeline.steps[0].p = True"),
        ({"kind": "image", "steps": [{"augmenter": "affine", "extra": 1}]}, "pipeline.steps[0]: unknown field"),
        ({"kind": "image", "seed": -1}, "pipeline.seed = -1"),
        ({"kind": "text", "steps": [{"augmenter": "keyboard", "params": {"include_numeric": "yes"}}]},
         "pipeline.steps[0].params.include_numeric must be true or false"),
    ],
)
def test_bad_pipelines_name_the_field(data, field):
    with pytest.raises(ConfigError) as exc:
        Pipeline.from_dict(data)
    assert field in str(exc.value)


def test_bad_json_is_a_config_error():
    with pytest.raises(ConfigError, match="not valid JSON"):
        Pipeline.from_json("{kind: image")


def test_steps_fill_defaults_and_reject_kind_mismatch():
    step = Step("affine")
    assert step.params["rotate"] == [-15.0, 15.0] and step.p == 1.0
    with pytest.raises(ConfigError, match="text augmenter"):
        Pipeline("image", (Step("keyboard"),))
    with pytest.raises(ConfigError, match="probability"):
        Step("affine", p=-0.1)
    assert hash(step) == hash(Step("affine"))


def test_apply_rejects_wrong_inputs():
    img = default_pipeline("image")
    with pytest.raises(DataError, match="uint8"):
        img.apply(np.zeros((2, 8, 8, 1), np.float32))
    with pytest.raises(DataError, match="uint8"):
        img.apply(np.zeros((8, 8, 1), np.uint8))
    with pytest.raises(DataError, match="list of strings"):
        Pipeline("text", (Step("char_edit"),)).apply("one string")


def test_seed_default_and_variation():
    pipe = Pipeline("image", (Step("affine", {"rotate": [-45, 45]}), Step("gauss_noise")), seed=3)
    x = images()
    np.testing.assert_array_equal(pipe.apply(x), pipe.apply(x, seed=3))
    assert (pipe.apply(x, seed=1) != pipe.apply(x, seed=2)).any()


def test_steps_fire_independently():
    """One shared random stream: two p=0.5 steps do not always fire together."""
    pipe = Pipeline("image", (Step("horizontal_flip", p=0.5), Step("vertical_flip", p=0.5)))
    _, drawn = pipe.apply_with_params(images(40), seed=0)
    pattern = [(d[0]["applied"], d[1]["applied"]) for d in drawn]
    assert len(set(pattern)) == 4


def test_apply_with_params_reports_what_was_drawn():
    pipe = Pipeline("image", (Step("affine", {"rotate": [-30, 30]}), Step("hue_saturation_value"),
                              Step("coarse_dropout", p=0.0)))
    out, drawn = pipe.apply_with_params(images(3), seed=1)
    assert out.shape == (3, 8, 8, 1) and len(drawn) == 3
    first = drawn[0]
    assert [r["augmenter"] for r in first] == ["affine", "hue_saturation_value", "coarse_dropout"]
    assert first[0]["applied"] and -30 <= first[0]["params"]["rotate"] <= 30
    assert not first[1]["applied"] and "3 colour channels" in first[1]["skipped"]
    assert not first[2]["applied"] and first[2]["params"] == {}
    json.dumps(drawn)  # plain data, ready for a table
    np.testing.assert_array_equal(out, pipe.apply(images(3), seed=1))  # recording changes nothing


def test_tiny_images_are_padded_and_cropped_back():
    pipe = Pipeline("image", (Step("grid_distortion", {"num_steps": 10}), Step("downscale")))
    for shape in [(1, 1, 1), (2, 3, 3), (9, 4, 1)]:
        out = pipe.apply(images(2, shape), seed=0)
        assert out.shape == (2, *shape)


def test_empty_batches_and_empty_pipelines():
    assert default_pipeline("image").apply(images(0)).shape == (0, 8, 8, 1)
    x = images(2)
    out = Pipeline("image").apply(x)
    np.testing.assert_array_equal(out, x)
    assert out is not x
    assert Pipeline("text").apply(["a", "b"]) == ["a", "b"]


def test_built_objects_are_cached_per_pipeline_and_shape():
    d = default_pipeline("image").to_dict()
    Pipeline.from_dict(d).apply(images(2))
    before = pl._image_plan.cache_info().hits
    Pipeline.from_dict(d).apply(images(2), seed=9)  # a new instance, as training makes every step
    assert pl._image_plan.cache_info().hits == before + 1


def test_text_apply_restores_global_random_state():
    random.seed(123)
    np.random.seed(123)
    expected = (random.random(), np.random.random())
    random.seed(123)
    np.random.seed(123)
    Pipeline("text", (Step("char_swap", {"aug_char_p": 0.5}), Step("char_edit"))).apply(["hello there"], seed=5)
    assert (random.random(), np.random.random()) == expected


def test_text_drawn_params_show_the_changes():
    pipe = Pipeline("text", (Step("word_substitute", {"aug_p": 1.0, "target_word": "X"}), Step("ocr", p=0.0)))
    out, drawn = pipe.apply_with_params(["one two three"], seed=0)
    assert out == ["X X X"]
    assert drawn[0][0]["applied"] and drawn[0][0]["params"]["changes"] == ["one two three -> X X X"]
    assert not drawn[0][1]["applied"]


def test_editing_returns_new_pipelines():
    pipe = Pipeline("image").add("affine").add("gauss_noise", {"std": [0.1, 0.2]}, p=0.5).add("invert")
    assert [s.augmenter for s in pipe.steps] == ["affine", "gauss_noise", "invert"]
    assert [s.augmenter for s in pipe.move(2, -5).steps] == ["invert", "affine", "gauss_noise"]
    assert [s.augmenter for s in pipe.move(0, 1).steps] == ["gauss_noise", "affine", "invert"]
    assert [s.augmenter for s in pipe.remove(1).steps] == ["affine", "invert"]
    changed = pipe.replace_step(1, params={"std": [0.3, 0.4]}, p=0.9)
    assert changed.steps[1].params["std"] == [0.3, 0.4] and changed.steps[1].p == 0.9
    assert pipe.steps[1].p == 0.5  # the original is unchanged
    with pytest.raises(ConfigError, match="out of range"):
        pipe.remove(3)


# --- preview helpers ------------------------------------------------------------------------


def test_tile_upscales_and_lays_out_a_grid():
    grid = np.zeros((2, 3, 8, 8, 1), np.uint8)
    pic = preview.tile(grid, factor=4, gap=2)
    assert pic.shape == (2 * 32 + 2, 3 * 32 + 4)
    assert preview.tile(np.zeros((1, 2, 4, 4, 3), np.uint8), factor=1, gap=0).shape == (4, 8, 3)


def test_image_and_text_variants():
    pipe = default_pipeline("image")
    grid, drawn = preview.image_variants(pipe, images(3), [5, 6, 7], 4, seed=0)
    assert grid.shape == (3, 5, 8, 8, 1)
    np.testing.assert_array_equal(grid[:, 0], images(3))
    assert {r["item"] for r in drawn} == {5, 6, 7} and {r["variant"] for r in drawn} == {1, 2, 3, 4}
    table, drawn = preview.text_variants(Pipeline("text", (Step("char_edit", {"rate": 0.5}),)), ["abcdef", "xyz"],
                                         [0, 9], 3, seed=0)
    assert [r["item"] for r in table] == [0, 9] and set(table[0]) == {"item", "original", "variant 1", "variant 2",
                                                                       "variant 3"}
    assert preview.dataset_grid(pipe, images(10), seed=0).shape == (2 * 64 + 2, 8 * 64 + 14)


def test_noise_preview_stays_in_the_ball():
    x = images(16, (8, 8, 3))
    for norm in ("l1", "l2", "linf"):
        eps = preview.eps_limit(norm, 8 * 8 * 3) / 4
        noised, norms = preview.noise_preview(x, eps, norm, seed=0)
        assert noised.shape == x.shape and noised.dtype == np.uint8
        assert norms.shape == (16,) and (norms <= eps * (1 + 1e-5)).all()
    same, norms = preview.noise_preview(x, 0.0, "l2")
    np.testing.assert_array_equal(same, x)
    assert (norms == 0).all()


@pytest.mark.parametrize("before,after", [
    ("The quick brown fox jumps.", "The quikc fast fox jumps!"), ("hello world", "world"), ("", "abc"), ("abc", ""),
    ("a  b", "a b"), ("<b>x</b> **y**", "<b>x</b> **z**"), ("same", "same"), ("line\nbreak", "line\n\nbreak"),
])  # fmt: skip
def test_diff_segments_rebuild_both_texts(before, after):
    segs = preview.diff_segments(before, after)
    assert "".join(t for t, k in segs if k != preview.DELETED) == after
    assert "".join(t for t, k in segs if k != preview.CHANGED) == before
    assert all(t for t, _ in segs) and all(a[1] != b[1] for a, b in zip(segs, segs[1:], strict=False))  # merged
    if before == after:
        assert segs == ([(after, "same")] if after else [])


def test_diff_segments_mark_letters_in_a_typo_and_whole_words_otherwise():
    segs = preview.diff_segments("the quick fox", "the quikc fox")
    assert ("the qui", "same") in segs and all(len(t) == 1 for t, k in segs if k != "same")  # single letters
    segs = preview.diff_segments("the quick fox", "the fast fox")
    assert segs == [("the ", "same"), ("quick", "deleted"), ("fast", "changed"), (" fox", "same")]
