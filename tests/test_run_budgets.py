"""The compute budget at Start (steps x batch x rounds) and the per-workspace disk quota for runs."""

from pathlib import Path

import pytest

from genaug_core import budgets, runs
from genaug_core.cli import main
from genaug_core.config import RunConfig
from genaug_core.errors import ConfigError, RunError
from genaug_core.train import jobs

ROOT = Path(__file__).resolve().parents[1]
OWNER = "a" * 32


def _cfg(steps: int, batch: int, rounds: int = 0, name: str = "tiny_text.toml") -> RunConfig:
    cfg = RunConfig.load(ROOT / "configs" / name)
    cfg = cfg.replace(train=cfg.train.replace(steps=steps, batch_size=batch))
    return cfg.replace(self_train=cfg.self_train.replace(rounds=rounds))


def test_compute_budget_counts_steps_batch_and_rounds(monkeypatch):
    monkeypatch.delenv(budgets.RUN_ITEMS_ENV, raising=False)
    assert budgets.max_run_items() == 1_000_000
    assert jobs.run_items(_cfg(100_000, 1024)) == (102_400_000, "100,000 steps x batch 1,024")
    assert jobs.run_items(_cfg(1000, 100, rounds=10))[0] == 1_000_000  # at the budget: allowed
    jobs.check_compute(_cfg(1000, 100, rounds=10))
    with pytest.raises(ConfigError, match=r"1,000,100 items \(10,001 steps x batch 100\).*1,000,000 per run.*"
                                          r"GENAUG_MAX_RUN_ITEMS.*fewer steps"):
        jobs.check_compute(_cfg(10_001, 100))
    with pytest.raises(ConfigError, match=r"x 10 rounds"):
        jobs.check_compute(_cfg(1001, 100, rounds=10))
    auto_items, what = jobs.run_items(_cfg(10, 0))  # batch "auto": the model kind's
    assert auto_items > 0 and auto_items % 10 == 0 and "batch 0" not in what
    monkeypatch.setenv(budgets.RUN_ITEMS_ENV, "50")
    with pytest.raises(ConfigError, match="budget of 50 per run"):
        jobs.check_compute(_cfg(13, 4))


def test_start_and_resume_refuse_over_the_compute_budget_before_making_anything(tmp_path, monkeypatch):
    monkeypatch.setenv(budgets.RUN_ITEMS_ENV, "40")
    with pytest.raises(ConfigError, match=r"44 items \(11 steps x batch 4\)"):
        jobs.start(_cfg(11, 4), root=tmp_path, owner=OWNER)
    assert runs.list_runs(tmp_path) == []  # no folder was made, nothing queued
    run = runs.create_run(_cfg(2, 4), root=tmp_path)
    runs.write_status(run, state="cancelled")
    with pytest.raises(ConfigError, match=r"400 items \(100 steps x batch 4\)"):
        jobs.resume(run, steps=100)
    assert runs.read_status(run)["state"] == "cancelled"


def test_cli_train_refuses_over_the_compute_budget(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(budgets.RUN_ITEMS_ENV, "40")
    code = main(["train", "--config", str(ROOT / "configs" / "tiny_text.toml"), "--steps", "11",
                 "--batch-size", "4", "--run-dir", str(tmp_path / "run")])
    assert code == 2
    assert "GENAUG_MAX_RUN_ITEMS" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def _sparse(path: Path, size: int) -> None:
    """A file of `size` bytes that takes no real disk (a hole)."""
    with open(path, "wb") as fh:
        fh.truncate(size)


def test_disk_quota_per_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv(budgets.WORKSPACE_RUN_BYTES_ENV, str(10_000_000))
    mine = runs.create_run(_cfg(2, 4), root=tmp_path, owner=OWNER)
    other = runs.create_run(_cfg(2, 4), root=tmp_path, owner="b" * 32)
    for run in (mine, other):
        runs.write_status(run, state="done")
    base = jobs.runs_bytes(OWNER, tmp_path)
    assert base == budgets.folder_bytes(mine) > 0
    _sparse(other / "big.bin", 50_000_000)  # another workspace's use does not count against this one
    jobs.check_disk(OWNER, tmp_path)
    _sparse(mine / "big.bin", 10_000_000 - base)  # exactly at the quota: full
    assert jobs.runs_bytes(OWNER, tmp_path) == 10_000_000
    with pytest.raises(RunError, match=r"take 9\.5 MiB of disk, its quota is 9\.5 MiB.*"
                                       r"GENAUG_WORKSPACE_MAX_RUN_BYTES.*delete runs.*Train page"):
        jobs.start(_cfg(2, 4), root=tmp_path, owner=OWNER)
    assert len(runs.list_runs(tmp_path)) == 2  # refused before any folder was made
    runs.write_status(mine, state="cancelled")
    with pytest.raises(RunError, match="quota"):
        jobs.resume(mine)
    jobs.delete(mine)  # deleting a run (the Train page's Delete) frees the space
    jobs.check_disk(OWNER, tmp_path)
    assert jobs.runs_bytes(OWNER, tmp_path) == 0
