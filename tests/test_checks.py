import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from genaug_core.data import BUILTINS, ImageDataset, SkippedItem, TextDataset, load_builtin
from genaug_core.data.checks import run_checks


def codes(report):
    return {c.code for c in report.checks}


def _texts(items, **kw):
    return TextDataset(name="t", source="test", texts=items, **kw)


def test_clean_text_has_only_info(tiny_texts):
    report = run_checks(tiny_texts)
    assert report.worst_level == "info"
    assert {"counts", "lengths", "charset"} <= codes(report)


def test_empty_whitespace_and_duplicates_are_found():
    items = ["alpha beta", "", "   ", "alpha beta", "Alpha, beta!", "gamma delta", "gamma delta"]
    report = run_checks(_texts(items))
    assert report.by_code("empty").items == (1,)
    assert report.by_code("whitespace_only").items == (2,)
    dup = report.by_code("exact_duplicates")
    assert dup.items == (3, 6) and "2 distinct texts" in dup.message
    assert 4 in report.by_code("near_duplicates").items


def test_ngram_near_duplicates():
    items = ["the quick brown fox jumps over the lazy dog", "the quick brown fox jumps over the lazy dogs",
             "completely different sentence here", "another unrelated line of text"]
    near = run_checks(_texts(items)).by_code("near_duplicates")
    assert near is not None and near.items == (1,)


def test_leakage_between_train_and_validation():
    items = [f"item number {i}" for i in range(40)]
    ds = _texts(items + items[:40])  # every item twice: some copies land in validation
    report = run_checks(ds)
    leak = report.by_code("leakage")
    assert leak is not None and leak.level == "warn"
    train = {ds.texts[i] for i in ds.split.train}
    assert all(ds.texts[i] in train for i in leak.items)


def test_non_printable_and_encoding_facts():
    ds = _texts(["fine", "bell\x07", "zero\u200bwidth", "bad \ufffd byte"], meta={"undecodable_bytes": 3})
    report = run_checks(ds)
    assert report.by_code("non_printable").items == (1, 2, 3)
    assert "3 bytes" in report.by_code("encoding").message


def test_length_outliers():
    items = ["abcde"] * 30 + ["x" * 500]
    report = run_checks(_texts(items))
    out = [c for c in report.checks if c.code == "outliers"]
    assert out and out[0].items == (30,)


def test_class_balance_and_missing_class():
    labels = np.array([0] * 30 + [1] * 3)
    ds = _texts([f"t{i}" for i in range(33)], labels=labels, class_names=["a", "b", "c"])
    bal = run_checks(ds).by_code("class_balance")
    assert bal.level == "warn" and "ratio 10.0" in bal.message and "no items: c" in bal.message


def test_image_checks_find_blank_duplicates_and_near_copies():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 8, 8, 1), dtype=np.uint8)
    images[3] = 17  # constant
    images[5] = images[4]  # exact copy
    images[7] = np.clip(images[6].astype(int) + 1, 0, 255).astype(np.uint8)  # near copy
    ds = ImageDataset(name="i", source="test", images=images)
    report = run_checks(ds)
    assert report.by_code("blank_images").items == (3,)
    assert report.by_code("exact_duplicates").items == (5,)
    assert report.by_code("near_duplicates").items == (7,)


def test_mixed_original_sizes_and_skipped_inputs_are_reported():
    images = np.random.default_rng(1).integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)
    ds = ImageDataset(
        name="up", source="upload", images=images,
        skipped=[SkippedItem("a.zip:x.png", "corrupt or truncated image (bad crc)"),
                 SkippedItem("a.zip:y.png", "corrupt or truncated image (eof)"),
                 SkippedItem("a.zip:../z.png", "unsafe path")],
        meta={"original_sizes": {"8x8": 4, "64x48": 2}, "original_modes": {"RGB": 5, "P": 1}},
    )
    report = run_checks(ds)
    skipped = report.by_code("skipped")
    assert "3 inputs were skipped" in skipped.message and "corrupt or truncated image (2)" in skipped.message
    assert any(c.code == "sizes" and c.level == "warn" for c in report.checks)
    data = report.to_dict()
    assert data["n_skipped"] == 3 and data["skipped"][2] == {"item": "a.zip:../z.png", "reason": "unsafe path"}
    json.dumps(data)  # JSON-ready


def test_every_builtin_report_is_json_ready_and_clean():
    for name in BUILTINS:
        report = run_checks(load_builtin(name))
        assert report.worst_level in ("info", "warn")
        assert not any(c.level == "error" for c in report.checks)
        json.dumps(report.to_dict())


def test_empty_dataset_is_an_error_level_count():
    report = run_checks(_texts([]))
    assert report.by_code("counts").level == "error"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=30))
def test_checks_never_raise_on_arbitrary_text(items):
    report = run_checks(_texts(items))
    assert report.n_items == len(items)
    json.dumps(report.to_dict())


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 12), st.integers(1, 9), st.integers(1, 9), st.sampled_from([1, 3]), st.integers(0, 2**31))
def test_checks_never_raise_on_arbitrary_images(n, h, w, c, seed):
    images = np.random.default_rng(seed).integers(0, 256, (n, h, w, c), dtype=np.uint8)
    report = run_checks(ImageDataset(name="x", source="t", images=images))
    assert report.n_items == n
