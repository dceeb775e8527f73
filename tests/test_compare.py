"""Comparing runs and planning ablations: pure functions over configs and hand-made run folders (no training)."""

import json

import numpy as np
import pytest

from genaug_core import ablation, compare, runs
from genaug_core.config import DataConfig, RunConfig
from genaug_core.data import load_dataset
from genaug_core.errors import ConfigError
from genaug_core.evaluate import read_evaluation, read_evaluation_details

PIPELINE = {"kind": "image", "steps": [{"name": "hflip", "params": {}}]}


# ---------------------------------------------------------------- differing_settings


def test_differing_settings_names_the_dotted_keys_that_differ():
    a = RunConfig()
    b = a.replace(regularization=a.regularization.replace(penalty="l2", penalty_lambda=1e-4))
    c = a.replace(regularization=a.regularization.replace(penalty="l2", penalty_lambda=1e-3))
    assert compare.differing_settings([a, b, c]) == {"regularization.penalty", "regularization.penalty_lambda"}
    assert compare.differing_settings([b, c]) == {"regularization.penalty_lambda"}


def test_differing_settings_ignores_name_group_threads_and_needs_two_configs():
    a = RunConfig(name="one", group="g1")
    b = a.replace(name="two", group="g2", train=a.train.replace(threads=3))
    assert compare.differing_settings([a, b]) == set()
    assert compare.differing_settings([a]) == set()
    assert compare.differing_settings([a.to_dict(), None, b.to_dict()]) == set()  # None = unreadable config


def test_differing_settings_handles_nested_tables_missing_keys_and_lists():
    a = RunConfig(data=DataConfig(source="shapes", params={"n": 100}))
    b = RunConfig(data=DataConfig(source="shapes"))
    c = a.replace(model=a.model.replace(image=a.model.image.replace(channels=(8, 16))))
    assert compare.differing_settings([a, b]) == {"data.params.n"}
    assert compare.differing_settings([a, c]) == {"model.image.channels"}
    assert compare.differing_settings([{"x": {"y": 1}}, {"x": {"y": 1, "z": 2}}]) == {"x.z"}


# ---------------------------------------------------------------- ablation_configs


def test_penalty_ablation_varies_only_lambda_and_shares_a_group():
    base = RunConfig(data=DataConfig(source="digits"))
    cfgs = ablation.ablation_configs(base, "penalty", (0, 1e-4, 1e-3), max_train_items=100)
    assert len(cfgs) == 3 and len({c.group for c in cfgs}) == 1 and cfgs[0].group.startswith("ablation-penalty-")
    assert [c.regularization.penalty_lambda for c in cfgs] == [0.0, 1e-4, 1e-3]
    assert [c.regularization.penalty for c in cfgs] == ["none", "l2", "l2"]
    assert all(c.data.max_train_items == 100 for c in cfgs)
    assert compare.differing_settings(cfgs) == {"regularization.penalty", "regularization.penalty_lambda"}
    assert len({c.name for c in cfgs}) == 3


def test_augmentation_ablation_is_on_vs_off_and_needs_a_pipeline():
    base = RunConfig(augment=RunConfig().augment.replace(pipeline=PIPELINE, p=0.7))
    off, on = ablation.ablation_configs(base, "augmentation")
    assert (off.augment.p, on.augment.p) == (0.0, 0.7)
    assert off.augment.pipeline == on.augment.pipeline == PIPELINE
    assert "off" in off.name and "on" in on.name
    with pytest.raises(ConfigError, match="pipeline"):
        ablation.ablation_configs(RunConfig(), "augmentation")


def test_noise_ablation_defaults_by_data_kind_and_l1_penalty_is_kept():
    text = ablation.ablation_configs(RunConfig(), "noise", data_kind="text")
    assert [c.regularization.noise_eps for c in text] == list(ablation.DEFAULT_NOISE["text"])
    assert all(c.regularization.neftune and c.regularization.noise_norm == "linf" for c in text)
    images = ablation.ablation_configs(RunConfig(), "noise", data_kind="image")
    assert not any(c.regularization.neftune for c in images)
    l1 = RunConfig().replace(regularization=RunConfig().regularization.replace(penalty="l1"))
    assert {c.regularization.penalty for c in ablation.ablation_configs(l1, "penalty")} == {"none", "l1"}


@pytest.mark.parametrize(
    ("kind", "values", "match"),
    [("dropout", None, "not known"), ("penalty", (1e-4,), "2 to 5"), ("penalty", (0, 1, 2, 3, 4, 5), "2 to 5"),
     ("penalty", (1e-4, 1e-4), "must differ"), ("penalty", (0, 2.0), "penalty_lambda")],
)
def test_ablation_rejects_bad_requests(kind, values, match):
    with pytest.raises(ConfigError, match=match):
        ablation.ablation_configs(RunConfig(), kind, values)


def test_train_size_choices():
    sizes = ablation.train_size_choices(1618)
    assert list(sizes.values()) == [161, 100, 300, 0]
    assert list(ablation.train_size_choices(150).values()) == [15, 100, 0]


# ---------------------------------------------------------------- a reduced training set


def test_max_train_items_cuts_the_training_part_only():
    full = load_dataset(DataConfig(source="digits"))
    small = load_dataset(DataConfig(source="digits", max_train_items=100))
    assert len(small.split.train) == 100 and set(small.split.train) <= set(full.split.train)
    np.testing.assert_array_equal(small.split.validation, full.split.validation)
    np.testing.assert_array_equal(small.split.train, load_dataset(DataConfig(source="digits", max_train_items=100)).split.train)
    with pytest.raises(ConfigError, match="max_train_items"):
        DataConfig(max_train_items=-1)


# ---------------------------------------------------------------- tables and reports from run folders


def _fake_run(root, name, kind="text", lam=0.0, evaluation=None, samples=None):
    cfg = RunConfig(name=name, data=DataConfig(source="names" if kind == "text" else "digits"), group="g")
    cfg = cfg.replace(regularization=cfg.regularization.replace(penalty="l2" if lam else "none", penalty_lambda=lam))
    run_dir = runs.create_run(cfg, root=root)
    runs.write_status(run_dir, state="done", step=10, kind=kind)
    for step, loss in ((0, 3.0), (10, 2.0)):
        runs.append_metrics(run_dir, {"step": step, "split": "val", "loss": loss, "bpc": loss * 1.4})
    if evaluation is not None:
        runs.write_json_atomic(run_dir / "evaluation.json", {"step": 10, "checkpoint": "final", "kind": kind, **evaluation})
    if samples is not None:
        (run_dir / runs.SAMPLES_DIR).mkdir()
        runs.write_text_samples(run_dir / runs.SAMPLES_DIR / "step-10.txt", samples)
    return run_dir


def test_rows_csv_and_html_report_from_run_folders(tmp_path):
    a = _fake_run(tmp_path, "plain", evaluation={"val_bpc": 2.5, "novelty": 0.9}, samples=["anna", "=cmd()"])
    runs.write_json_atomic(a / "evaluation-details.json", {"kind": "text", "pairs": [
        {"sample": "anna", "nearest": "anna", "distance": 0.0}, {"sample": "<b>x</b>", "nearest": "bob", "distance": 0.7}]})
    _fake_run(tmp_path, "=HYPERLINK(\"http://x\")", lam=1e-4, evaluation={"val_bpc": 2.4, "novelty": -0.5})
    (tmp_path / "20260101-000000-aaaaaa").mkdir()  # broken: an empty folder named like a run
    summaries = compare.summarize_runs(runs.list_runs(tmp_path))
    assert {s.state for s in summaries} == {"done", "broken"}
    rows, settings = compare.comparison_rows(summaries)
    assert "regularization.penalty_lambda" in settings and "data.max_train_items" in settings
    by_name = {r["name"]: r for r in rows}
    assert by_name["plain"]["val_bpc"] == 2.5 and by_name["plain"]["regularization.penalty_lambda"] == 0.0
    assert next(r for r in rows if r["state"] == "broken")["problem"]

    text = compare.comparison_csv(summaries).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'-0.5" in text and "\n=" not in text and ",=" not in text

    html = compare.html_report(summaries)
    assert html.startswith("<!DOCTYPE html>") and "</html>" in html
    assert "Plotly.newPlot" in html and "cdn.plot.ly" not in html.split("Plotly.newPlot")[0][-2000:]
    assert '<script src="http' not in html  # plotly.js is inline: the file works offline
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html  # sample text is escaped
    assert "=cmd()" in html and 'class="diff"' in html


def test_image_details_round_trip_and_damaged_files_read_as_none(tmp_path):
    run_dir = _fake_run(tmp_path, "img", kind="image", evaluation={"fd": 3.0})
    rng = np.random.default_rng(0)
    samples, nearest = (rng.integers(0, 256, (3, 8, 8, 1), dtype=np.uint8) for _ in range(2))
    np.savez(run_dir / "evaluation-samples.npz", samples=samples, nearest=nearest)
    runs.write_json_atomic(run_dir / "evaluation-details.json",
                           {"kind": "image", "distance": [0.1, 0.3, 0.2], "memorised": [True, False, False]})
    details = read_evaluation_details(run_dir)
    np.testing.assert_array_equal(details["samples"], samples)
    summary = compare.summarize(runs.inspect_run(run_dir))
    assert summary.evaluation["fd"] == 3.0 and summary.kind == "image"
    assert compare.html_report([summary]).count("<img") >= 3
    (run_dir / "evaluation-samples.npz").write_bytes(b"PK\x03\x04 not a zip")
    assert read_evaluation_details(run_dir) is None
    (run_dir / "evaluation.json").write_text("{half")
    assert read_evaluation(run_dir) is None
    assert "not scored" in compare.html_report([compare.summarize(runs.inspect_run(run_dir))])


def test_read_evaluation_falls_back_to_the_newest_checkpoint_scoring(tmp_path):
    run_dir = _fake_run(tmp_path, "cancelled")
    for step in (2, 10):
        runs.write_json_atomic(run_dir / f"evaluation-{step}.json", {"step": step})
    assert read_evaluation(run_dir) == {"step": 10}
    assert read_evaluation(run_dir, 2) == {"step": 2}
    runs.write_json_atomic(run_dir / "evaluation.json", {"step": "final"})
    assert read_evaluation(run_dir)["step"] == "final"
    assert json.loads((run_dir / "evaluation-2.json").read_text()) == {"step": 2}
