"""The job runner: runs start as child processes, queue past the limit, cancel, resume, fail visibly."""

import time
from pathlib import Path

import pytest

from genaug_core import runs
from genaug_core.config import RunConfig
from genaug_core.train import jobs

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def tiny(steps=3, **train):
    cfg = RunConfig.load(ROOT / "configs" / "tiny_text.toml")
    return cfg.replace(train=cfg.train.replace(steps=steps, **train))


def wait_for(run_dir, states, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        jobs.tick(run_dir.parent)
        rec = runs.inspect_run(run_dir)
        if rec.state in states:
            return rec
        time.sleep(0.2)
    raise AssertionError(f"{run_dir.name} still {rec.state}; log:\n{runs.read_log_tail(run_dir, 30)}")


def test_start_returns_at_once_and_the_child_finishes(tmp_path):
    t = time.perf_counter()
    run_dir = jobs.start(tiny(), root=tmp_path)
    assert time.perf_counter() - t < 1.0  # the page gets control back at once
    rec = wait_for(run_dir, {"done", "failed"})
    assert rec.state == "done", runs.read_log_tail(run_dir)
    assert rec.has_model and (run_dir / runs.LOG_FILE).read_text().count("train --run-dir") == 1


def test_queue_limit_cancel_and_resume(tmp_path, monkeypatch):
    monkeypatch.setenv(jobs.MAX_RUNS_ENV, "1")
    first = jobs.start(tiny(steps=400, checkpoint_every=2, log_every=1), root=tmp_path)
    second = jobs.start(tiny(), root=tmp_path)
    assert runs.read_status(second)["state"] == "queued"
    assert jobs.queue_position(second) == 1
    wait_for(first, {"running"})
    jobs.cancel(second)  # queued: cancelled at once, never launched
    assert runs.read_status(second)["state"] == "cancelled"
    while not runs.list_checkpoints(first):  # let it write a checkpoint, then stop it
        time.sleep(0.2)
    jobs.cancel(first)
    rec = wait_for(first, {"cancelled", "failed", "done"})
    assert rec.state == "cancelled", runs.read_log_tail(first)
    stopped_at = rec.step
    jobs.resume(first, steps=stopped_at + 3)
    rec = wait_for(first, {"done", "failed"})
    assert rec.state == "done", runs.read_log_tail(first)
    assert rec.step == stopped_at + 3


def test_a_child_that_dies_is_failed_with_its_log(tmp_path):
    import os
    import signal

    run_dir = jobs.start(tiny(steps=5000), root=tmp_path)
    rec = wait_for(run_dir, {"running", "done", "failed"})
    assert rec.state == "running", runs.read_log_tail(run_dir)
    os.kill(runs.read_status(run_dir)["pid"], signal.SIGKILL)
    rec = wait_for(run_dir, {"failed"})
    assert "ended without a word" in (rec.error or "")


def test_resume_needs_a_checkpoint(tmp_path):
    run_dir = runs.create_run(tiny(), root=tmp_path)
    runs.write_status(run_dir, state="cancelled")
    with pytest.raises(Exception, match="no complete checkpoint"):
        jobs.resume(run_dir)
