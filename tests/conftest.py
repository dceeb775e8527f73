"""Shared test setup: offline defaults, a private runs folder, tiny datasets."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(autouse=True)
def _runs_dir(tmp_path_factory, monkeypatch):
    """Every test writes runs into its own temporary folder, never ./runs."""
    monkeypatch.setenv("GENAUG_RUNS_DIR", str(tmp_path_factory.mktemp("runs")))


@pytest.fixture(autouse=True)
def _no_leftover_training():
    """A test that launched training children (a page button, the job runner) leaves none running.

    Leftover children would slow every later test down on a 2-core machine.
    SIGTERM is the loop's cancel signal; what ignores it for 10 s is killed.
    """
    yield
    import psutil

    children = [
        c for c in psutil.Process().children(recursive=True)
        if _is_training_child(c)
    ]
    for c in children:
        c.terminate()
    _, alive = psutil.wait_procs(children, timeout=10)
    for c in alive:
        c.kill()


def _is_training_child(proc) -> bool:
    try:
        cmd = proc.cmdline()
    except Exception:  # noqa: BLE001 - it ended meanwhile, or is not ours to read
        return False
    return "genaug_core" in cmd and "train" in cmd


@pytest.fixture
def tiny_images():
    """12 seeded 8x8 grayscale images in 3 classes."""
    from genaug_core.data import ImageDataset

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 8, 8, 1), dtype=np.uint8)
    return ImageDataset(name="tiny", source="test", images=images, labels=np.arange(12) % 3, class_names=["a", "b", "c"])


@pytest.fixture
def tiny_texts():
    from genaug_core.data import TextDataset

    lines = [
        "the cat sat on the mat", "a dog ran in the park", "birds sing at dawn", "rain falls on the roof",
        "the sun is warm today", "we read books at night", "fish swim in the sea", "snow covers the hills",
        "a child laughs loudly", "trains run on time", "leaves turn red in autumn", "bees make sweet honey",
        "the moon rises slowly", "wind moves the tall grass", "coffee smells good early", "stars fill the sky",
        "an old man walks home", "bread bakes in the oven", "rivers flow to the sea", "the clock ticks softly",
    ]
    return TextDataset(name="tiny-text", source="test", texts=lines)
