"""Memory budgets of text preprocessing, augmented export and previews; the pipeline step cap.

The worst cases of issue 12 run in a child python (a fresh process, so its peak RSS says what the
operation allocated): each is refused with the budget's message and the child's peak RSS does not grow.
The big image datasets are np.zeros arrays: their pages are never touched unless something reads them,
so the child holds no real gigabytes while the estimate sees the full shape.
"""

import dataclasses
import json
import os
import re
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from genaug_core import budgets
from genaug_core.augment import export, preview
from genaug_core.augment.pipeline import Pipeline, default_pipeline
from genaug_core.config import PreprocessConfig
from genaug_core.data import load_builtin
from genaug_core.data import preprocess as pre
from genaug_core.data.containers import TextDataset
from genaug_core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
GROWTH_KIB = 64 * 1024  # "nothing big": the child's peak RSS grows by less than 64 MiB

SHAPES_20K = (  # the built-in shapes set at n = 20,000 and size 128 (RGB), as zero pages
    "from genaug_core.data.containers import ImageDataset\n"
    "ds = ImageDataset(name='shapes', source='test', images=np.zeros((20_000, {size}, {size}, 3), np.uint8))\n"
)
CASES = {
    "resize to 512 RGB": (
        SHAPES_20K.format(size=128),
        "preprocess(ds, PreprocessConfig(image_size=512, channels=3))",
        r"preprocessing \(20,000 images to 512x512x3\) would allocate about",
    ),
    "resize to 512 RGB, L2 norm": (
        SHAPES_20K.format(size=128),
        "preprocess(ds, PreprocessConfig(image_size=512, channels=3, feature_norm='l2'))",
        r"preprocessing \(20,000 images to 512x512x3, l2 norm\) would allocate about",
    ),
    (NAMES := "88,799 last names padded to 100,000 characters"): (
        "ds = load_builtin('names', which='last')\nassert len(ds) > 88_000\n",
        "preprocess(ds, PreprocessConfig(pad_to=100_000))",
        r"preprocessing \(8\d,\d{3} texts, padded to 100,000 characters.*\) would allocate about",
    ),
    "augmented export with 100 copies": (
        SHAPES_20K.format(size=64),
        "augment_copies(ds, default_pipeline('image'), copies=100)",
        r"augmented export \(20,000 items x 100 copies\) would allocate about",
    ),
}


def _children(cases: dict[str, tuple[str, str, int | None]]) -> dict[str, dict]:
    """Run every case (setup, op, budget or None for the default) in one fresh python, one after the other:
    per case its ConfigError message and the process's peak RSS before and after the op."""
    lines = [
        "import json, os, resource",
        "import numpy as np",
        "from genaug_core.augment.export import augment_copies",
        "from genaug_core.augment.pipeline import default_pipeline",
        "from genaug_core.config import PreprocessConfig",
        "from genaug_core.data import load_builtin",
        "from genaug_core.data.preprocess import preprocess",
        "from genaug_core.errors import ConfigError",
        "results = {}",
    ]  # fmt: skip
    for name, (setup, op, budget) in cases.items():
        lines += [
            f"os.environ.pop({budgets.OP_BYTES_ENV!r}, None)",
            *([f"os.environ[{budgets.OP_BYTES_ENV!r}] = {str(budget)!r}"] if budget is not None else []),
            setup,
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux",
            "try:",
            textwrap.indent(op, "    "),
            "    message = None",
            "except ConfigError as exc:",
            "    message = str(exc)",
            "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss",
            f"results[{name!r}] = {{'before': before, 'after': after, 'message': message}}",
            "del ds",
        ]  # fmt: skip
    lines.append("print(json.dumps(results))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", "\n".join(lines)], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _names_need() -> int:
    return pre.text_peak_bytes(load_builtin("names", which="last").texts, PreprocessConfig(pad_to=100_000))


@pytest.fixture(scope="module")
def child_results() -> dict[str, dict]:
    cases = {name: (setup, op, None) for name, (setup, op, _) in CASES.items()}  # the default budget, 1 GiB
    # and a budget one byte below what padding the last names needs (about 9 GB): just over it
    cases["just over"] = (CASES[NAMES][0], CASES[NAMES][1], _names_need() - 1)
    return _children(cases)


@pytest.mark.parametrize("case", list(CASES))
def test_worst_cases_are_refused_without_allocating(case, child_results):
    got = child_results[case]
    assert got["message"] is not None and re.search(CASES[case][2], got["message"]), got["message"]
    assert "GENAUG_MAX_OP_BYTES" in got["message"]
    assert got["after"] - got["before"] < GROWTH_KIB, got


def test_text_padding_just_over_the_budget_is_refused_in_a_child(child_results):
    assert _names_need() > 88_000 * 100_000
    got = child_results["just over"]
    assert got["message"] and "padded to 100,000 characters" in got["message"]
    assert got["after"] - got["before"] < GROWTH_KIB, got


def _traced_peak(fn) -> tuple[object, int]:
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_text_estimate_bounds_what_preprocessing_allocates_and_the_budget_is_exact(monkeypatch):
    ds = TextDataset(name="t", source="test", texts=["ab  c", "", "défg" * 40, "x" * 300] * 50)
    cfg = PreprocessConfig(normalize_whitespace=True, missing="fill", max_chars=100, pad_to=80)
    need = pre.text_peak_bytes(ds.texts, cfg)
    pre.preprocess(ds, cfg)  # once untraced: lazy imports and caches
    out, peak = _traced_peak(lambda: pre.preprocess(ds, cfg))
    assert all(len(t) in (80, 100) for t in out[0].texts) and peak <= need
    monkeypatch.setenv(budgets.OP_BYTES_ENV, str(need))
    pre.preprocess(ds, cfg)  # at the budget: runs
    monkeypatch.setenv(budgets.OP_BYTES_ENV, str(need - 1))
    with pytest.raises(ConfigError, match=r"preprocessing \(200 texts, cut to 100, padded to 80 characters, "
                                          r"whitespace normalised\).*GENAUG_MAX_OP_BYTES"):
        pre.preprocess(ds, cfg)


@pytest.mark.parametrize("fixture", ["tiny_images", "tiny_texts"])
def test_export_estimate_bounds_the_export_and_the_budget_is_exact(fixture, request, monkeypatch):
    ds = request.getfixturevalue(fixture)
    if ds.kind == "image":  # big enough that the items, not the libraries' fixed costs, decide the peak
        ds = dataclasses.replace(ds, images=np.random.default_rng(0).integers(0, 256, (300, 32, 32, 3), np.uint8),
                                 labels=None, class_names=None)
    else:
        ds = dataclasses.replace(ds, texts=ds.texts * 50)
    pipe = default_pipeline(ds.kind)
    need = export.export_bytes(ds, 5)
    fmt = "zip" if ds.kind == "image" else "jsonl"
    run = lambda: export.to_bytes(export.augment_copies(ds, pipe, 5, seed=0), fmt)  # noqa: E731
    run()  # once untraced: the augmenting libraries are imported and their caches built
    data, peak = _traced_peak(run)
    assert len(data) > 0 and peak <= need
    monkeypatch.setenv(budgets.OP_BYTES_ENV, str(need))
    export.augment_copies(ds, pipe, 5, seed=0)
    monkeypatch.setenv(budgets.OP_BYTES_ENV, str(need - 1))
    monkeypatch.setattr(Pipeline, "apply", lambda *a, **k: pytest.fail("augmented before checking the budget"))
    with pytest.raises(ConfigError, match=rf"augmented export \({len(ds):,} items x 5 copies\)"):
        export.augment_copies(ds, pipe, 5, seed=0)


def test_previews_refuse_before_they_augment(tiny_images, tiny_texts, monkeypatch):
    monkeypatch.setenv(budgets.OP_BYTES_ENV, "1000")  # less than any preview of the tiny sets needs
    monkeypatch.setattr(Pipeline, "apply", lambda *a, **k: pytest.fail("augmented before checking the budget"))
    monkeypatch.setattr(Pipeline, "apply_with_params", lambda *a, **k: pytest.fail("augmented first"))
    img, txt = default_pipeline("image"), default_pipeline("text")
    big = np.zeros((16, 512, 512, 3), np.uint8)
    calls = {
        "16 images x 8 variants of 512x512x3": lambda: preview.image_variants(img, big, list(range(16)), 8, 0),
        "64 images of 8x8x1": lambda: preview.dataset_grid(img, tiny_images.images[:12].repeat(6, 0)[:64], 0),
        "ball noise on 12 images": lambda: preview.noise_preview(tiny_images.images, 0.5, "l2", 0),
        "4 texts x 8 variants": lambda: preview.text_variants(txt, tiny_texts.texts[:4], [0, 1, 2, 3], 8, 0),
        "a 2 x 9 grid of 512x512 images": lambda: preview.tile(np.zeros((2, 9, 512, 512, 3), np.uint8)),
    }
    for what, call in calls.items():
        with pytest.raises(ConfigError, match=r"^preview \(" + what.replace("(", r"\(")):
            call()
    monkeypatch.undo()
    grid, drawn = preview.image_variants(img, tiny_images.images[:2], [0, 1], 3, 0)  # default budget: fine
    assert grid.shape == (2, 4, 8, 8, 1) and drawn


def test_pipeline_step_cap(monkeypatch):
    assert budgets.max_pipeline_steps() == 32
    pipe = Pipeline("text")
    for _ in range(32):
        pipe = pipe.add("char_swap")
    assert pipe.full and len(pipe.steps) == 32
    with pytest.raises(ConfigError, match=r"the pipeline has 33 steps, more than the 32.*GENAUG_MAX_PIPELINE_STEPS"):
        pipe.add("char_swap")
    with pytest.raises(ConfigError, match="64 steps"):  # a pipeline JSON from elsewhere is held to it too
        Pipeline.from_dict({**pipe.to_dict(), "steps": pipe.to_dict()["steps"] * 2})
    monkeypatch.setenv(budgets.PIPELINE_STEPS_ENV, "3")
    assert Pipeline("text").add("char_swap").add("char_swap").add("char_swap").full


def _augment_page():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/2_Augment.py")
    return at


def test_augment_page_refuses_an_export_over_budget_before_the_button(monkeypatch):
    at = _augment_page().run()
    at.radio(key="augment.view").set_value("Export").run()
    assert not at.error and any(b.label.startswith("Augmented copy") for b in at.get("download_button"))
    monkeypatch.setenv(budgets.OP_BYTES_ENV, str(2 * 1024**2))  # digits x 100 copies need more than 2 MiB
    at.number_input(key="augment.copies").set_value(100).run()
    assert not at.exception
    shown = [e.value.replace("\\", "") for e in at.error]  # the page escapes Markdown
    assert any("augmented export (1,797 items x 100 copies)" in e and budgets.OP_BYTES_ENV in e for e in shown), shown
    assert not any(b.label.startswith("Augmented copy") for b in at.get("download_button"))


def test_augment_page_disables_add_step_when_the_pipeline_is_full(monkeypatch):
    monkeypatch.setenv(budgets.PIPELINE_STEPS_ENV, "5")  # the default image pipeline has 5 steps
    at = _augment_page().run()
    assert not at.exception and len(at.session_state["genaug.pipeline"]["steps"]) == 5
    assert at.button(key="augment.add").disabled
    at.button(key="augment.clear").click().run()
    assert not at.button(key="augment.add").disabled


def test_sanity_checks_hold_no_float_copy_of_all_images():
    """The image checks' std / mean / thumbnails work a block at a time (data/checks.py CHUNK_BYTES): a float64
    copy of these 19 MiB of images would be 150 MiB."""
    from genaug_core.data.checks import CHUNK_BYTES, run_checks
    from genaug_core.data.containers import ImageDataset

    images = np.random.default_rng(0).integers(0, 256, (100, 256, 256, 3), np.uint8)
    ds = ImageDataset(name="big", source="test", images=images)
    run_checks(ImageDataset(name="warm", source="test", images=images[:2]))  # lazy imports, caches
    report, peak = _traced_peak(lambda: run_checks(ds))
    assert report and peak < 2 * CHUNK_BYTES < images.nbytes * 8
