"""Train and Sample pages (AppTest) over a runs folder with real tiny runs and broken folders."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from genaug_core import runs
from genaug_core.config import read_run_config

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def finished_runs(tmp_path_factory):
    """One finished tiny text run and one tiny image run, trained once for this module."""
    root = tmp_path_factory.mktemp("finished-runs")
    for name in ("tiny_text", "tiny_image"):
        res = subprocess.run(
            [sys.executable, "-m", "genaug_core", "train", "--config", f"configs/{name}.toml",
             "--run-dir", str(root / name), "--no-progress"],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )
        assert res.returncode == 0, res.stderr
    return root


@pytest.fixture
def runs_root(finished_runs, tmp_path, monkeypatch):
    """A copy of the finished runs plus the broken folders a crash or a disk can leave behind."""
    root = tmp_path / "runs"
    shutil.copytree(finished_runs, root)
    good = root / "tiny_text"
    trunc = root / "20260101-000000-aaaaaa"
    shutil.copytree(good, trunc)
    (trunc / runs.CONFIG_FILE).write_text((good / runs.CONFIG_FILE).read_text()[:40])
    zero = root / "20260101-000000-bbbbbb"
    shutil.copytree(good, zero)
    for f in (zero / runs.MODEL_DIR).glob("*.safetensors"):
        f.write_bytes(b"")
    for ck in zero.glob("checkpoint-*"):
        for f in (ck / runs.MODEL_DIR).glob("*.safetensors"):
            f.write_bytes(b"")
    half = root / "20260101-000000-cccccc"
    shutil.copytree(root / "tiny_image", half)
    for ck in half.glob("checkpoint-*"):
        for f in (ck / runs.MODEL_DIR).glob("*.safetensors"):
            f.write_bytes(f.read_bytes()[: len(f.read_bytes()) // 2])
    shutil.copytree(good / runs.MODEL_DIR, half / ".tmp-model-leftover")
    (root / "20260101-000000-dddddd").mkdir()  # an empty folder named like a run
    (root / "20260101-000000-eeeeee").mkdir()
    (root / "20260101-000000-eeeeee" / runs.STATUS_FILE).write_text(json.dumps({"state": "exploded"}))
    monkeypatch.setenv("GENAUG_RUNS_DIR", str(root))
    return root


def page(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page(f"pages/{name}")
    return at


def test_train_page_lists_good_and_broken_runs(runs_root):
    at = page("3_Train.py").run()
    assert not at.exception, at.exception
    table = at.dataframe[-1].value
    states = dict(zip(table["run"], table["state"], strict=True))
    assert states["tiny_text"] == "done" and states["tiny_image"] == "done"
    for broken in ("20260101-000000-aaaaaa", "20260101-000000-dddddd", "20260101-000000-eeeeee"):
        assert states[broken] == "broken", (broken, states[broken])
    problems = dict(zip(table["run"], table["problem"], strict=True))
    assert "safetensors" in problems["20260101-000000-bbbbbb"] or "empty" in problems["20260101-000000-bbbbbb"]
    assert problems["20260101-000000-cccccc"]


def test_train_page_shows_curves_and_samples_of_a_finished_run(runs_root):
    at = page("3_Train.py")
    at.session_state["genaug.active_run"] = "tiny_text"
    at.run()
    assert not at.exception
    assert any("done" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) >= 1


def test_train_page_starts_a_run(runs_root):
    at = page("3_Train.py").run()
    at.number_input(key="train.steps").set_value(10)
    at.selectbox(key="train.preset").set_value("tiny")
    at.button[0].click()  # the form's submit button
    at.run()
    assert not at.exception and not at.error
    run_id = at.session_state["genaug.active_run"]
    cfg = read_run_config(runs_root / run_id)
    assert cfg.data.source == "digits" and cfg.train.steps == 10 and cfg.model.image.preset == "tiny"
    from genaug_core.train import jobs

    jobs.cancel(runs_root / run_id)


@pytest.mark.parametrize("run_id", ["tiny_text", "tiny_image"])
def test_sample_page_samples_a_finished_run(runs_root, run_id):
    at = page("4_Sample.py")
    at.session_state["genaug.active_run"] = run_id
    at.run()
    assert not at.exception, at.exception
    at.button(key="sample.go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    if run_id == "tiny_text":
        assert any("new" in m.value for m in at.markdown)
    else:
        assert at.get("image") and at.get("download_button")


def test_sample_page_with_a_broken_run_says_so(runs_root):
    at = page("4_Sample.py")
    at.session_state["genaug.active_run"] = "20260101-000000-bbbbbb"
    at.run()
    assert not at.exception


def test_sample_page_follows_a_run_that_is_still_training(runs_root):
    """A run without its final model yet: "newest checkpoint" samples it, says which step, and Refresh
    samples a newer checkpoint once the run has saved one."""
    live = runs_root / "20260101-000000-ffffff"
    shutil.copytree(runs_root / "tiny_image", live)
    shutil.rmtree(live / runs.MODEL_DIR)
    at = page("4_Sample.py")
    at.session_state["genaug.active_run"] = live.name
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="sample.checkpoint").value == "latest"
    at.button(key="sample.go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("step 3 of 3, training weights" in m.value for m in at.markdown)
    assert at.button(key="sample.refresh")  # offered at once, not only after some later rerun
    newer = live / "checkpoint-5"  # the loop saves a newer checkpoint meanwhile
    shutil.copytree(live / "checkpoint-3", newer)
    (newer / "state.json").write_text(json.dumps({"step": 5, "total": 9}))
    at.run()
    assert any("newer weights (step 5" in c.value for c in at.caption)
    at.button(key="sample.refresh").click().run()
    assert not at.exception and not at.error
    assert any("step 5 of 9, training weights" in m.value for m in at.markdown)
    assert at.get("image")
