"""Staged uploads: the child trains on exactly what the Data page showed; hashes, names, expiry and quota."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np
import pytest

from genaug_core import runs
from genaug_core.config import DataConfig, PreprocessConfig, RunConfig
from genaug_core.data import ImageDataset, TextDataset, limits, load_dataset, staged
from genaug_core.data.export import lossless_file
from genaug_core.data.preprocess import preprocess
from genaug_core.data.uploads import load_files
from genaug_core.errors import DataError
from genaug_core.train.setup import run_config_for

TINY_TRAIN = {"steps": 2, "batch_size": 4, "warmup_steps": 1, "eval_every": 2, "eval_batches": 1, "log_every": 1,
              "num_samples": 2, "checkpoint_every": 2, "threads": 1, "device": "cpu", "eval_samples": 0}


@pytest.fixture(autouse=True)
def _stage_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(staged.STAGE_ENV, str(tmp_path / "stage"))
    monkeypatch.delenv(staged.TTL_ENV, raising=False)
    monkeypatch.delenv(staged.QUOTA_ENV, raising=False)


def _child_view(cfg: RunConfig):
    """What the training child trains on: load_dataset + preprocess with the run's config (train/loop.py)."""
    return preprocess(load_dataset(cfg.data), cfg.preprocess)[0]


def test_images_the_upload_limits_would_change_are_trained_as_prepared(monkeypatch):
    # 16x16 images prepared to 300x300 on the Data page: loading them again as an upload would shrink them to
    # MAX_STORED_SIDE and, with these limits, keep only the first MAX_ITEMS
    rng = np.random.default_rng(0)
    raw = ImageDataset(name="photos.zip", source="upload:photos.zip",
                       images=rng.integers(0, 256, (6, 16, 16, 3), dtype=np.uint8), labels=np.array([1, 0] * 3),
                       class_names=["zebra", "ant"])
    shown, _ = preprocess(raw, PreprocessConfig(image_size=300))
    monkeypatch.setattr(limits, "MAX_ITEMS", 4)
    spec = {"source": "upload", "files": ["photos.zip"], "val_fraction": 0.2, "seed": 1}
    cfg = run_config_for(spec, shown)
    old_way = load_files([("x.npz", Path(cfg.data.source).read_bytes())])  # what the child used to do
    assert old_way.images.shape[1] == limits.MAX_STORED_SIDE and len(old_way) == 4
    child = _child_view(cfg)
    assert child.images.shape == (6, 300, 300, 3) and np.array_equal(child.images, shown.images)
    assert child.class_names == ["zebra", "ant"] and np.array_equal(child.labels, shown.labels)
    shown.val_fraction, shown.seed = 0.2, 1
    assert np.array_equal(child.split.validation, shown.split.validation)
    assert cfg.data.name == "photos.zip" and child.name == "photos.zip"


def test_text_is_kept_item_for_item(monkeypatch):
    texts = ["a b", "  ", "", "=d", "x\u2028y", "line\rbreak", "tab\there"] + [f"n{i}" for i in range(20)]
    shown = TextDataset(name="notes.txt", source="upload:notes.txt", texts=texts)
    monkeypatch.setattr(limits, "MAX_ITEMS", 5)
    monkeypatch.setattr(limits, "MAX_LINE_CHARS", 2)
    cfg = run_config_for({"source": "upload", "files": ["notes.txt"]}, shown)
    assert cfg.preprocess.missing == "keep" and cfg.preprocess.normalize_whitespace is False
    assert _child_view(cfg).texts == texts
    labelled = TextDataset(name="t.csv", source="upload:t.csv", texts=["a", "b", "c"], labels=np.array([1, 0, 1]),
                           class_names=["spam", "ham"])
    back = _child_view(run_config_for({"source": "upload"}, labelled))
    assert back.class_names == ["spam", "ham"] and back.labels.tolist() == [1, 0, 1]


def test_the_hash_is_recorded_and_checked():
    shown = TextDataset(name="t", source="upload:t", texts=["one", "two", "three"])
    cfg = run_config_for({"source": "upload", "files": ["t.txt"]}, shown)
    path = Path(cfg.data.source)
    assert cfg.data.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert RunConfig.from_dict(cfg.to_dict()).data.sha256 == cfg.data.sha256  # survives config.json
    path.write_bytes(path.read_bytes().replace(b"two", b"TWO"))
    with pytest.raises(DataError, match="changed since the run was configured"):
        load_dataset(cfg.data)
    path.unlink()
    with pytest.raises(DataError, match="is gone: staged uploads are removed 24 h after their last use"):
        load_dataset(cfg.data)
    with pytest.raises(Exception, match="64 lowercase hex"):
        DataConfig(source=str(path), sha256="abc")


def test_old_configs_pointing_at_staged_files_still_load(tmp_path):
    ds = ImageDataset(name="up", source="upload", images=np.zeros((4, 8, 8, 1), np.uint8))
    data, ext = lossless_file(ds)  # the staged file of earlier versions: no sha256 in the config
    old = tmp_path / f"0123456789abcdef01234567.{ext}"
    old.write_bytes(data)
    cfg = RunConfig.from_dict({"data": {"source": str(old)}})
    assert cfg.data.sha256 == "" and load_dataset(cfg.data).images.shape == (4, 8, 8, 1)


def test_runs_table_and_log_name_the_upload(tmp_path):
    from genaug_core.train.loop import train

    texts = [f"word{i} and more" for i in range(40)]
    shown = TextDataset(name="my notes.txt", source="upload:my notes.txt", texts=texts)
    cfg = run_config_for({"source": "upload", "files": ["my notes.txt"]}, shown,
                         {"model": {"text": {"preset": "tiny"}}, "train": TINY_TRAIN})
    run = runs.create_run(cfg, run_dir=tmp_path / "run")
    (rec,) = runs.list_runs(tmp_path)
    assert rec.dataset == "my notes.txt"
    assert train(cfg, run, progress=False) == "done"
    log = (run / "log.txt").read_text()
    assert "my notes.txt (text, 40 items)" in log and Path(cfg.data.source).stem not in log


# --- expiry and quota -----------------------------------------------------------------------------


def _age(path: Path, hours: float) -> None:
    past = time.time() - hours * 3600
    os.utime(path, (past, past))


def _images(seed: int, n: int = 4) -> ImageDataset:
    rng = np.random.default_rng(seed)
    return ImageDataset(name="i", source="upload", images=rng.integers(0, 256, (n, 8, 8, 1), dtype=np.uint8))


def test_staged_uploads_expire_after_their_last_use_unless_a_run_needs_them(monkeypatch):
    old, needed, fresh = (staged.stage(_images(s), owner)[0] for s, owner in ((1, "a1"), (2, "b2"), (3, None)))
    assert old.parent.name == "a1" and fresh.parent.name == staged.LOCAL_OWNER
    for p in (old, needed):
        _age(p, 25)
    runs.create_run(RunConfig.from_dict({"data": {"source": str(needed), "sha256": "0" * 64}}))  # queued
    assert staged.cleanup() == [old]
    assert not old.exists() and needed.exists() and fresh.exists()
    monkeypatch.setenv(staged.TTL_ENV, "0.5")  # 30 minutes
    _age(fresh, 1)
    assert staged.cleanup() == [fresh]
    # staging again or a run loading the file is a use: its clock restarts
    path, sha = staged.stage(_images(4))
    _age(path, 1)
    staged.load(path, sha)
    assert staged.cleanup() == [] and path.exists()


def test_cleanup_with_a_fake_clock_and_on_staging():
    path, _ = staged.stage(_images(5))
    assert staged.cleanup(now=time.time() + 23 * 3600) == []
    assert staged.cleanup(now=time.time() + 25 * 3600) == [path]
    again, _ = staged.stage(_images(5))
    _age(again, 30)
    staged.stage(_images(6))  # staging another upload removes expired ones first
    assert not again.exists()


def test_quota_per_workspace(monkeypatch):
    first, _ = staged.stage(_images(7, n=50), "a1")
    monkeypatch.setenv(staged.QUOTA_ENV, str(first.stat().st_size + 100))
    with pytest.raises(DataError, match=r"already take .* of its .* \(GENAUG_STAGE_QUOTA_BYTES\)"):
        staged.stage(_images(8, n=50), "a1")
    assert len(list(first.parent.iterdir())) == 1  # nothing was written
    assert staged.stage(_images(7, n=50), "a1")[0] == first  # the same data again takes no new space
    staged.stage(_images(8, n=50), "b2")  # another workspace has its own quota
    assert staged.usage("a1") == first.stat().st_size


def test_data_page_says_what_is_stored_and_for_how_long(monkeypatch):
    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parents[1]
    monkeypatch.setenv(staged.TTL_ENV, "6")
    at = AppTest.from_file(str(root / "app.py"), default_timeout=120)
    at.switch_page("pages/1_Data.py")
    at.run()
    at.radio(key="data.origin").set_value("Upload").run()
    assert not at.exception
    (info,) = [i.value for i in at.info if "Upload a file" in i.value]
    assert "nothing is stored" not in info
    assert "stores the prepared dataset" in info and "removed 6 h after its last use" in info and "1.0 GiB" in info
