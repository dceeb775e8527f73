"""Every registered augmenter runs through the same invariants (the timm / albumentations pattern).

Images (8x8x1, 8x8x3, 1x1x1, 32x32x3 and a non-square 5x9x3): shape and dtype
kept, input untouched, same seed -> same output, probability 0 -> identity.
Text: a string per input, input untouched, same seed -> same output, p=0 ->
identity. Every entry has an example parameter set, and every single-step
pipeline round-trips through JSON.
"""

import numpy as np
import pytest

from genaug_core.augment import wordnet
from genaug_core.augment.catalog import list_augmenters
from genaug_core.augment.pipeline import Pipeline, Step, default_pipeline
from genaug_core.errors import ConfigError

ALL = list_augmenters()
IMAGE = [a for a in ALL if a.kind == "image"]
TEXT = [a for a in ALL if a.kind == "text"]
TEXT_OK = [a for a in TEXT if a.unavailable_reason(a.example or {}) is None]
TEXT_UNAVAILABLE = [a for a in TEXT if a not in TEXT_OK]
SHAPES = [(8, 8, 1), (8, 8, 3), (1, 1, 1), (32, 32, 3), (5, 9, 3)]
TEXTS = ["The quick brown fox jumps over the lazy dog.", "emma", "", "a", "Good people run quickly; isn't it?"]


@pytest.fixture(scope="module", autouse=True)
def private_wordnet_cache(tmp_path_factory):
    """Synonym/antonym copy WordNet into a cache: a temporary one here, not the user's ~/.cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("GENAUG_CACHE_DIR", str(tmp_path_factory.mktemp("genaug-cache")))
    mp.setattr(wordnet, "_ready", None)
    yield
    mp.undo()


def ids(specs):
    return [s.name for s in specs]


def test_registry_is_big_enough():
    assert len(IMAGE) >= 20
    assert {"keyboard", "ocr", "char_insert", "char_substitute", "char_swap", "char_delete", "word_swap",
            "word_delete", "word_crop", "word_substitute", "split", "spelling", "synonym", "antonym",
            "contextual_word_embs", "back_translation"} <= {a.name for a in TEXT}


@pytest.mark.parametrize("spec", ALL, ids=ids(ALL))
def test_every_entry_has_a_valid_example_and_spec(spec):
    assert spec.example is not None, f"{spec.name}: register an example parameter set"
    spec.check_params(spec.example)  # raises on a bad example
    assert spec.help and spec.library and spec.category
    for p in spec.params:
        assert p.help, f"{spec.name}.{p.name} needs a one-line help"
        if p.type in ("int", "float", "int_range", "float_range"):
            assert p.min is not None and p.max is not None, f"{spec.name}.{p.name}: sliders need a range"


def _batch(shape, n=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)


@pytest.mark.parametrize("shape", SHAPES, ids=["x".join(map(str, s)) for s in SHAPES])
@pytest.mark.parametrize("spec", IMAGE, ids=ids(IMAGE))
def test_image_entry_invariants(spec, shape):
    images = _batch(shape)
    before = images.copy()
    pipe = Pipeline("image", (Step(spec.name, spec.example, p=1.0),))
    out = pipe.apply(images, seed=7)
    assert out.shape == images.shape and out.dtype == np.uint8
    assert out is not images
    np.testing.assert_array_equal(images, before)  # input untouched
    np.testing.assert_array_equal(out, pipe.apply(images, seed=7))  # reproducible
    off = Pipeline("image", (Step(spec.name, spec.example, p=0.0),))
    np.testing.assert_array_equal(off.apply(images, seed=7), images)  # probability 0: identity
    if spec.needs_rgb and shape[-1] != 3:
        np.testing.assert_array_equal(out, images)  # skipped on grayscale, with a reason
        assert "3 colour channels" in pipe.step_notes(shape[-1])[0]


@pytest.mark.parametrize("spec", IMAGE, ids=ids(IMAGE))
def test_image_entry_changes_the_image(spec):
    images = np.zeros((4, 32, 32, 3), np.uint8)
    images[:, 8:24, 4:20] = (200, 60, 20)  # an off-centre block, so flips and crops show
    images[:, :, :, 1] += np.arange(32, dtype=np.uint8)[None, :, None] * 3
    out = Pipeline("image", (Step(spec.name, spec.example, p=1.0),)).apply(images, seed=3)
    assert (out != images).any(), f"{spec.name} changed nothing"


@pytest.mark.parametrize("spec", TEXT_OK, ids=ids(TEXT_OK))
def test_text_entry_invariants(spec):
    texts = list(TEXTS)
    pipe = Pipeline("text", (Step(spec.name, spec.example, p=1.0),))
    out = pipe.apply(texts, seed=11)
    assert isinstance(out, list) and len(out) == len(texts)
    assert all(isinstance(t, str) for t in out)
    assert texts == TEXTS  # input untouched
    assert out == pipe.apply(texts, seed=11)  # reproducible
    off = Pipeline("text", (Step(spec.name, spec.example, p=0.0),))
    assert off.apply(texts, seed=11) == texts  # probability 0: identity
    if spec.name not in ("antonym", "case_change"):  # antonyms need the right words
        assert out[0] != texts[0] or out[4] != texts[4], f"{spec.name} changed nothing"


@pytest.mark.parametrize("spec", TEXT_UNAVAILABLE, ids=ids(TEXT_UNAVAILABLE))
def test_model_entries_explain_why_they_are_unavailable(spec):
    reason = spec.unavailable_reason(spec.example)
    assert reason and ("model" in reason or "gensim" in reason)
    pipe = Pipeline("text", (Step(spec.name, spec.example),))
    assert "unavailable" in pipe.step_notes()[0]
    with pytest.raises(ConfigError, match="unavailable"):
        pipe.apply(["some text"])


def test_model_entry_rejects_a_missing_folder(tmp_path):
    spec = next(a for a in TEXT if a.name == "contextual_word_embs")
    assert "not a folder" in spec.unavailable_reason({"model_path": str(tmp_path / "nope")})
    assert "config.json" in spec.unavailable_reason({"model_path": str(tmp_path)})


PIPES = [Pipeline(s.kind, (Step(s.name, s.example, p=0.3),), seed=5) for s in ALL]
PIPES += [default_pipeline("image"), default_pipeline("text")]


@pytest.mark.parametrize("pipe", PIPES, ids=[*ids(ALL), "default-image", "default-text"])
def test_every_pipeline_round_trips_through_json(pipe):
    again = Pipeline.from_json(pipe.to_json())
    assert again == pipe
    assert again.to_dict() == pipe.to_dict()
    assert Pipeline.from_dict(pipe.to_dict()) == pipe


def _random_params(spec, rnd):
    """Parameters anywhere in the spec's ranges, often at the extremes (where libraries break)."""

    def number(p, integer):
        if integer:
            v = rnd.randint(int(p.min), int(p.max))
            return int(p.min + (v - p.min) // p.step * p.step) if p.step else v
        return rnd.choice([p.min, p.max, rnd.uniform(p.min, p.max)])

    out = {}
    for p in spec.params:
        if p.type == "bool":
            out[p.name] = rnd.random() < 0.5
        elif p.type == "choice":
            out[p.name] = rnd.choice(p.choices)
        elif p.type in ("text", "path"):
            out[p.name] = p.default
        elif p.type.endswith("_range"):
            out[p.name] = sorted([number(p, p.type == "int_range"), number(p, p.type == "int_range")])
        else:
            out[p.name] = number(p, p.type == "int")
    return out


@pytest.mark.parametrize("spec", IMAGE, ids=ids(IMAGE))
def test_image_entry_survives_random_parameters(spec):
    """Found by fuzzing: OpenCV's reflect border hangs on 1-pixel sides, tiny crops round to 0 pixels."""
    import random

    rnd = random.Random(spec.name)
    for trial in range(12):
        shape = rnd.choice([(1, 1, 1), (2, 2, 3), (5, 9, 3), (8, 8, 1), (40, 24, 3)])
        images = _batch(shape, n=2, seed=trial)
        out = Pipeline("image", (Step(spec.name, _random_params(spec, rnd)),)).apply(images, seed=trial)
        assert out.shape == images.shape and out.dtype == np.uint8


@pytest.mark.parametrize("spec", TEXT_OK, ids=ids(TEXT_OK))
def test_text_entry_survives_random_parameters(spec):
    import random

    rnd = random.Random(spec.name)
    texts = [*TEXTS, " ", "ab", "héllo wörld 日本語", "line\nbreak", "x" * 200]
    for trial in range(4):
        out = Pipeline("text", (Step(spec.name, _random_params(spec, rnd)),)).apply(texts, seed=trial)
        assert len(out) == len(texts) and all(isinstance(t, str) for t in out)
