"""Self-training rounds: bookkeeping, filters, a 2-round tiny run, cancel between rounds and resume."""

import os
from pathlib import Path

import numpy as np
import pytest

from genaug_core import runs
from genaug_core.config import RunConfig, SelfTrainConfig
from genaug_core.data import TextDataset
from genaug_core.errors import ConfigError, DataError, RunError
from genaug_core.train import selftrain as stm

ROOT = Path(__file__).resolve().parents[1]


# --- config ------------------------------------------------------------------------------


def test_self_training_is_off_by_default_and_old_configs_still_load():
    assert RunConfig().self_train.rounds == 0
    data = RunConfig().to_dict()
    data.pop("self_train")  # a config.json written before self-training existed
    assert RunConfig.from_dict(data) == RunConfig()
    for path in sorted((ROOT / "configs").glob("*.toml")):
        cfg = RunConfig.load(path)
        assert (cfg.self_train.rounds > 0) == ("selftrain" in path.name), path.name
        assert RunConfig.from_toml(cfg.to_toml()) == cfg


def test_self_train_config_names_field_and_range():
    with pytest.raises(ConfigError, match=r"SelfTrainConfig.rounds = 11 .* 0 to 10"):
        SelfTrainConfig(rounds=11)
    with pytest.raises(ConfigError, match=r"SelfTrainConfig.mode = 'swap' .* 'replace', 'mix', 'accumulate'"):
        SelfTrainConfig.from_dict({"mode": "swap"})
    with pytest.raises(ConfigError, match=r"max_length = 2 is below min_length = 3"):
        SelfTrainConfig(min_length=3, max_length=2)


# --- round bookkeeping -------------------------------------------------------------------


def test_round_one_always_trains_on_the_real_data():
    for mode in ("replace", "mix", "accumulate"):
        assert stm.training_sources(mode, 1, 100, {}) == {0: 100}


def test_replace_trains_on_the_previous_round_only():
    kept = {1: 80, 2: 60, 3: 50}
    assert stm.training_sources("replace", 2, 100, kept) == {1: 80}
    assert stm.training_sources("replace", 4, 100, kept) == {3: 50}
    with pytest.raises(DataError, match="round 1 kept no synthetic items"):
        stm.training_sources("replace", 2, 100, {1: 0})


def test_mix_keeps_the_real_data_and_a_fixed_synthetic_share():
    assert stm.training_sources("mix", 3, 100, {1: 500, 2: 500}, mix_ratio=0.5) == {0: 100, 2: 100}
    assert stm.training_sources("mix", 2, 100, {1: 500}, mix_ratio=0.2) == {0: 100, 1: 25}
    assert stm.training_sources("mix", 2, 100, {1: 30}, mix_ratio=0.5) == {0: 100, 1: 30}  # fewer were kept
    assert stm.training_sources("mix", 2, 100, {1: 0}) == {0: 100}


def test_accumulate_keeps_everything():
    assert stm.training_sources("accumulate", 4, 100, {1: 80, 2: 0, 3: 50}) == {0: 100, 1: 80, 3: 50}


def test_round_dataset_trains_on_the_chosen_items_and_validates_on_real_data():
    real = TextDataset(name="n", source="test", texts=[f"name{i}" for i in range(20)], val_fraction=0.2)
    synthetic = {1: ["syn1a", "syn1b", "syn1c"], 2: ["syn2a", "syn2b"]}
    ds = stm.round_dataset(real, {0: 16, 1: 3, 2: 2}, synthetic, 3)
    assert sorted(ds.train_texts()) == sorted(real.train_texts() + synthetic[1] + synthetic[2])
    assert ds.validation_texts() == real.validation_texts()
    replace = stm.round_dataset(real, {2: 1}, synthetic, 3)
    assert replace.train_texts() == ["syn2a"] and replace.validation_texts() == real.validation_texts()
    assert set(replace.texts) >= set(real.texts)  # the vocabulary stays the real data's


# --- filters -----------------------------------------------------------------------------


def test_text_filters_each_report_what_they_dropped():
    cfg = SelfTrainConfig(min_length=2, max_length=8)
    train = ["anna", "bob", "carla"]
    samples = ["dora", "", "   ", "e", "verylongname", "zoë", "dora", "anna", "emil"]
    res = stm.filter_text(samples, train + ["demi"], cfg, alphabet=set("abcdeilmnorvy "))
    assert [samples[i] for i in res.kept] == ["dora", "emil"]
    assert res.dropped == {"empty": 2, "too_short": 1, "too_long": 1, "alphabet": 1, "duplicate": 1, "copy": 1,
                           "low_quality": 0}
    off = stm.filter_text(samples, train, SelfTrainConfig(drop_duplicates=False, drop_copies=False, max_length=20),
                          alphabet=set("abcdegilmnorvyzë"))
    assert off.dropped["duplicate"] == 0 and off.dropped["copy"] == 0 and off.n_kept == 7


def test_text_max_length_defaults_to_the_longest_training_item_and_quality_threshold():
    res = stm.filter_text(["abc", "abcdef"], ["abcd"], SelfTrainConfig())
    assert res.kept.tolist() == [0] and res.dropped["too_long"] == 1
    real = ["anna", "hanna", "nana", "anne"] * 5
    q = stm.bigram_quality(["anna", "nhhn", "zz"], real)
    assert q[0] > q[1] > 0 and q[2] == 0 and np.all(q <= 1)
    res = stm.filter_text(["anna", "nhhn"], ["x"], SelfTrainConfig(quality_threshold=0.3, drop_copies=False),
                          alphabet=set("ahn"), max_length=10, quality=q[:2])
    assert res.kept.tolist() == [0] and res.dropped["low_quality"] == 1


def test_image_filters_each_report_what_they_dropped():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (5, 8, 8, 1), dtype=np.uint8)
    fresh = rng.integers(0, 256, (3, 8, 8, 1), dtype=np.uint8)
    near_copy = train[2].astype(int)
    near_copy[0, 0, 0] = min(255, near_copy[0, 0, 0] + 3)
    samples = np.stack([fresh[0], np.full((8, 8, 1), 7, np.uint8), fresh[1], fresh[0], train[1],
                        near_copy.astype(np.uint8), fresh[2]])
    conf = np.array([0.9, 0.9, 0.05, 0.9, 0.9, 0.9, 0.4])
    res = stm.filter_images(samples, train, SelfTrainConfig(min_confidence=0.1, quality_threshold=0.5), conf)
    assert res.kept.tolist() == [0]
    assert res.dropped == {"blank": 1, "low_confidence": 1, "duplicate": 1, "copy": 2, "low_quality": 1}
    no_classifier = stm.filter_images(samples, train, SelfTrainConfig(quality_threshold=0.5), None)
    assert no_classifier.kept.tolist() == [0, 2, 6]


# --- runs --------------------------------------------------------------------------------


def tiny_cfg(**self_train) -> RunConfig:
    cfg = RunConfig.load(ROOT / "configs" / "tiny_selftrain.toml")
    return cfg.replace(self_train=cfg.self_train.replace(**self_train))


def test_two_round_tiny_run_writes_rounds_and_per_round_metrics(tmp_path):
    cfg = tiny_cfg()
    run_dir = runs.create_run(cfg, run_dir=tmp_path / "run")
    assert runs.read_status(run_dir)["total"] == 2 * cfg.train.steps
    assert stm.self_train(cfg, run_dir, progress=False) == "done"
    status = runs.read_status(run_dir)
    assert status["state"] == "done" and status["step"] == status["total"] == 12
    rounds = stm.round_records(run_dir)
    assert [r["round"] for r in rounds] == [1, 2]
    for r in rounds:
        assert np.isfinite(r["val_loss"]) and np.isfinite(r["val_bpc"]) and 0 <= r["distinct_2"] <= 1
        assert r["kept"] + sum(r[f"dropped_{f}"] for f in stm.FILTERS_TEXT) == r["sampled"] == 32
    assert rounds[0]["synthetic_items"] == 0 and rounds[1]["synthetic_items"] == rounds[0]["kept"]
    for k in (1, 2):
        rdir = stm.round_dir(run_dir, k)
        assert (rdir / "model" / "model.safetensors").exists()
        assert (rdir / stm.SYNTHETIC_TEXT).exists() and (rdir / stm.EVALUATION_FILE).exists()
        assert runs.read_metrics(rdir, split="val")
    val = runs.read_metrics(run_dir, split="val")
    assert [r["round"] for r in val] == [1, 2] and val[1]["step"] == 12  # mirrored with the step offset
    rec = runs.inspect_run(run_dir)
    assert rec.state == "done" and rec.has_model and not rec.broken
    assert len(runs.list_samples(run_dir)) == 2
    assert stm.is_self_training(run_dir)


def test_cancel_between_rounds_then_resume(tmp_path, monkeypatch):
    import genaug_core.evaluate as ev

    cfg = tiny_cfg(mode="mix", mix_ratio=0.2)
    run_dir = runs.create_run(cfg, run_dir=tmp_path / "run")
    original = ev.score_samples

    def score_then_stop(*args, **kwargs):  # the user presses Cancel while round 1 is being scored
        runs.request_stop(run_dir)
        return original(*args, **kwargs)

    monkeypatch.setattr(ev, "score_samples", score_then_stop)
    assert stm.self_train(cfg, run_dir, progress=False) == "cancelled"
    assert runs.read_status(run_dir)["state"] == "cancelled"
    assert [r["round"] for r in stm.round_records(run_dir)] == [1]
    assert not stm.round_dir(run_dir, 2).exists() and not runs.stop_requested(run_dir)

    monkeypatch.setattr(ev, "score_samples", original)
    assert stm.self_train(cfg, run_dir, resume=True, progress=False) == "done"
    rounds = stm.round_records(run_dir)
    assert [r["round"] for r in rounds] == [1, 2]
    assert rounds[1]["real_items"] == rounds[0]["train_items"] and rounds[1]["synthetic_items"] > 0


@pytest.mark.slow
def test_cli_runs_the_rounds_of_an_image_config_with_a_self_train_section(tmp_path):
    import subprocess
    import sys

    cfg = RunConfig.load(ROOT / "configs" / "tiny_image.toml")
    cfg = cfg.replace(train=cfg.train.replace(eval_every=0, checkpoint_every=0, num_samples=0),
                      self_train=SelfTrainConfig(rounds=2, synthetic_per_round=20, mode="replace", min_confidence=0.0))
    path = tmp_path / "st.toml"
    path.write_text(cfg.to_toml())
    res = subprocess.run(
        [sys.executable, "-m", "genaug_core", "train", "--config", str(path), "--run-dir", str(tmp_path / "run"),
         "--no-progress"], cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr + res.stdout
    rounds = stm.round_records(tmp_path / "run")
    assert [r["round"] for r in rounds] == [1, 2] and rounds[1]["real_items"] == 0
    assert all(np.isfinite(r["fd"]) and 0 <= r["recall"] <= 1 for r in rounds)
    assert "round 2/2: training on round 1 synthetic" in res.stdout
    assert (tmp_path / "run" / "round-1" / stm.SYNTHETIC_IMAGES).exists()


# --- the page ----------------------------------------------------------------------------


def fake_self_training_run(root: Path, mode: str, bpc: list[float]) -> Path:
    """A finished self-training run folder with per-round records and samples (no training)."""
    cfg = tiny_cfg(rounds=len(bpc), mode=mode).replace(name=f"fake {mode}")
    run_dir = runs.create_run(cfg, root=root)
    (run_dir / runs.SAMPLES_DIR).mkdir()
    for k, v in enumerate(bpc, start=1):
        runs.append_metrics(run_dir, {"step": 6 * k, "split": "round", "round": k, "val_bpc": v, "distinct_4": 1 / k,
                                      "kept": 20, "sampled": 32, "train_items": 270, "synthetic_items": 0})
        runs.write_text_samples(run_dir / runs.SAMPLES_DIR / f"step-{6 * k:07d}.txt", [f"name{k}", "anna"])
    runs.write_status(run_dir, state="done", step=6 * len(bpc), kind="text")
    return run_dir


def test_page_shows_collapse_curves_and_presets_launch_runs(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from genaug_core.train import jobs

    root = runs.runs_root()
    fake_self_training_run(root, "replace", [2.9, 3.2, 3.5])
    fake_self_training_run(root, "accumulate", [2.9, 2.9, 2.95])
    started = []
    monkeypatch.setattr(jobs, "start", lambda cfg, root=None: started.append(cfg) or runs.create_run(cfg))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/6_Self-training.py")
    at.run()
    assert not at.exception, at.exception
    assert any("Shumailov" in m.value for m in at.markdown)
    at.multiselect(key="selftrain.pick").select(at.multiselect(key="selftrain.pick").options[1]).run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == 1 and len(at.dataframe[0].value) == 6
    at.button(key="selftrain.preset.names").click().run()
    assert not at.exception, at.exception
    assert [c.self_train.mode for c in started] == ["replace", "accumulate"]
    assert len({c.group for c in started}) == 1 and started[0].group.startswith("selftrain-names-")


def test_page_resumes_a_cancelled_self_training_run(monkeypatch):
    """Cancel after round 1, then Resume on the page: a real child finishes round 2, round 1 is kept."""
    import time

    from streamlit.testing.v1 import AppTest

    import genaug_core.evaluate as ev
    from genaug_core.train import jobs

    cfg = tiny_cfg()
    run_dir = runs.create_run(cfg, root=runs.runs_root())
    original = ev.score_samples

    def score_then_stop(*args, **kwargs):
        runs.request_stop(run_dir)
        return original(*args, **kwargs)

    monkeypatch.setattr(ev, "score_samples", score_then_stop)
    assert stm.self_train(cfg, run_dir, progress=False) == "cancelled"
    monkeypatch.setattr(ev, "score_samples", original)
    assert runs.latest_checkpoint(run_dir) is None and jobs.can_resume(runs.inspect_run(run_dir))
    first_round = stm.round_records(run_dir)[0]

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/6_Self-training.py")
    at.run()
    assert not at.exception, at.exception
    at.button(key=f"selftrain.resume.{run_dir.name}").click().run()
    assert not at.exception, at.exception
    deadline = time.time() + 180
    while runs.inspect_run(run_dir).state not in runs.FINISHED and time.time() < deadline:
        jobs.tick()
        time.sleep(0.5)
    assert runs.inspect_run(run_dir).state == "done", runs.read_log_tail(run_dir, 30)
    rounds = stm.round_records(run_dir)
    assert [r["round"] for r in rounds] == [1, 2] and rounds[0] == first_round


def test_resume_is_offered_only_with_something_to_continue_from(tmp_path):
    from genaug_core.train import jobs

    plain = runs.create_run(RunConfig.load(ROOT / "configs" / "tiny_text.toml"), run_dir=tmp_path / "plain")
    runs.write_status(plain, state="cancelled")
    assert not jobs.can_resume(runs.inspect_run(plain))  # no checkpoint: nothing to continue
    with pytest.raises(RunError, match="no complete checkpoint"):
        jobs.resume(plain)
    rounds = runs.create_run(tiny_cfg(), run_dir=tmp_path / "rounds")
    runs.write_status(rounds, state="failed")
    assert jobs.can_resume(runs.inspect_run(rounds))  # self-training: finished rounds are kept, the rest re-run
    runs.write_status(rounds, state="running", pid=os.getpid())
    assert not jobs.can_resume(runs.inspect_run(rounds))
