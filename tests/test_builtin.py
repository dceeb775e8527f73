import numpy as np
import pytest

from genaug_core.config import DataConfig
from genaug_core.data import BUILTINS, ImageDataset, TextDataset, load_builtin, load_dataset, make_split
from genaug_core.errors import ConfigError, RegistryError


def test_every_builtin_loads_offline_with_defaults():
    for name in BUILTINS:
        ds = load_builtin(name)
        assert len(ds) > 100, name
        assert ds.kind == BUILTINS.get(name).kind
        split = ds.split
        assert len(np.intersect1d(split.train, split.validation)) == 0
        assert len(split.train) + len(split.validation) == len(ds)


def test_digits_are_labelled_8x8_uint8():
    ds = load_builtin("digits")
    assert isinstance(ds, ImageDataset)
    assert ds.images.shape == (1797, 8, 8, 1) and ds.images.dtype == np.uint8
    assert ds.images.max() == 255 and set(ds.labels.tolist()) == set(range(10))


def test_shapes_are_seeded_sized_and_labelled():
    a = load_builtin("shapes", n=40, size=16, seed=3)
    b = load_builtin("shapes", n=40, size=16, seed=3)
    c = load_builtin("shapes", n=40, size=16, seed=4)
    assert a.images.shape == (40, 16, 16, 3)
    assert np.array_equal(a.images, b.images) and not np.array_equal(a.images, c.images)
    assert a.class_names == ["circle", "square", "triangle", "cross"]
    assert np.bincount(a.labels).tolist() == [10, 10, 10, 10]
    # the shape is brighter than the background, so every image has contrast
    assert (a.images.reshape(40, -1).std(axis=1) > 10).all()


def test_names_are_lowercase_unique_first_names():
    ds = load_builtin("names")
    assert isinstance(ds, TextDataset)
    assert 5000 <= len(ds) <= 5500
    assert len(set(ds.texts)) == len(ds.texts)
    assert all(t.isalpha() and t == t.lower() for t in ds.texts)
    assert ds.texts[:3] == ["james", "john", "robert"]
    assert len(load_builtin("names", max_items=100)) == 100


def test_prose_has_sentences_without_code():
    sentences = load_builtin("prose")
    paragraphs = load_builtin("prose", unit="paragraph")
    assert len(sentences) > 1000 and len(paragraphs) > 300
    assert all(20 <= len(t) <= 400 for t in sentences.texts)
    assert not any(t.startswith(">>>") or "\n" in t for t in sentences.texts)
    assert np.mean([len(t) for t in paragraphs.texts]) > np.mean([len(t) for t in sentences.texts])


def test_bad_parameters_are_named():
    with pytest.raises(ConfigError, match=r"shapes.size = 4 is out of range; allowed: 8 to 128"):
        load_builtin("shapes", size=4)
    with pytest.raises(ConfigError, match="has no parameter 'colour'"):
        load_builtin("shapes", colour="red")
    with pytest.raises(ConfigError, match="names.which = 'middle' is not allowed; choose one of: 'first', 'last'"):
        load_builtin("names", which="middle")
    with pytest.raises(ConfigError, match="shapes.n must be a whole number, got 2.5"):
        load_builtin("shapes", n=2.5)
    with pytest.raises(ConfigError, match="shapes.seed must be a number, got True"):
        load_builtin("shapes", seed=True)
    assert load_builtin("shapes", n=8.0, size=8).images.shape[0] == 8  # 8.0 from a TOML float is a whole number
    with pytest.raises(RegistryError, match="unknown built-in dataset 'mnist'; known: digits"):
        load_builtin("mnist")


def test_load_dataset_applies_split_settings():
    ds = load_dataset(DataConfig(source="digits", val_fraction=0.2, seed=5))
    assert ds.val_fraction == 0.2 and ds.seed == 5
    assert abs(len(ds.split.validation) - 0.2 * len(ds)) < 12


def test_split_is_seeded_and_stratified():
    labels = np.repeat(np.arange(4), 25)
    a, b = make_split(100, 0.2, 1, labels), make_split(100, 0.2, 1, labels)
    assert np.array_equal(a.validation, b.validation)
    assert not np.array_equal(a.validation, make_split(100, 0.2, 2, labels).validation)
    assert np.bincount(labels[a.validation]).tolist() == [5, 5, 5, 5]


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_split_of_tiny_sets(n):
    s = make_split(n, 0.1, 0)
    assert len(s.train) + len(s.validation) == n
    if n >= 2:
        assert len(s.train) >= 1 and len(s.validation) >= 1
