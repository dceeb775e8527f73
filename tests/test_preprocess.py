import numpy as np
import pytest

from genaug_core.config import PreprocessConfig
from genaug_core.data import ImageDataset, TextDataset
from genaug_core.data.preprocess import fit_image, normalize_features, preprocess, to_channels
from genaug_core.errors import DataError


def _texts(*items, labels=None):
    return TextDataset(name="t", source="test", texts=list(items), labels=labels)


def test_empty_items_dropped_or_filled():
    ds = _texts("a", "", "   ", "b", labels=np.array([0, 1, 1, 0]))
    dropped, notes = preprocess(ds, PreprocessConfig(missing="drop"))
    assert dropped.texts == ["a", "b"] and dropped.labels.tolist() == [0, 0]
    assert any("dropped 2 empty" in n for n in notes)
    assert [s.reason for s in dropped.skipped][0].startswith("empty")
    filled, _ = preprocess(ds, PreprocessConfig(missing="fill", fill_value="?"))
    assert filled.texts == ["a", "?", "?", "b"]
    assert ds.texts == ["a", "", "   ", "b"]  # the input is untouched


def test_whitespace_cut_and_pad():
    ds = _texts("  hello   world ", "hi")
    out, notes = preprocess(ds, PreprocessConfig(max_chars=8, pad_to=5, pad_char="_"))
    assert out.texts == ["hello wo", "hi___"]
    assert len(notes) == 3
    raw, _ = preprocess(ds, PreprocessConfig(normalize_whitespace=False))
    assert raw.texts[0] == "  hello   world "


def test_all_empty_is_an_error_not_an_empty_dataset():
    with pytest.raises(DataError, match="left no items"):
        preprocess(_texts("", " "), PreprocessConfig())


@pytest.mark.parametrize("fit", ["resize", "crop", "pad"])
@pytest.mark.parametrize("shape", [(1, 1, 1), (8, 8, 1), (10, 6, 3), (3, 17, 3)])
def test_fit_image_gives_target_size(fit, shape):
    img = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    out = fit_image(img, 16, fit)
    assert out.shape == (16, 16, shape[2]) and out.dtype == np.uint8


def test_pad_letterboxes_with_black():
    img = np.full((4, 8, 1), 200, np.uint8)
    out = fit_image(img, 8, "pad")
    assert out[0, :, 0].max() == 0 and out[-1, :, 0].max() == 0 and out[4, 4, 0] == 200


def test_channel_conversion():
    rgb = np.zeros((2, 2, 2, 3), np.uint8)
    rgb[..., 0] = 255  # pure red
    gray = to_channels(rgb, 1)
    assert gray.shape == (2, 2, 2, 1) and gray[0, 0, 0, 0] == 76  # 0.299 * 255
    assert to_channels(gray, 3).shape == (2, 2, 2, 3)
    assert to_channels(gray, 0) is gray


def test_feature_norm_equalises_image_norms(tiny_images):
    ds = ImageDataset(name="x", source="t", images=(tiny_images.images // 4 + 10))
    out, notes = preprocess(ds, PreprocessConfig(feature_norm="l2"))
    norms = np.linalg.norm(out.images.reshape(len(out), -1).astype(float), axis=1)
    assert norms.std() / norms.mean() < 0.01
    assert "L2 norm" in notes[0]


def test_normalize_features_units():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, -1.0]])
    assert np.allclose(np.linalg.norm(normalize_features(x, "l2"), axis=1), [1, 0, 1])
    assert np.allclose(np.abs(normalize_features(x, "l1")).sum(axis=1), [1, 0, 1])


def test_image_preprocess_keeps_labels_and_copies(tiny_images):
    out, notes = preprocess(tiny_images, PreprocessConfig(image_size=16, channels=3))
    assert out.images.shape == (12, 16, 16, 3) and out.labels.tolist() == tiny_images.labels.tolist()
    same, notes = preprocess(tiny_images, PreprocessConfig())
    assert notes == [] and same.images is not tiny_images.images
