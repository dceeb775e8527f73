import numpy as np

from genaug_core.config import PreprocessConfig
from genaug_core.data import ImageDataset, TextDataset, load_dataset, make_split
from genaug_core.train.setup import run_config_for, stage_dataset


def test_builtin_spec_names_the_dataset_and_keeps_preprocessing(tiny_texts):
    spec = {"source": "shapes", "params": {"n": 40, "size": 16}, "val_fraction": 0.2, "seed": 3,
            "preprocess": PreprocessConfig(channels=1).to_dict()}
    cfg = run_config_for(spec, tiny_texts, {"train": {"steps": 7}, "regularization": {"penalty": "l2"}})
    assert cfg.data.source == "shapes" and cfg.data.params == {"n": 40, "size": 16}
    assert cfg.data.val_fraction == 0.2 and cfg.data.seed == 3 and cfg.preprocess.channels == 1
    assert cfg.train.steps == 7 and cfg.regularization.penalty == "l2"
    assert cfg.train.lr == type(cfg.train)().lr  # untouched settings keep their defaults


def test_upload_is_staged_once_and_loads_back_identically(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAUG_STAGE_DIR", str(tmp_path))
    images = np.random.default_rng(0).integers(0, 256, (10, 8, 8, 3), dtype=np.uint8)
    ds = ImageDataset(name="up", source="upload", images=images, labels=np.arange(10) % 2, class_names=["x", "y"])
    cfg = run_config_for({"source": "upload", "val_fraction": 0.2, "seed": 1}, ds)
    assert cfg.data.source.startswith(str(tmp_path)) and cfg.data.source.endswith(".npz")
    assert stage_dataset(ds) == stage_dataset(ds)  # content-addressed: same data, same file
    back = load_dataset(cfg.data)
    assert np.array_equal(back.images, images) and back.class_names == ["x", "y"]
    assert np.array_equal(back.split.validation, make_split(10, 0.2, 1, ds.labels).validation)
    text = TextDataset(name="t", source="upload", texts=["a b", " c", "=d"])
    tcfg = run_config_for({"source": "upload"}, text)
    assert load_dataset(tcfg.data).texts == ["a b", " c", "=d"]
    assert tcfg.preprocess.normalize_whitespace is False  # already cleaned on the Data page
