"""A training process shares the cores with other work (train/cores.py), and trains fast alone."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from genaug_core import runs
from genaug_core.config import RunConfig
from genaug_core.train import cores
from genaug_core.train.cores import CoreShare, threads_for
from genaug_core.train.loop import build_optimizer, train

BUSY = [sys.executable, "-c", "while True: pass"]  # one core kept busy by another process


@pytest.mark.parametrize(
    "n, others, want",
    [(2, 0.0, 2), (2, 0.4, 2), (2, 0.6, 1), (2, 1.0, 1), (2, 2.0, 1), (2, 5.0, 1), (4, 1.2, 3), (1, 0.0, 1)],
)
def test_threads_are_the_cores_others_leave_at_least_one(n, others, want):
    assert threads_for(n, others) == want


def quiet_text_config(steps: int, threads: int) -> RunConfig:
    """A tiny names run with no evaluation, samples or checkpoints: only training steps."""
    train = {"steps": steps, "batch_size": 4, "eval_every": 0, "num_samples": 0, "checkpoint_every": 0}
    return RunConfig.from_dict(
        {
            "data": {"source": "names", "params": {"max_items": 200}},
            "model": {"text": {"preset": "tiny"}},
            "train": {**train, "eval_samples": 0, "threads": threads, "device": "cpu"},
        }
    )


@pytest.fixture
def busy_process():
    proc = subprocess.Popen(BUSY)
    yield proc
    proc.kill()
    proc.wait()


def test_another_busy_process_takes_a_core(busy_process):
    share = CoreShare(cores=2, interval_s=0.8)
    assert share.threads() is None  # not before an interval has passed
    time.sleep(1.0)
    assert share.threads() == 1
    assert share.others >= 0.6  # the other process's core (rounded, it is 1)


def test_own_work_is_not_counted_as_others():
    share = CoreShare(cores=2, interval_s=0.8)
    t = time.monotonic()
    while time.monotonic() - t < 1.0:  # this process keeps one core busy itself
        pass
    assert share.threads() is not None
    assert share.others < 0.9  # without subtracting our own time this would be >= 1


def test_a_run_drops_to_one_thread_when_the_machine_is_busy(tmp_path, monkeypatch, busy_process):
    monkeypatch.setattr(cores, "INTERVAL_S", 0.3)  # re-measure every 0.3 s, not 2 s
    before = torch.get_num_threads()
    cfg = quiet_text_config(steps=400, threads=0)
    run = runs.create_run(cfg, run_dir=tmp_path / "run")
    try:
        assert train(cfg, run, progress=False) == "done"
        n = len(os.sched_getaffinity(0))  # 2 here and in CI: the busy process leaves one
        assert runs.read_status(run)["threads"] == max(1, n - 1)
        if n == 2:
            assert "1 torch thread(s); other work keeps" in (run / runs.LOG_FILE).read_text()
    finally:
        torch.set_num_threads(before)


def test_explicit_threads_are_kept(tmp_path):
    cfg = quiet_text_config(steps=2, threads=1)
    run = runs.create_run(cfg, run_dir=tmp_path / "run")
    train(cfg, run, progress=False)
    assert runs.read_status(run)["threads"] == 1


def test_the_optimizer_is_fused_adamw_with_two_groups():
    from genaug_core.config import TrainConfig

    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
    opt = build_optimizer(model, TrainConfig(weight_decay=0.1), torch.device("cpu"))
    assert isinstance(opt, torch.optim.AdamW) and opt.defaults["fused"]
    decay, rest = opt.param_groups
    assert [p.shape for p in decay["params"]] == [(4, 4)] and decay["weight_decay"] == 0.1
    assert rest["weight_decay"] == 0.0 and len(rest["params"]) == 3  # bias, LayerNorm weight and bias


def test_text_training_uses_plain_attention_on_cpu_and_saves_sdpa(tmp_path):
    from genaug_core.config import TextModelConfig
    from genaug_core.models.text import build_char_tokenizer, build_text_model, use_training_attention

    model = build_text_model(TextModelConfig(preset="tiny"), build_char_tokenizer(["abc"]))
    use_training_attention(model, torch.device("cpu"))
    assert model.config._attn_implementation == "eager"
    model.save_pretrained(tmp_path)
    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(tmp_path).config._attn_implementation == "sdpa"


def test_only_the_app_process_sets_the_passive_wait_policy():
    """PASSIVE where streamlit is loaded (the app), OpenMP's default in a training process or the CLI."""
    import genaug_core

    code = "import os, {mods}; print(os.environ.get('OMP_WAIT_POLICY'))"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    root = str(Path(genaug_core.__file__).parents[1])

    def policy(mods: str) -> str:
        out = subprocess.run([sys.executable, "-c", code.format(mods=mods)], env=env, cwd=root, capture_output=True)
        return out.stdout.decode().strip()

    assert policy("genaug_core") == "None"
    assert policy("streamlit, genaug_core") == "PASSIVE"


def test_training_children_do_not_inherit_the_apps_policy(monkeypatch):
    from genaug_core.train import jobs

    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    env = jobs.child_env("/somewhere")
    assert "OMP_WAIT_POLICY" not in env and env["PYTHONPATH"].split(os.pathsep)[0] == "/somewhere"
