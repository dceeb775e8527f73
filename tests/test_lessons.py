"""Lessons: every spec is valid and builds valid runs; verdicts computed from run folders (constructed ones
for the logic, real quick runs end to end); the CLI; the Lessons page."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from genaug_core import lessons, runs
from genaug_core.config import RunConfig, read_run_config
from genaug_core.errors import ConfigError, RegistryError
from genaug_core.lessons import LESSONS, Compare, InteriorOptimum, check_claim, get_lesson, plan_runs, verdict_for
from genaug_core.lessons.plan import lesson_info, new_group_id
from genaug_core.lessons.spec import Lesson, Setting, Sizes
from genaug_core.lessons.store import write_lesson_file
from genaug_core.lessons.verdict import Stat, run_metrics
from genaug_core.train import jobs

ROOT = Path(__file__).resolve().parents[1]
JSON_FIELDS = {"lesson", "claim", "held", "seeds", "runs", "summary", "reason", "comparisons"}


def _lesson_params():
    return list(LESSONS.names())


# --- specs -----------------------------------------------------------------------------------------------


def test_the_lessons_are_registered():
    assert {"text-augmentation", "image-augmentation", "l1-l2", "collapse", "temperature"} <= set(LESSONS.names())
    with pytest.raises(RegistryError, match="unknown lesson 'nope'; known: collapse, image-augmentation"):
        get_lesson("nope")


@pytest.mark.parametrize("lesson_id", LESSONS.names())
def test_every_spec_is_complete(lesson_id):
    lesson = get_lesson(lesson_id)
    assert lesson.id == lesson_id and lesson.title and lesson.published and lesson.reference and lesson.claim_text
    assert isinstance(lesson.base(), RunConfig)
    assert lesson.seeds == 3 and lesson.quick_seeds == 1
    assert lesson.quick.steps < lesson.full.steps
    for item in lesson.claim:  # every row a claim names is a setting or a derived row
        assert set(item.rows) <= set(lesson.rows)
        assert item.metric in lesson.report_metrics


@pytest.mark.parametrize("lesson_id", _lesson_params())
def test_every_lesson_builds_valid_run_configs(lesson_id):
    from genaug_core.augment.pipeline import Pipeline

    lesson = get_lesson(lesson_id)
    for quick in (False, True):
        planned = plan_runs(lesson, quick=quick, seeds=2, group="lesson-test")
        sizes = lesson.quick if quick else lesson.full
        assert [(p.setting, p.seed) for p in planned] == [(s.name, k) for s in lesson.settings for k in (0, 1)]
        for p in planned:
            cfg = p.config
            assert cfg.group == "lesson-test" and lesson_id in cfg.name and p.setting in cfg.name
            assert cfg.train.steps == sizes.steps and cfg.data.max_train_items == sizes.max_train_items
            assert cfg.self_train.rounds == sizes.rounds
            if cfg.augment.pipeline:
                Pipeline.from_dict(cfg.augment.pipeline)  # a valid pipeline of the data's kind
        seeds = [p.config.train.seed for p in planned if p.setting == lesson.settings[0].name]
        assert seeds[1] == seeds[0] + 1


def test_image_lesson_arms_differ_only_in_augmentation():
    lesson = get_lesson("image-augmentation")
    plain, nonleaking = lesson.setting("plain").overrides["augment"], lesson.setting("non-leaking").overrides["augment"]
    assert plain["non_leaking"] is False and nonleaking["non_leaking"] is True
    assert plain["pipeline"] == nonleaking["pipeline"] and plain["p"] == nonleaking["p"]
    from genaug_core.augment.pipeline import Pipeline

    assert Pipeline.from_dict(plain["pipeline"]).to_dict() == plain["pipeline"]  # written out in full


def test_self_training_lessons_are_the_presets():
    from genaug_core.config import merge_settings

    files = {("collapse", "replace"): "selftrain_names_replace.toml",
             ("collapse", "accumulate"): "selftrain_names_accumulate.toml",
             ("temperature", "temperature 0.6"): "selftrain_names_lowtemp.toml",
             ("temperature", "temperature 1.0"): "selftrain_names_replace.toml"}
    for (lesson_id, setting), file in files.items():
        lesson = get_lesson(lesson_id)
        ours = merge_settings(lesson.base().to_dict(), lesson.setting(setting).overrides)
        preset = RunConfig.load(ROOT / "configs" / file).to_dict()
        for section in ("data", "model", "train", "self_train"):
            assert ours[section] == preset[section], (lesson_id, setting, section)


def test_bad_specs_and_inputs_raise_config_errors():
    lesson = get_lesson("collapse")
    fields = {k: getattr(lesson, k) for k in ("title", "published", "reference", "claim_text", "base", "settings",
                                               "metrics", "full", "quick")}
    with pytest.raises(ConfigError, match="names unknown row"):
        Lesson(id="x", claim=(Compare("val_bpc", "lower", a="nope", b="replace"),), **fields)
    with pytest.raises(ConfigError, match="a sweep needs at least 3"):
        Lesson(id="x", claim=(InteriorOptimum("val_bpc", "lower", sweep=("replace", "accumulate")),), **fields)
    with pytest.raises(ConfigError, match="better = 'smaller' is not allowed"):
        Lesson(id="x", claim=(Compare("val_bpc", "smaller", a="replace", b="accumulate"),), **fields)
    with pytest.raises(ConfigError, match="kebab-case"):
        Lesson(id="Bad Id", claim=lesson.claim, **fields)
    with pytest.raises(ConfigError, match="steps = 0 is out of range"):
        Sizes(steps=0, max_train_items=0, eval_samples=0)
    with pytest.raises(ConfigError, match="seeds = 11 is out of range; allowed: 1 to 10"):
        plan_runs(lesson, seeds=11)
    with pytest.raises(ConfigError, match="dataset 'cats' is not offered"):
        plan_runs(lesson, dataset="cats")
    with pytest.raises(ConfigError, match="setting 'bad'"):
        bad = Lesson(id="x", claim=lesson.claim, **{**fields, "settings": (
            *lesson.settings, Setting("bad", {"train": {"stepz": 1}}))})
        plan_runs(bad)


# --- the claim on constructed numbers ----------------------------------------------------------------------


def _stats(**rows):
    return {name.replace("_", " "): {"val_loss": Stat.of(values)} for name, values in rows.items()}


def test_interior_optimum_true_and_false():
    sweep = InteriorOptimum("val_loss", "lower", sweep=("off", "weak", "mid", "strong"))
    held = check_claim(sweep, _stats(off=[5.5, 5.4], weak=[4.9, 5.0], mid=[2.7, 2.8], strong=[3.1, 3.2]))
    assert held["held"] and held["best"] == "mid"
    assert held["text"].startswith("mid 2.75 ± 0.071 beats both ends of the sweep on val_loss, off 5.45 ± 0.071")
    monotone = check_claim(sweep, _stats(off=[5.5], weak=[4.9], mid=[2.7], strong=[2.4]))
    assert not monotone["held"] and monotone["best"] == "mid"
    assert "no interior optimum on val_loss: the best interior setting, mid 2.70 (1 seed), does not beat" in monotone["text"]
    higher = InteriorOptimum("recall", "higher", sweep=("a", "b", "c"))
    stats = {r: {"recall": Stat.of([v])} for r, v in {"a": 0.2, "b": 0.5, "c": 0.3}.items()}
    assert check_claim(higher, stats)["held"]


def test_compare_against_a_row_the_best_of_several_and_a_number():
    stats = _stats(a=[2.4, 2.5], b=[2.5, 2.6], c=[3.0, 3.1])
    assert check_claim(Compare("val_loss", "lower", a="a", b="c"), stats)["held"]
    best = check_claim(Compare("val_loss", "lower", a=("b", "a"), b="c", a_label="the best"), stats)
    assert best["held"] and best["a"] == "a" and best["text"].startswith("the best, a, 2.45 ± 0.071 < c 3.05")
    close = check_claim(Compare("val_loss", "lower", a="a", b="b"), stats)
    assert close["held"] and not close["clear"] and close["text"].endswith("(within the seeds' spread)")
    rises = check_claim(Compare("val_loss", "higher", a="a", b=3.0), stats)
    assert not rises["held"] and rises["text"] == "a 2.45 ± 0.071 is not > 3.00 on val_loss"
    missing = check_claim(Compare("val_loss", "lower", a="a", b="zzz"), stats)
    assert not missing["held"] and not missing["measured"] and missing["text"].startswith("not measured: zzz has no")


# --- verdicts computed from (constructed) run folders --------------------------------------------------------


def _fake_launch(lesson_id, numbers, seeds=2, state="done", val_records=None):
    """Run folders of a lesson launch with hand-made evaluation.json files: numbers[setting] = one dict a seed."""
    lesson = get_lesson(lesson_id)
    group = new_group_id(lesson_id)
    dirs = []
    for p in plan_runs(lesson, quick=True, seeds=seeds, group=group):
        d = runs.create_run(p.config)
        write_lesson_file(d, lesson_info(lesson, p, quick=True, seeds=seeds, dataset=None))
        if state == "running":
            runs.write_status(d, state="running", pid=os.getpid(), host=socket.gethostname())
        else:
            runs.write_status(d, state=state, step=p.config.train.steps)
        if p.setting in numbers and state == "done":
            runs.write_json_atomic(d / "evaluation.json", {"checkpoint": "final", "kind": "text",
                                                          **numbers[p.setting][p.seed]})
        for rec in (val_records or {}).get(p.setting, []):
            runs.append_metrics(d, {"split": "val", **rec})
        dirs.append(d)
    return group, dirs


TEXT_FALSE = {  # character edits made it worse: the claim must not hold
    "names: none": [{"val_bpc": 3.0, "memorised_share": 0.30}, {"val_bpc": 3.2, "memorised_share": 0.34}],
    "names: char edits": [{"val_bpc": 3.5, "memorised_share": 0.10}, {"val_bpc": 3.7, "memorised_share": 0.12}],
    "prose: none": [{"val_bpc": 4.0}, {"val_bpc": 4.1}],
    "prose: synonyms": [{"val_bpc": 4.2}, {"val_bpc": 4.3}],
}


def test_a_false_claim_reports_did_not_hold_with_the_reason():
    _, dirs = _fake_launch("text-augmentation", TEXT_FALSE)
    v = verdict_for("text-augmentation", dirs)
    assert v.held is False and v.complete
    assert v.reason.startswith("names: char edits 3.60 ± 0.141 is not < names: none 3.10 ± 0.141 on val_bpc; ")
    assert "names: char edits 0.110 ± 0.014 < names: none 0.320 ± 0.028 on memorised_share" in v.reason
    assert [c["held"] for c in v.comparisons] == [False, True]
    d = json.loads(json.dumps(v.to_dict()))
    assert JSON_FIELDS <= set(d) and d["held"] is False and d["seeds"] == 2
    assert d["summary"]["val_bpc"]["names: none"] == pytest.approx([3.1, 0.1414], abs=1e-3)
    assert {r["setting"] for r in d["runs"]} == set(TEXT_FALSE) and all(r["metrics"] for r in d["runs"])
    assert {"name", "setting", "seed", "metrics", "run_dir"} <= set(d["runs"][0])


def test_a_true_claim_holds_and_a_missing_run_is_reported():
    numbers = {**TEXT_FALSE, "names: char edits": [{"val_bpc": 2.5, "memorised_share": 0.1}] * 2}
    _, dirs = _fake_launch("text-augmentation", numbers)
    assert verdict_for("text-augmentation", dirs).held
    runs.write_status(dirs[2], state="failed", error="out of memory")  # names: char edits, seed 0
    v = verdict_for("text-augmentation", dirs)
    assert v.held and not v.complete and v.counts["names: char edits"] == 1
    assert any("failed: out of memory" in m for m in v.missing) and v.reason.endswith("1 of 8 runs have no numbers")
    for d in dirs[2:4]:
        runs.write_status(d, state="cancelled")
    v = verdict_for("text-augmentation", dirs)
    assert not v.held and v.reason.startswith("not measured: names: char edits has no val_bpc")


def test_early_stopping_row_comes_from_the_validation_records():
    lesson = get_lesson("l1-l2")
    numbers = {s.name: [{"val_loss": 2.6}] for s in lesson.settings}
    numbers["none"] = [{"val_loss": 5.5}]
    numbers["L2 λ=0.1"] = [{"val_loss": 2.4}]
    numbers["NEFTune α=15"] = [{"val_loss": 2.5}]
    val = {"none": [{"step": 0, "loss": 3.4, "bpc": 4.9}, {"step": 50, "loss": 2.3, "bpc": 3.3},
                    {"step": 100, "loss": 5.5, "bpc": 7.9}]}
    _, dirs = _fake_launch("l1-l2", numbers, seeds=1, val_records=val)
    assert run_metrics(dirs[0])["best_val_loss"] == 2.3 and run_metrics(dirs[0])["best_val_step"] == 50
    v = verdict_for("l1-l2", dirs)
    assert v.summary["val_loss"]["none (early stopped)"] == [2.3, 0.0]
    assert [c["held"] for c in v.comparisons] == [True, True, False]
    assert "the best regularised setting, L2 λ=0.1, 2.40 (1 seed) is not < none (early stopped) 2.30" in v.reason


def test_self_training_metrics_come_from_the_round_records(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    for k, bpc, d4 in ((1, 2.9, 0.8), (2, 3.1, 0.7), (3, 3.4, 0.6)):
        runs.append_metrics(d, {"step": k * 10, "split": "round", "round": k, "val_bpc": bpc, "distinct_4": d4})
    m = run_metrics(d)
    assert m["val_bpc_round1"] == 2.9 and m["val_bpc_last"] == 3.4 and m["val_bpc_change"] == pytest.approx(0.5)
    assert m["distinct_4_change"] == pytest.approx(-0.2) and m["rounds"] == 3


def test_background_launch_finds_its_runs_and_cancel_stops_them(monkeypatch):
    monkeypatch.setattr(jobs, "tick", lambda root=None: [])  # nothing launches: the runs stay queued
    launch = lessons.start_lesson("collapse", quick=True, seeds=2)
    assert len(launch.run_dirs) == 4 and launch.group.startswith("lesson-collapse-")
    assert [la.group for la in lessons.launches("collapse")] == [launch.group]
    assert lessons.lesson_progress(launch.run_dirs).done is False
    info = lessons.read_lesson_file(launch.run_dirs[1])
    assert info["lesson"] == "collapse" and info["setting"] == "replace" and info["seed"] == 1
    assert read_run_config(launch.run_dirs[1]).group == launch.group
    assert lessons.cancel_lesson(launch.group) == 4
    assert lessons.lesson_progress(launch.run_dirs).done
    v = verdict_for("collapse", launch.run_dirs)
    assert not v.held and len(v.missing) == 4 and v.reason.startswith("not measured: replace has no val_bpc_change")


# --- real quick runs, the CLI --------------------------------------------------------------------------------


def _cli(*args, runs_dir=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if runs_dir is not None:
        env["GENAUG_RUNS_DIR"] = str(runs_dir)
    return subprocess.run([sys.executable, "-m", "genaug_core", "lesson", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=600)


@pytest.mark.slow
def test_importing_the_lessons_and_their_page_panels_loads_no_torch():
    code = "import sys, genaug_core.lessons, genaug_core.commands.lesson, ui.lessons; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr


def test_cli_lesson_list_parses():
    out = _cli("list")
    assert out.returncode == 0 and all(i in out.stdout for i in LESSONS.names())
    listed = json.loads(_cli("list", "--json").stdout)
    assert [x["id"] for x in listed] == LESSONS.names() and all(x["claim"] and x["settings"] for x in listed)


def test_cli_bad_input_exits_2_with_one_line():
    out = _cli("run", "nope", "--quick")
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert out.stderr.startswith("error: unknown lesson 'nope'; known: collapse, image-augmentation, l1-l2")
    out = _cli("run", "collapse", "--seeds", "11")
    assert out.returncode == 2 and out.stderr == "error: seeds = 11 is out of range; allowed: 1 to 10\n"


@pytest.mark.slow
def test_cli_runs_the_text_lesson_quick_end_to_end_as_json(tmp_path):
    out = _cli("run", "text-augmentation", "--quick", "--json", runs_dir=tmp_path / "runs")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)  # stdout is exactly the JSON: the training logs went to each run's log.txt
    assert JSON_FIELDS <= set(d) and d["lesson"] == "text-augmentation" and d["seeds"] == 1
    assert isinstance(d["held"], bool) and d["complete"] and len(d["runs"]) == 4
    for r in d["runs"]:
        assert Path(r["run_dir"]).parent == tmp_path / "runs" and r["state"] == "done"
        assert {"val_bpc", "memorised_share"} <= set(r["metrics"])
        assert json.loads((Path(r["run_dir"]) / "lesson.json").read_text())["setting"] == r["setting"]
    assert set(d["summary"]["val_bpc"]) == {"names: none", "names: char edits", "prose: none", "prose: synonyms"}
    assert len(d["comparisons"]) == 2 and d["reason"]


@pytest.mark.slow
def test_run_lesson_self_training_quick_in_process(tmp_path):
    seen = []
    v = lessons.run_lesson("collapse", quick=True, root=tmp_path, progress=lambda i, n, msg: seen.append((i, n)))
    assert seen[0] == (0, 2) and seen[-1] == (2, 2)
    assert v.complete and {r.setting for r in v.runs} == {"replace", "accumulate"}
    assert all("val_bpc_change" in r.metrics for r in v.runs) and len(v.comparisons) == 2
    assert "val_bpc_change" in v.reason
    text = lessons.verdict_text(v)
    assert "per seed:" in text and "mean ± std over seeds" in text and "wall time:" in text


@pytest.mark.slow
def test_run_lesson_image_quick_in_process(tmp_path):
    v = lessons.run_lesson("image-augmentation", quick=True, root=tmp_path)
    assert v.complete and all("fd" in r.metrics and "recall" in r.metrics for r in v.runs)
    assert len(v.comparisons) == 4


# --- the page ------------------------------------------------------------------------------------------------


def _page(monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr(jobs, "tick", lambda root=None: [])  # the page never launches a child in these tests
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/7_Lessons.py")
    return at


def test_page_shows_the_verdict_of_a_finished_launch_as_plain_text(monkeypatch):
    numbers = {**TEXT_FALSE, "names: none": [{"val_bpc": 3.0, "memorised_share": 0.3}, {"val_bpc": 3.2,
                                                                                        "memorised_share": 0.3}]}
    _fake_launch("text-augmentation", numbers)
    at = _page(monkeypatch).run()
    assert not at.exception
    assert any("did not hold" in e.value for e in at.error)
    texts = [t.value for t in at.text]
    assert any(t.startswith("failed: names: char edits 3.60 ± 0.141 is not < names: none") for t in texts)
    assert len(at.dataframe) >= 3  # settings, mean ± std, per seed


def test_page_runs_a_lesson_in_the_background_and_cancels_it(monkeypatch):
    at = _page(monkeypatch).run()
    at.selectbox(key="lessons.pick").select("collapse").run()
    at.radio(key="lessons.size.collapse").set_value("quick").run()
    at.button(key="lessons.run").click().run()
    assert not at.exception
    launch = lessons.launches("collapse")[0]
    assert len(launch.run_dirs) == 2 and launch.quick
    assert any("The verdict appears" in c.value for c in at.caption)
    for d in launch.run_dirs:  # pretend the job runner launched them
        runs.write_status(d, state="running", pid=os.getpid(), host=socket.gethostname())
    at.button(key="lessons.cancel").click().run()
    assert not at.exception
    assert all(runs.stop_requested(d) for d in launch.run_dirs)


def test_compare_page_groups_lesson_runs_by_setting_with_error_bars(monkeypatch):
    group, _ = _fake_launch("text-augmentation", TEXT_FALSE)
    at = _page(monkeypatch)
    at.switch_page("pages/5_Compare.py")
    at.run()
    at.selectbox(key="compare.group").select(group).run()
    assert not at.exception
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("over seeds" in s and "names: char edits" in s for s in specs)
    assert any("Runs of a lesson are also grouped by setting" in c.value for c in at.caption)


def test_page_says_no_verdict_for_a_cancelled_launch(monkeypatch):
    _fake_launch("collapse", {}, state="cancelled")
    at = _page(monkeypatch)
    at.run()
    at.selectbox(key="lessons.pick").select("collapse").run()
    assert not at.exception and not at.error
    assert any(w.value.startswith("No verdict") for w in at.warning)
    assert any(t.value.startswith("failed: not measured: replace has no val_bpc_change") for t in at.text)
