"""Classroom mode on the pages (AppTest): sessions with different ?ws= tokens, the teacher, published runs,
and user text (run names, error messages) shown inert on the Train, Compare and Sample pages."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from genaug_core import runs, workspaces
from genaug_core.textsafe import escape_markdown

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

TEACHER = "teacher-token-0123456789"
TOKEN_A = "student-a-token-0123456"
TOKEN_B = "student-b-token-0123456"
HOSTILE = '![x](https://example.invalid/a.png) <a href="https://example.invalid">l</a> **b**'
RUN_A, RUN_B, FAILED_A = "20260101-000001-aaaaaa", "20260101-000002-bbbbbb", "20260101-000003-cccccc"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One finished tiny text run (trained once for this module)."""
    folder = tmp_path_factory.mktemp("trained") / "tiny_text"
    res = subprocess.run(
        [sys.executable, "-m", "genaug_core", "train", "--config", "configs/tiny_text.toml",
         "--run-dir", str(folder), "--no-progress"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert res.returncode == 0, res.stderr
    return folder


def _owned_copy(trained: Path, root: Path, run_id: str, token: str, name: str, created: float) -> Path:
    run = root / run_id
    shutil.copytree(trained, run)
    cfg = json.loads((run / runs.CONFIG_FILE).read_text())
    runs.write_json_atomic(run / runs.CONFIG_FILE, {**cfg, "name": name})
    runs.write_json_atomic(run / runs.OWNER_FILE, {"workspace": workspaces.workspace_id(token), "published": False})
    runs.write_status(run, created=created)
    return run


@pytest.fixture
def classroom(trained, tmp_path, monkeypatch):
    """A's run (named HOSTILE), B's run, and a failed run of A's whose log holds a traceback."""
    root = tmp_path / "runs"
    root.mkdir()
    _owned_copy(trained, root, RUN_A, TOKEN_A, HOSTILE, 1000.0)
    _owned_copy(trained, root, RUN_B, TOKEN_B, "beta run", 2000.0)
    failed = _owned_copy(trained, root, FAILED_A, TOKEN_A, "alpha failed", 500.0)
    runs.write_status(failed, state="failed", error="ValueError: boom in /srv/genaug/secret-place/loader.py")
    (failed / runs.LOG_FILE).write_text("Traceback (most recent call last):\n  File /srv/genaug/SECRET.py\nValueError: boom\n")
    monkeypatch.setenv("GENAUG_RUNS_DIR", str(root))
    monkeypatch.setenv(workspaces.TEACHER_ENV, TEACHER)
    return root


def session(page: str, token: str | None = None, active: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if token is not None:
        at.query_params["ws"] = token
    at.switch_page(f"pages/{page}")
    if active:
        at.session_state["genaug.active_run"] = active
    at.run()
    assert not at.exception, at.exception
    return at


def listed(at: AppTest) -> set[str]:
    return set(at.dataframe[-1].value["run"])


def texts(at: AppTest) -> list[str]:
    """Every string the page hands to Streamlit's Markdown renderer (elements, expander and tab labels)."""
    out = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "toast", "title", "header", "subheader"):
        out += [e.value for e in getattr(at, kind)]
    return out + [e.label for e in at.expander] + [t.label for t in at.tabs]


def assert_inert(at: AppTest) -> None:
    for text in texts(at):
        assert "<a" not in text and "![x](" not in text and "**b**" not in text, text
    for m in at.markdown:
        assert not (m.proto.allow_html and "<a" in m.value), m.value


def test_sessions_see_only_their_own_runs_and_the_teacher_sees_all(classroom):
    a = session("3_Train.py", TOKEN_A)
    assert listed(a) == {RUN_A, FAILED_A} and a.query_params["ws"] == TOKEN_A
    b = session("3_Train.py", TOKEN_B, active=RUN_A)  # B asks for A's run: B's own newest opens instead
    assert listed(b) == {RUN_B}
    assert any("beta run" in m.value for m in b.markdown) and not any("alpha" in m.value for m in b.markdown)
    sample_b = session("4_Sample.py", TOKEN_B, active=RUN_A)  # B cannot sample A's run: it is not offered
    picker = sample_b.selectbox(key="sample.run")
    assert picker.value == RUN_B and len(picker.options) == 1
    compare_b = session("5_Compare.py", TOKEN_B)
    runs_b = compare_b.multiselect(key="compare.runs")
    assert runs_b.value == [RUN_B] and len(runs_b.options) == 1

    teacher = session("3_Train.py", TEACHER, active=RUN_A)
    assert listed(teacher) == {RUN_A, RUN_B, FAILED_A}
    table = teacher.dataframe[-1].value
    assert set(table["workspace"]) == {workspaces.short_id(workspaces.workspace_id(t)) for t in (TOKEN_A, TOKEN_B)}
    assert any("Teacher view" in c.value for c in teacher.caption)
    teacher.button(key="train.publish").click().run()
    assert not teacher.exception and runs.read_owner(classroom / RUN_A)["published"] is True

    b = session("3_Train.py", TOKEN_B, active=RUN_A)  # now B sees A's run, read-only
    assert listed(b) == {RUN_A, RUN_B}
    assert b.session_state["train.pick"] == RUN_A
    assert b.button(key="train.cancel").disabled and b.button(key="train.resume").disabled
    assert not [x for x in b.button if x.key == "train.publish"]  # only the teacher publishes
    sample_b = session("4_Sample.py", TOKEN_B, active=RUN_A)
    assert sample_b.selectbox(key="sample.run").value == RUN_A
    sample_b.button(key="sample.go").click().run()  # a published run can be sampled
    assert not sample_b.exception and not sample_b.error, [e.value for e in sample_b.error]
    compare_b = session("5_Compare.py", TOKEN_B)
    options = compare_b.multiselect(key="compare.runs").options
    assert len(options) == 2 and any(RUN_A in o for o in options)


def test_a_new_session_gets_its_own_workspace_in_the_url(classroom):
    fresh = session("3_Train.py")
    token = fresh.query_params["ws"]
    assert workspaces.valid_token(token) and token not in (TOKEN_A, TOKEN_B, TEACHER)
    assert any("No runs yet" in i.value for i in fresh.info)  # never someone else's newest run
    again = session("3_Train.py", token)  # a reload with the link: the same workspace
    assert again.query_params["ws"] == token
    bad = session("3_Train.py", "../../etc/passwd")
    assert workspaces.valid_token(bad.query_params["ws"]) and bad.query_params["ws"] != "../../etc/passwd"
    assert any("not valid" in w.value for w in bad.warning)
    links = [p.proto for p in bad.sidebar.get("page_link")]
    assert links and all(f"ws={bad.query_params['ws']}" in json.dumps(str(p)) for p in links)


def test_single_user_mode_has_no_workspaces(classroom, monkeypatch):
    monkeypatch.delenv(workspaces.TEACHER_ENV)
    at = session("3_Train.py")
    assert listed(at) == {RUN_A, RUN_B, FAILED_A} and "ws" not in at.query_params
    assert "workspace" not in at.dataframe[-1].value.columns


def test_a_failed_run_shows_its_log_to_its_owner_only(classroom):
    teacher = session("3_Train.py", TEACHER, active=FAILED_A)
    teacher.button(key="train.publish").click().run()
    owner = session("3_Train.py", TOKEN_A, active=FAILED_A)
    assert any("boom in /srv/genaug/secret" in e.value.replace("\\", "") for e in owner.error)
    assert any("End of the run" in e.label for e in owner.expander)
    assert any(d.proto.label == "Download the run's log" for d in owner.get("download_button"))
    other = session("3_Train.py", TOKEN_B, active=FAILED_A)
    errors = [e.value.replace("\\", "") for e in other.error]
    assert any("boom in .../loader.py" in e for e in errors) and not any("/srv" in e for e in errors)
    assert not any("log" in e.label for e in other.expander)
    assert not any("log" in d.proto.label for d in other.get("download_button"))
    assert not any("SECRET" in c.value for c in other.code)
    problems = dict(zip(other.dataframe[-1].value["run"], other.dataframe[-1].value["problem"], strict=True))
    assert problems[FAILED_A] == "ValueError: boom in .../loader.py"


@pytest.mark.parametrize("page", ["3_Train.py", "5_Compare.py", "4_Sample.py"])
def test_a_hostile_run_name_renders_literally(classroom, page):
    at = session(page, TOKEN_A, active=RUN_A)
    if page == "5_Compare.py":
        at.multiselect(key="compare.runs").set_value([RUN_A]).run()
        assert not at.exception, at.exception
    if page == "4_Sample.py":
        label = at.selectbox(key="sample.run").format_func(RUN_A)
        assert HOSTILE in label  # select box labels are plain text: the name as typed
    else:
        assert any(escape_markdown(HOSTILE) in t for t in texts(at)), texts(at)
    assert_inert(at)


def test_lessons_page_shows_only_the_workspaces_own_launches(tmp_path, monkeypatch):
    """A lesson launched by A (quick, one seed; not trained here) is listed for A and the teacher, not for B."""
    from genaug_core import lessons
    from genaug_core.train import jobs

    root = tmp_path / "runs"
    monkeypatch.setenv("GENAUG_RUNS_DIR", str(root))
    monkeypatch.setenv(workspaces.TEACHER_ENV, TEACHER)
    monkeypatch.setattr(jobs, "tick", lambda root=None: [])  # the runs stay queued: no child processes here
    owner = workspaces.owner_for(workspaces.viewer_for(TOKEN_A))
    launch = lessons.start_lesson("collapse", quick=True, seeds=1, owner=owner)
    assert all(runs.read_owner(d)["workspace"] == owner for d in launch.run_dirs)

    def launches_seen(token):
        at = session("7_Lessons.py", token)
        at.selectbox(key="lessons.pick").set_value("collapse").run()
        assert not at.exception, at.exception
        return [b for b in at.selectbox if b.key == "lessons.launch.collapse"]

    assert launches_seen(TOKEN_A) and launches_seen(TEACHER)
    assert not launches_seen(TOKEN_B)  # B sees "has not run yet", not A's launch
