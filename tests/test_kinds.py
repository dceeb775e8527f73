"""Every registered model kind runs through the same checks (the registry walk): a new kind gets
these tests by registering, with no test of its own needed."""

from __future__ import annotations

import numpy as np
import pytest

from genaug_core import kinds, runs
from genaug_core.config import RunConfig
from genaug_core.errors import ConfigError, RegistryError
from genaug_core.train.loop import train

ALL = [kinds.get_kind(name) for name in kinds.KINDS.names()]
DATA = {"text": {"source": "names", "params": {"max_items": 200}}, "image": {"source": "digits"}}


def tiny_config(kind) -> RunConfig:
    return RunConfig.from_dict({
        "name": f"tiny {kind.name}",
        "data": DATA[kind.data] | {"max_train_items": 64},
        "model": {"kind": kind.name, kind.section: {"preset": "tiny"}},
        "train": {"steps": 3, "batch_size": 4, "warmup_steps": 1, "eval_every": 2, "eval_batches": 1, "log_every": 1,
                  "num_samples": 2, "eval_samples": 0, "checkpoint_every": 2, "threads": 1, "device": "cpu"},
    })  # fmt: skip


def test_the_two_data_kinds_each_have_a_default_kind_and_the_second_text_kind_exists():
    assert kinds.resolve("auto", "text").name == "gpt2" and kinds.resolve("auto", "image").name == "ddpm"
    assert "char_lstm" in kinds.KINDS and kinds.get_kind("char_lstm").data == "text"
    with pytest.raises(RegistryError, match="known: "):
        kinds.get_kind("vae")


@pytest.mark.parametrize("kind", ALL, ids=lambda k: k.name)
def test_kind_declares_what_the_rest_of_the_app_asks(kind):
    assert kind.data in ("text", "image") and kind.title and kind.unit and kind.noise_target
    assert "tiny" in kind.presets(), "every kind has a 'tiny' preset for tests"
    assert kind.lr > 0 and kind.batch_size > 0
    quality, diversity = kind.headline
    assert kind.better.get(quality) in ("lower", "higher") and kind.better.get(diversity) in ("lower", "higher")
    cfg = tiny_config(kind)
    assert kind.settings_of(cfg).preset == "tiny"
    assert RunConfig.from_toml(cfg.to_toml()) == cfg  # its settings table round-trips
    other = "image" if kind.data == "text" else "text"
    with pytest.raises(ConfigError, match=f"trains on {kind.data} data"):
        kinds.resolve(kind.name, other)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ALL, ids=lambda k: k.name)
def test_kind_trains_saves_loads_and_samples_end_to_end(kind, tmp_path):
    run = runs.create_run(tiny_config(kind), run_dir=tmp_path / "run")
    assert train(runs_cfg := tiny_config(kind), run, progress=False) == "done"
    assert runs_cfg.model.kind == kind.name
    status = runs.read_status(run)
    assert status["model_kind"] == kind.name and status["kind"] == kind.data
    assert runs.check_model_dir(run / runs.MODEL_DIR) is None
    val = runs.read_metrics(run, split="val")
    assert val and all(np.isfinite(r["loss"]) for r in val)
    assert runs.list_samples(run), "samples are written at every evaluation"
    loaded = kinds.load_run_model(run)
    assert loaded.model_kind is kind and loaded.kind == kind.data and loaded.step is None
    a, b = loaded.sample(n=4, seed=3), loaded.sample(n=4, seed=3)
    if kind.data == "text":
        assert len(a) == 4 and all(isinstance(s, str) for s in a) and a == b
    else:
        assert a.dtype == np.uint8 and a.shape[0] == 4 and np.array_equal(a, b)
    assert kinds.load_run_model(run, checkpoint=2).step == 2  # and from a checkpoint
    # resuming the finished run with more steps continues from its last checkpoint
    more = tiny_config(kind).replace(train=tiny_config(kind).train.replace(steps=4))
    assert train(more, run, resume=True, progress=False) == "done"
    assert runs.read_status(run)["step"] == 4


def test_char_lstm_loads_with_the_plain_libraries(tmp_path):
    """The second kind's saved folder loads without genaug_core's loader: the hub mixin + AutoTokenizer."""
    import torch
    from transformers import AutoTokenizer

    from genaug_core.kinds.char_lstm import network

    kind = kinds.get_kind("char_lstm")
    run = runs.create_run(tiny_config(kind), run_dir=tmp_path / "run")
    train(tiny_config(kind), run, progress=False)
    model = network().from_pretrained(run / runs.MODEL_DIR).eval()
    tok = AutoTokenizer.from_pretrained(run / runs.MODEL_DIR)
    ids = torch.tensor([tok("anna", add_special_tokens=False)["input_ids"]])
    ours = kinds.load_run_model(run).model
    assert torch.equal(model(ids), ours(ids))


def test_train_page_lists_the_kinds_of_the_data_and_starts_the_second_kind(tmp_path, monkeypatch):
    """On a text dataset the Train page offers GPT-2 (first, the default) and the LSTM; Start records the choice."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from genaug_core.config import read_run_config
    from genaug_core.data import load_builtin
    from genaug_core.train import jobs

    monkeypatch.setenv("GENAUG_RUNS_DIR", str(tmp_path))
    monkeypatch.setattr(jobs, "tick", lambda root=None: [])  # record the run; no child process in this test
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=60)
    at.switch_page("pages/3_Train.py")
    at.session_state["genaug.dataset"] = load_builtin("names", max_items=200)
    at.session_state["genaug.dataset_spec"] = {"source": "names", "params": {"max_items": 200}}
    at.run()
    assert not at.exception, at.exception
    box = at.selectbox(key="train.kind")
    assert box.options == ["GPT-2 (transformers)", "Character LSTM (makemore-style)"]
    box.set_value(kinds.get_kind("char_lstm")).run()
    assert at.selectbox(key="train.preset").options == ["tiny", "small"]
    at.selectbox(key="train.preset").set_value("tiny")
    at.button[0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    cfg = read_run_config(run_dir)
    assert cfg.model.kind == "char_lstm" and cfg.model.char_lstm.preset == "tiny" and cfg.data.source == "names"
