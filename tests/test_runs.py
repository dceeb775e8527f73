"""Run folders: atomic status, metrics, listing that never raises, loading checkpoints."""

import json
import os
import subprocess
import sys
import time

import pytest

from genaug_core import kinds, runs
from genaug_core.config import RunConfig, read_run_config
from genaug_core.errors import RunError


def _cfg(**train) -> RunConfig:
    return RunConfig.from_dict({"data": {"source": "names"}, "train": {"steps": 10, **train}})


def test_create_run_and_status(tmp_path):
    run = runs.create_run(_cfg(), root=tmp_path)
    assert runs.RUN_ID_RE.match(run.name)
    assert read_run_config(run) == _cfg()
    status = runs.read_status(run)
    assert status["state"] == "queued" and status["total"] == 10
    runs.write_status(run, state="running", step=3)
    status = runs.read_status(run)
    assert (status["state"], status["step"], status["total"]) == ("running", 3, 10)
    assert not list(run.glob(".tmp-*"))  # the temp file was renamed into place
    with pytest.raises(ValueError):
        runs.write_status(run, state="exploded")
    with pytest.raises(RunError):
        runs.create_run(_cfg(), run_dir=run)  # never overwrite a run


def test_metrics_skip_a_half_written_line(tmp_path):
    run = runs.create_run(_cfg(), root=tmp_path)
    runs.append_metrics(run, {"step": 1, "split": "train", "loss": 2.0})
    runs.append_metrics(run, {"step": 1, "split": "val", "loss": 2.5})
    with open(run / runs.METRICS_FILE, "a") as fh:
        fh.write('{"step": 2, "split": "tra')  # a writer killed mid-line
    assert [r["split"] for r in runs.read_metrics(run)] == ["train", "val"]
    assert runs.read_metrics(run, split="val")[0]["loss"] == 2.5
    assert runs.read_metrics(tmp_path / "nowhere") == []


def test_run_path_rejects_anything_but_ids(tmp_path):
    assert runs.run_path("20261118-181847-3fa2c1", tmp_path) == tmp_path / "20261118-181847-3fa2c1"
    for bad in ("../etc", "x", "20261118-181847-3fa2c1/../../x", ""):
        with pytest.raises(RunError):
            runs.run_path(bad, tmp_path)


def test_stale_running_run_counts_as_failed(tmp_path):
    run = runs.create_run(_cfg(), root=tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    import socket

    runs.write_status(run, state="running", pid=proc.pid, host=socket.gethostname())
    (rec,) = runs.list_runs(tmp_path)
    assert rec.state == "failed" and "ended" in rec.error
    runs.write_status(run, pid=os.getpid())
    assert runs.list_runs(tmp_path)[0].state == "running"


def _fake_checkpoint(run, step, weights=b""):
    ck = runs.checkpoint_dir(run, step)
    (ck / "model").mkdir(parents=True)
    (ck / "model" / "config.json").write_text("{}")
    (ck / "model" / "model.safetensors").write_bytes(weights)
    (ck / "state.json").write_text(json.dumps({"step": step}))
    return ck


def test_list_runs_survives_corrupt_folders(tmp_path):
    good = runs.create_run(_cfg(), root=tmp_path)
    truncated = runs.create_run(_cfg(), root=tmp_path)
    (truncated / runs.CONFIG_FILE).write_text('{"data": {"sour')
    zero_ckpt = runs.create_run(_cfg(), root=tmp_path)
    _fake_checkpoint(zero_ckpt, 5)  # a zero-byte weights file
    leftover = runs.create_run(_cfg(), root=tmp_path)
    runs.write_status(leftover, state="failed", error="boom")
    (leftover / ".tmp-checkpoint-7").mkdir()
    bad_status = runs.create_run(_cfg(), root=tmp_path)
    (bad_status / runs.STATUS_FILE).write_bytes(b"\xff\xfe not json")
    (tmp_path / "20260101-000000-abcdef").mkdir()  # named like a run, empty
    (tmp_path / "notes.txt").write_text("not a run")
    (tmp_path / ".tmp-20260101-000000-abcdef").mkdir()  # a run being created: skipped

    records = {r.id: r for r in runs.list_runs(tmp_path)}
    assert set(records) == {p.name for p in (good, truncated, zero_ckpt, leftover, bad_status)} | {
        "20260101-000000-abcdef"
    }
    assert records[good.name].broken is None and records[good.name].state == "queued"
    assert "config" in records[truncated.name].broken and records[truncated.name].state == "broken"
    assert "empty" in records[zero_ckpt.name].broken and records[zero_ckpt.name].checkpoints == []
    assert ".tmp-checkpoint-7" in records[leftover.name].broken and records[leftover.name].error == "boom"
    assert records[bad_status.name].state == "broken"
    assert records["20260101-000000-abcdef"].broken
    with pytest.raises(RunError, match="no complete model"):
        kinds.load_run_model(zero_ckpt)
    assert runs.list_runs(tmp_path / "missing") == []


def test_check_safetensors_detects_truncation(tmp_path):
    import torch
    from safetensors.torch import save_file

    path = tmp_path / "w.safetensors"
    save_file({"w": torch.zeros(100)}, str(path))
    assert runs.check_safetensors(path) is None
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    assert "truncated" in runs.check_safetensors(path)
    path.write_bytes(data[:4])
    assert "empty or truncated" in runs.check_safetensors(path)


def test_atomic_dir_leaves_nothing_on_error(tmp_path):
    with pytest.raises(RuntimeError), runs.atomic_dir(tmp_path / "checkpoint-1") as tmp:
        (tmp / "half").write_text("x")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_prune_keeps_newest(tmp_path):
    for step in (2, 10, 4):
        runs.checkpoint_dir(tmp_path, step).mkdir()
    runs.prune_checkpoints(tmp_path, keep=2)
    assert [s for s, _ in runs.list_checkpoints(tmp_path)] == [4, 10]


def test_stop_file(tmp_path):
    assert not runs.stop_requested(tmp_path)
    runs.request_stop(tmp_path)
    assert runs.stop_requested(tmp_path)
    runs.clear_stop(tmp_path)
    assert not runs.stop_requested(tmp_path)


def test_text_samples_round_trip(tmp_path):
    runs.write_text_samples(tmp_path / "step-0000001.txt", ["ann", "two\nlines", ""])
    assert runs.read_text_samples(tmp_path / "step-0000001.txt") == ["ann", "two\nlines", ""]
    assert runs.list_samples(tmp_path) == []  # not in samples/


# --- process identity, heartbeats and the status lock -------------------------------------------------


def _running_status(run, **fields):
    """status.json saying "running" with exactly these fields (no fresh `updated` stamp unless given)."""
    status = {**runs.read_status(run), "state": "running", **fields}
    runs.write_json_atomic(run / runs.STATUS_FILE, status)


def test_process_start_time_names_the_process():
    import psutil

    assert abs(runs.process_start_time(os.getpid()) - psutil.Process().create_time()) < 0.05
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert runs.process_start_time(proc.pid) is None  # gone (and reaped)
    assert runs.process_start_time(0) is None and runs.process_start_time(None) is None


def test_a_reused_pid_is_not_the_training_process(tmp_path):
    import socket

    run = runs.create_run(_cfg(), root=tmp_path)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # alive, unrelated
    try:
        started = runs.process_start_time(other.pid)
        _running_status(run, pid=other.pid, host=socket.gethostname(), pid_started=started - 30.0, updated=time.time())
        (rec,) = runs.list_runs(tmp_path)
        assert rec.state == "failed" and "now belongs to another process" in rec.error
        _running_status(run, pid_started=started, updated=time.time())  # the very process that was launched
        assert runs.list_runs(tmp_path)[0].state == "running"
    finally:
        other.kill()
        other.wait()


def test_a_silent_run_is_failed_even_on_another_host(tmp_path):
    import socket

    run = runs.create_run(_cfg(), root=tmp_path)
    old = time.time() - runs.HEARTBEAT_STALE_S - 5
    _running_status(run, pid=1, host="container-that-is-gone", pid_started=1.0, updated=old)
    (rec,) = runs.list_runs(tmp_path)
    assert rec.state == "failed" and "container-that-is-gone" in rec.error and "not been heard from" in rec.error
    _running_status(run, updated=time.time())  # a fresh heartbeat from another host is believed (for now)
    assert runs.list_runs(tmp_path)[0].state == "running"
    me = runs.this_process()
    _running_status(run, **me, updated=old)  # alive, the same process, but silent: hung
    assert runs.list_runs(tmp_path)[0].state == "failed"
    _running_status(run, **me, updated=time.time())
    assert runs.list_runs(tmp_path)[0].state == "running" and me["host"] == socket.gethostname()


def test_tick_ends_a_hung_child_and_frees_its_slot(tmp_path):
    from genaug_core.train import jobs

    run = runs.create_run(_cfg(), root=tmp_path)
    hung = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        import socket

        _running_status(run, pid=hung.pid, host=socket.gethostname(), pid_started=runs.process_start_time(hung.pid),
                        updated=time.time() - runs.HEARTBEAT_STALE_S - 5)
        jobs.tick(tmp_path)
        assert hung.wait(timeout=10) == -9  # ours (same pid and start time) and silent: ended
        status = runs.read_status(run)
        assert status["state"] == "failed" and "not been heard from" in status["error"]
    finally:
        hung.kill()
        hung.wait()


def test_heartbeat_keeps_a_running_run_fresh_and_stops_after_it(tmp_path):
    run = runs.create_run(_cfg(), root=tmp_path)
    runs.write_status(run, state="running", **runs.this_process())
    _running_status(run, updated=1.0)
    with runs.Heartbeat(run, every_s=0.02):
        deadline = time.time() + 5
        while runs.read_status(run)["updated"] == 1.0 and time.time() < deadline:
            time.sleep(0.02)
        assert runs.read_status(run)["updated"] > time.time() - 5
        runs.write_status(run, state="done")
        stamp = runs.read_status(run)["updated"]
        time.sleep(0.1)
    assert runs.read_status(run)["updated"] == stamp  # a finished run is not stamped any more


def test_concurrent_status_writes_keep_every_field(tmp_path):
    import threading

    run = runs.create_run(_cfg(), root=tmp_path)
    errors = []

    def writer(name):
        try:
            for i in range(200):
                runs.write_status(run, **{name: i, f"{name}_{i}": True})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("loop", "watcher")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    status = runs.read_status(run)
    assert status["loop"] == 199 and status["watcher"] == 199
    assert all(status.get(f"{n}_{i}") for n in ("loop", "watcher") for i in range(200))  # no write was lost
    assert status["state"] == "queued" and not list(run.glob(".tmp-*"))


def test_write_status_when_decides_under_the_lock(tmp_path):
    run = runs.create_run(_cfg(), root=tmp_path)
    runs.write_status(run, state="done")
    kept = runs.write_status(run, when=lambda s: s["state"] == "running", state="failed")
    assert kept["state"] == "done" and runs.read_status(run)["state"] == "done"  # the run finished meanwhile
    assert runs.write_status(run, when=lambda s: s["state"] == "done", note=1)["note"] == 1
