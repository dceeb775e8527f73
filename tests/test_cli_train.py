"""The train and sample commands: exit codes, the queued-run path, kill -9, SIGTERM, 2 processes."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genaug_core import kinds, runs
from genaug_core.cli import main
from genaug_core.config import RunConfig, read_run_config

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:diffusers.*")

ROOT = Path(__file__).resolve().parents[1]
TINY_TEXT = ROOT / "configs" / "tiny_text.toml"
TINY_IMAGE = ROOT / "configs" / "tiny_image.toml"


def _env(tmp_path):
    return {**os.environ, "GENAUG_RUNS_DIR": str(tmp_path / "runs"), "PYTHONPATH": str(ROOT)}


@pytest.mark.parametrize(
    "toml, message",
    [
        ("[train]\nsteps = -1\n", "TrainConfig.steps = -1 is out of range"),
        ("[train]\nstepz = 3\n", "unknown setting(s) 'stepz'"),
        ("[model.text]\npreset = 'huge'\n", "preset = 'huge' is not allowed"),
        ("not toml [", "not valid TOML"),
    ],
)
def test_bad_config_exits_2_with_one_line(tmp_path, capsys, toml, message):
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    assert main(["train", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # no run folder made


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("bad.json", b'{"train": {"steps": ', "bad.json: the config is not valid JSON"),
        ("bad.json", b'{"train": {"steps": -1}}', "TrainConfig.steps = -1 is out of range"),
        ("latin1.json", '{"name": "café"}'.encode("latin-1"), "latin1.json: the config is not UTF-8 text"),
        ("missing.json", None, "missing.json: cannot read the config (No such file"),
    ],
)
def test_bad_json_config_exits_2_with_one_line(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    assert main(["train", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_usage_errors(tmp_path, capsys):
    assert main(["train"]) == 2
    assert "--config" in capsys.readouterr().err
    assert main(["train", "--resume"]) == 2
    assert main(["train", "--dataset", "names", "--preset", "giant"]) == 2
    assert main(["sample", "--run-dir", str(tmp_path / "nothing")]) == 2


def test_train_and_sample_text(tmp_path, capsys):
    run_dir = tmp_path / "r"
    assert main(["train", "--config", str(TINY_TEXT), "--run-dir", str(run_dir), "--steps", "2", "--no-progress"]) == 0
    assert runs.read_status(run_dir)["state"] == "done"
    capsys.readouterr()
    assert main(["sample", "--run-dir", str(run_dir), "-n", "3", "--top-k", "5", "--seed", "1"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    out = tmp_path / "s.txt"
    assert main(["sample", "--run-dir", str(run_dir), "-n", "2", "--checkpoint", "2", "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 2
    # extending a finished run: --resume with more steps continues the count
    assert main(["train", "--run-dir", str(run_dir), "--resume", "--steps", "4", "--no-progress"]) == 0
    assert runs.read_status(run_dir)["step"] == 4
    assert read_run_config(run_dir).train.steps == 4


def test_train_queued_run_and_sample_images(tmp_path, capsys):
    cfg = RunConfig.load(TINY_IMAGE)
    run_dir = runs.create_run(cfg, root=tmp_path / "runs")  # what the app's job runner does
    assert main(["train", "--run-dir", str(run_dir), "--no-progress"]) == 0
    assert main(["train", "--run-dir", str(run_dir)]) == 2  # done, not queued: refuses to start again
    out = tmp_path / "grid.png"
    assert (
        main(["sample", "--run-dir", str(run_dir), "-n", "4", "--class-id", "7", "--steps", "2", "--out", str(out)])
        == 0
    )
    assert out.stat().st_size > 0
    folder = tmp_path / "pngs"
    assert main(["sample", "--run-dir", str(run_dir), "-n", "2", "--sampler", "dpm", "--out", str(folder)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["grid.png", "sample-0000.png", "sample-0001.png"]
    assert main(["sample", "--run-dir", str(run_dir), "--class-id", "cat"]) == 2


def _start(tmp_path, *args):
    return subprocess.Popen(
        [sys.executable, "-m", "genaug_core", "train", *args],
        cwd=ROOT,
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_kill_9_leaves_a_loadable_run_that_resumes(tmp_path):
    run_dir = tmp_path / "runs" / "k"
    proc = _start(
        tmp_path, "--config", str(TINY_TEXT), "--run-dir", str(run_dir), "--steps", "100000",
        "--checkpoint-every", "3", "--eval-every", "0",
    )  # fmt: skip
    try:
        assert _wait_for(lambda: len(runs.list_checkpoints(run_dir)) >= 2), "no checkpoints appeared"
        os.kill(proc.pid, signal.SIGKILL)  # at any moment, possibly mid-checkpoint
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    (rec,) = runs.list_runs(tmp_path / "runs")
    assert rec.state == "failed" and rec.checkpoints  # the process is gone; checkpoints survive
    loaded = kinds.load_run_model(run_dir)
    assert loaded.step == rec.checkpoints[-1]
    assert len(loaded.sample(2, max_new_tokens=5)) == 2
    step = loaded.step
    done = subprocess.run(
        [sys.executable, "-m", "genaug_core", "train", "--run-dir", str(run_dir), "--resume", "--steps", str(step + 2)],
        cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    status = runs.read_status(run_dir)
    assert (status["state"], status["step"]) == ("done", step + 2)
    assert not list(run_dir.glob(".tmp-*"))
    assert max(r["step"] for r in runs.read_metrics(run_dir)) == step + 2


@pytest.mark.slow
def test_sigterm_cancels_like_stop(tmp_path):
    run_dir = tmp_path / "runs" / "t"
    proc = _start(tmp_path, "--config", str(TINY_TEXT), "--run-dir", str(run_dir), "--steps", "100000")
    try:
        assert _wait_for(lambda: runs.read_metrics(run_dir, "train")), "training did not start"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    status = runs.read_status(run_dir)
    assert status["state"] == "cancelled"
    assert runs.latest_checkpoint(run_dir).name == f"checkpoint-{status['step']}"


@pytest.mark.slow
def test_two_process_data_parallel_run_writes_one_folder(tmp_path):
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    assert accelerate, "accelerate's launcher is not installed next to python"
    done = subprocess.run(
        [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
         "--mixed_precision", "no", "--dynamo_backend", "no",
         "-m", "genaug_core", "train", "--config", str(TINY_TEXT), "--no-progress"],
        cwd=ROOT, env={**_env(tmp_path), "CUDA_VISIBLE_DEVICES": ""}, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (rec,) = runs.list_runs(tmp_path / "runs")  # one run folder, written by the main process
    status = runs.read_status(rec.path)
    assert (status["state"], status["step"], status["processes"]) == ("done", 3, 2)
    assert rec.has_model and rec.broken is None
    # every step logged once: only the main process appends metrics
    assert [r["step"] for r in runs.read_metrics(rec.path, "train")] == [1, 2, 3]


LAUNCHERS = {  # the README's launch commands -> the processes of the one run each makes on a CPU-only machine
    "accelerate --multi_gpu": (["accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                                "--mixed_precision", "no", "--dynamo_backend", "no"], 2),
    "torchrun": (["torchrun", "--nproc_per_node", "2"], 2),
    # Accelerate's simple launcher starts one process for these, whatever --num_processes says
    "accelerate --cpu": (["accelerate", "launch", "--cpu", "--num_processes", "2", "--num_machines", "1",
                          "--mixed_precision", "no", "--dynamo_backend", "no"], 1),
    "accelerate, no --multi_gpu": (["accelerate", "launch", "--num_processes", "2"], 1),
}


@pytest.mark.slow
@pytest.mark.parametrize("with_run_dir", [False, True], ids=["new folder", "--run-dir"])
@pytest.mark.parametrize("launcher", list(LAUNCHERS))
def test_documented_launches_make_one_run_with_the_default_device(tmp_path, launcher, with_run_dir):
    """train.device left on "auto" (as in the README's configs) on a machine without a GPU: one run folder,
    data-parallel over 2 CPU processes where the launcher starts 2 (a CUDA-less PartialState(cpu=False)
    used to make that two independent runs, or two processes fighting over one --run-dir)."""
    cfg = tmp_path / "auto_device.toml"
    cfg.write_text(TINY_TEXT.read_text(encoding="utf-8").replace('device = "cpu"', ""), encoding="utf-8")
    assert "device" not in cfg.read_text(encoding="utf-8")
    (tool, *flags), processes = LAUNCHERS[launcher]
    exe = shutil.which(tool, path=str(Path(sys.executable).parent))
    assert exe, f"{tool} is not installed next to python"
    run_dir = tmp_path / "runs" / "chosen"
    extra = ["--run-dir", str(run_dir)] if with_run_dir else []
    done = subprocess.run(
        [exe, *flags, "-m", "genaug_core", "train", "--config", str(cfg), "--no-progress", *extra],
        cwd=ROOT, env={**_env(tmp_path), "CUDA_VISIBLE_DEVICES": ""}, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (rec,) = runs.list_runs(tmp_path / "runs")  # one folder
    assert rec.path.name == "chosen" if with_run_dir else rec.path.name != "chosen"
    status = runs.read_status(rec.path)
    assert (status["state"], status["step"], status["processes"]) == ("done", 3, processes)
    assert f"on {processes} x cpu" in (rec.path / runs.LOG_FILE).read_text(encoding="utf-8")
    assert [r["step"] for r in runs.read_metrics(rec.path, "train")] == [1, 2, 3]
