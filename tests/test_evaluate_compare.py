"""Scoring at the end of training, the `evaluate` command, and the Compare page over real tiny runs."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from genaug_core import compare, runs
from genaug_core.config import read_run_config
from genaug_core.evaluate import read_evaluation, read_evaluation_details

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "genaug_core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny text run and a tiny image run, trained (and so scored, 16 samples each) once for this module."""
    root = tmp_path_factory.mktemp("scored-runs")
    for name in ("tiny_text", "tiny_image"):
        res = cli("train", "--config", f"configs/{name}.toml", "--run-dir", str(root / name), "--no-progress")
        assert res.returncode == 0, res.stderr
    return root


@pytest.mark.parametrize("name", ["tiny_text", "tiny_image"])
def test_training_ends_with_a_scoring(trained, name):
    run_dir = trained / name
    ev = read_evaluation(run_dir)
    assert ev["checkpoint"] == "final" and ev["n"] == 16 and ev["step"] == 3
    assert "val_loss" in ev and ("novelty" in ev if name == "tiny_text" else "fd" in ev)
    status = runs.read_status(run_dir)
    assert status["state"] == "done" and status["evaluated"] is True and not status["evaluating"]
    details = read_evaluation_details(run_dir)
    assert details is not None and (len(details["pairs"]) == 16 if name == "tiny_text" else len(details["samples"]) == 16)
    assert "evaluation: written" in runs.read_log_tail(run_dir)


def test_evaluate_command_scores_a_checkpoint_into_its_own_file(trained, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(trained / "tiny_image", run_dir)
    final = (run_dir / "evaluation.json").read_text()
    res = cli("evaluate", "--run-dir", str(run_dir), "--checkpoint", "2", "-n", "8", "--seed", "1", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["checkpoint"] == "checkpoint-2" and out["n"] == 8 and out["seed"] == 1 and out["val_step"] == 2
    assert json.loads((run_dir / "evaluation-2.json").read_text()) == out
    assert (run_dir / "evaluation-2-samples.npz").exists()
    assert (run_dir / "evaluation.json").read_text() == final  # the final scores stay


def test_evaluate_command_rescores_the_final_model_and_prints_headlines(trained, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(trained / "tiny_text", run_dir)
    res = cli("evaluate", "--run-dir", str(run_dir), "-n", "8")
    assert res.returncode == 0, res.stderr
    assert "novelty" in res.stdout and "wrote" in res.stdout
    assert read_evaluation(run_dir)["n"] == 8


@pytest.mark.parametrize(
    "args",
    [["--run-dir", "no/such/run"], ["--run-dir", "{empty}"], ["--run-dir", "{text}", "--checkpoint", "999"],
     ["--run-dir", "{text}", "-n", "1"]],
)
def test_evaluate_command_errors_are_one_line(trained, tmp_path, args):
    (tmp_path / "empty").mkdir()
    args = [a.format(empty=tmp_path / "empty", text=trained / "tiny_text") for a in args]
    res = cli("evaluate", *args, "--no-write")
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("error: ") and len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_a_failed_scoring_leaves_the_run_done(trained, tmp_path):
    from genaug_core.evaluate import evaluate_after_training

    run_dir = tmp_path / "run"
    shutil.copytree(trained / "tiny_text", run_dir)
    (run_dir / "evaluation.json").unlink()
    (run_dir / runs.CONFIG_FILE).write_text("{}")  # the dataset cannot be loaded again
    assert evaluate_after_training(run_dir, 8) is None
    status = runs.read_status(run_dir)
    assert status["state"] == "done" and status["evaluated"] is False and status["evaluation_error"]
    assert "evaluation failed" in runs.read_log_tail(run_dir)


# ---------------------------------------------------------------- the Compare page


@pytest.fixture
def runs_root(trained, tmp_path, monkeypatch):
    root = tmp_path / "runs"
    shutil.copytree(trained, root)
    broken = root / "20260101-000000-aaaaaa"
    shutil.copytree(root / "tiny_text", broken)
    (broken / runs.CONFIG_FILE).write_text("{trunc")
    (broken / "evaluation-details.json").write_text("[1, 2]")
    half = root / "20260101-000000-bbbbbb"
    shutil.copytree(root / "tiny_image", half)
    (half / "evaluation-samples.npz").write_bytes(b"")
    (root / "20260101-000000-cccccc").mkdir()
    (root / "20260101-000000-dddddd").mkdir()
    (root / "20260101-000000-dddddd" / runs.STATUS_FILE).write_text(json.dumps({"state": "exploded"}))
    monkeypatch.setenv("GENAUG_RUNS_DIR", str(root))
    return root


def page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/5_Compare.py")
    return at


def test_compare_page_shows_finished_and_broken_runs(runs_root):
    at = page().run()
    assert not at.exception, at.exception
    every = [p.name for p in runs_root.iterdir() if not p.name.startswith(".")]
    at.multiselect(key="compare.runs").set_value(every).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    states = dict(zip(table["run"], table["state"], strict=True))
    assert states["tiny_text"] == "done" and states["20260101-000000-cccccc"] == "broken"
    assert table.set_index("run").loc["tiny_text", "novelty"] >= 0
    assert len(at.get("plotly_chart")) >= 3  # curves + metric bars
    assert at.get("image")  # image samples and memorisation pairs
    assert [b.proto.label for b in at.get("download_button")] == ["Report (HTML)", "Table (CSV)"]


def test_compare_page_ablation_button_launches_a_group(runs_root):
    from genaug_core.train import jobs

    at = page().run()
    at.radio(key="compare.kind").set_value("penalty").run()
    at.selectbox(key="compare.size").set_value("100 items")
    at.number_input(key="compare.steps").set_value(10)
    at.selectbox(key="compare.preset").set_value("tiny")
    at.text_input(key="compare.values.penalty").set_value("0, 1e-4, 1e-3").run()
    at.button(key="compare.ablate").click().run()
    try:
        assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
        group = at.session_state["genaug.compare_group"]
        members = [s for s in compare.summarize_runs(runs.list_runs(runs_root)) if group and s.group == group]
        assert len(members) == 3
        cfgs = [read_run_config(r.path) for r in members]
        assert sorted(c.regularization.penalty_lambda for c in cfgs) == [0.0, 1e-4, 1e-3]
        assert {c.data.max_train_items for c in cfgs} == {100} and {c.train.steps for c in cfgs} == {10}
        assert sorted(at.session_state["compare.runs"]) == sorted(r.id for r in members)
    finally:
        for rec in runs.list_runs(runs_root):
            if rec.state in ("queued", "running"):
                jobs.cancel(rec.path)
