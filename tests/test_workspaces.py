"""Workspaces (genaug_core.workspaces): tokens, who sees and controls which run, deleting, per-workspace
limits and the round-robin queue (jobs), with run folders made on disk (no training)."""

import os
import socket
import time

import pytest

from genaug_core import runs, workspaces
from genaug_core.config import RunConfig
from genaug_core.errors import RunError
from genaug_core.train import jobs

TEACHER = "teacher-token-0123456789"
TOKEN_A = "student-a-token-0123456"
TOKEN_B = "student-b-token-0123456"


def _cfg(name: str = "") -> RunConfig:
    return RunConfig.from_dict({"name": name, "data": {"source": "names"}, "train": {"steps": 10}})


@pytest.fixture
def classroom(monkeypatch):
    monkeypatch.setenv(workspaces.TEACHER_ENV, TEACHER)
    return {
        "a": workspaces.viewer_for(TOKEN_A),
        "b": workspaces.viewer_for(TOKEN_B),
        "teacher": workspaces.viewer_for(TEACHER),
    }


def _run(root, viewer=None, state="done", name="", created=None):
    run = runs.create_run(_cfg(name), root=root, owner=workspaces.owner_for(viewer) if viewer else None)
    fields = {"state": state}
    if state == "running":
        fields.update(runs.this_process())
    if created is not None:
        fields["created"] = created
    runs.write_status(run, **fields)
    return runs.inspect_run(run)


def test_tokens_are_validated_and_never_stored(classroom, tmp_path):
    tok = workspaces.new_token()
    assert workspaces.valid_token(tok) and len(tok) >= 16
    assert workspaces.new_token() != tok
    for bad in (None, "", "short", "../../etc/passwd-xxxxxxxxx", "a" * 65, "spaces are not ok here!", "ä" * 20):
        assert not workspaces.valid_token(bad)
        with pytest.raises(ValueError):
            workspaces.viewer_for(bad)
    a = classroom["a"]
    assert a.workspace == workspaces.workspace_id(TOKEN_A) != workspaces.workspace_id(TOKEN_B)
    assert TOKEN_A not in a.workspace and not a.teacher and classroom["teacher"].teacher
    rec = _run(tmp_path, a)
    on_disk = "".join(p.read_text() for p in rec.path.glob("*.json"))
    assert TOKEN_A not in on_disk and a.workspace in on_disk  # the id, never the token (the link)


def test_single_user_mode_sees_and_controls_everything(monkeypatch, tmp_path):
    monkeypatch.delenv(workspaces.TEACHER_ENV, raising=False)
    assert not workspaces.classroom_mode()
    viewer = workspaces.viewer_for(None)
    assert viewer is workspaces.SINGLE_USER and workspaces.owner_for(viewer) is None
    mine = _run(tmp_path)
    other = _run(tmp_path, workspaces.Viewer("someone-elses-id"))
    assert {r.id for r in workspaces.visible_runs(viewer, tmp_path)} == {mine.id, other.id}
    assert workspaces.can_control(other, viewer)
    assert not (mine.path / runs.OWNER_FILE).exists()  # nothing new on disk in single-user mode


def test_each_workspace_sees_only_its_own_runs_and_published_ones(classroom, tmp_path):
    a, b, teacher = classroom["a"], classroom["b"], classroom["teacher"]
    run_a, run_b, cli = _run(tmp_path, a, name="A"), _run(tmp_path, b, name="B"), _run(tmp_path, name="cli")
    ids = lambda v: {r.id for r in workspaces.visible_runs(v, tmp_path)}  # noqa: E731
    assert ids(a) == {run_a.id} and ids(b) == {run_b.id}
    assert ids(teacher) == {run_a.id, run_b.id, cli.id}  # runs made outside the app: the teacher's
    assert workspaces.find_run(run_a.id, b, tmp_path) is None  # a session never opens another's run
    assert workspaces.find_run(run_a.id, a, tmp_path).id == run_a.id
    for tricky in ("..", "../x", "/etc", ".tmp-x", ""):
        assert workspaces.find_run(tricky, teacher, tmp_path) is None
    with pytest.raises(RunError, match="only the teacher"):
        workspaces.publish(run_a, a)
    workspaces.publish(run_a, teacher)
    shared = workspaces.find_run(run_a.id, b, tmp_path)
    assert shared is not None and shared.published and ids(b) == {run_a.id, run_b.id}
    assert not workspaces.can_control(shared, b) and workspaces.can_control(shared, a)
    assert workspaces.can_control(shared, teacher)
    workspaces.publish(shared, teacher, False)
    assert ids(b) == {run_b.id}


def test_actions_refuse_another_workspaces_run(classroom, tmp_path):
    a, b, teacher = classroom["a"], classroom["b"], classroom["teacher"]
    running = _run(tmp_path, a, state="running")
    queued = _run(tmp_path, a, state="queued")
    finished = _run(tmp_path, a, state="cancelled")
    workspaces.publish(finished, teacher)
    for action in (workspaces.cancel, workspaces.resume, workspaces.delete):
        for rec in (running, queued, workspaces.find_run(finished.id, b, tmp_path)):
            with pytest.raises(RunError, match="another workspace"):
                action(rec, b)
    assert runs.read_status(queued.path)["state"] == "queued" and finished.path.is_dir()
    assert not runs.stop_requested(running.path)
    workspaces.cancel(running, teacher)  # the teacher may cancel any run
    assert runs.stop_requested(running.path)
    workspaces.cancel(queued, a)
    assert runs.read_status(queued.path)["state"] == "cancelled"


def test_delete_removes_own_finished_runs_and_refuses_running_ones(classroom, tmp_path):
    a = classroom["a"]
    done = _run(tmp_path, a, state="done")
    running = _run(tmp_path, a, state="running")
    queued = _run(tmp_path, a, state="queued")
    workspaces.delete(done, a)
    assert not done.path.exists() and not list(tmp_path.glob(".tmp-*"))
    for rec in (running, queued):
        with pytest.raises(RunError, match="cancel it first"):
            workspaces.delete(rec, a)
        assert rec.path.is_dir()
    scoring = _run(tmp_path, a, state="done")
    runs.write_status(scoring.path, evaluating=True, **runs.this_process())
    with pytest.raises(RunError, match="still scoring"):
        jobs.delete(scoring.path)
    assert {r.id for r in workspaces.visible_runs(a, tmp_path)} == {running.id, queued.id, scoring.id}


def test_a_workspace_may_hold_only_its_share_of_unfinished_runs(classroom, tmp_path, monkeypatch):
    monkeypatch.setenv(jobs.WS_RUNNING_ENV, "1")
    monkeypatch.setenv(jobs.WS_QUEUED_ENV, "2")
    a, b = classroom["a"].workspace, classroom["b"].workspace
    for _ in range(3):
        _run(tmp_path, classroom["a"], state="queued")
    _run(tmp_path, classroom["a"], state="done")  # finished runs do not count
    assert jobs.unfinished_runs(a, tmp_path) == 3
    before = len(list(tmp_path.iterdir()))
    with pytest.raises(RunError, match="at most 3 runs queued or training"):
        jobs.start(_cfg(), root=tmp_path, owner=a)
    assert len(list(tmp_path.iterdir())) == before  # refused before any folder was made
    jobs.check_room(b, 3, tmp_path)  # another workspace is not held back
    with pytest.raises(RunError):
        jobs.check_room(b, 4, tmp_path)


def test_queue_is_round_robin_across_workspaces(classroom, tmp_path):
    a, b = classroom["a"], classroom["b"]
    t = time.time()
    a_runs = [_run(tmp_path, a, state="queued", created=t - 100 + i) for i in range(3)]
    b_run = _run(tmp_path, b, state="queued", created=t - 10)
    cli_run = _run(tmp_path, state="queued", created=t - 5)
    order = sorted([*a_runs, b_run, cli_run], key=lambda r: jobs.queue_position(r.path))
    # A's first, then B's and the unowned one (their first waiting runs), then A's second and third
    assert [r.id for r in order] == [a_runs[0].id, b_run.id, cli_run.id, a_runs[1].id, a_runs[2].id]


def test_unowned_runs_queue_oldest_first_as_before(tmp_path):
    t = time.time()
    made = [_run(tmp_path, state="queued", created=t - 50 + i) for i in range(4)]
    assert [jobs.queue_position(r.path) for r in made] == [1, 2, 3, 4]


def test_tick_launches_one_run_per_workspace_first(classroom, tmp_path, monkeypatch):
    """With 3 free slots and 1 run per workspace: A's first and B's first launch, A's second waits."""
    monkeypatch.setenv(jobs.MAX_RUNS_ENV, "3")
    monkeypatch.setenv(jobs.WS_RUNNING_ENV, "1")
    launched = []

    def fake_launch(run_dir, status):  # this test process stands in for the child: alive, same start time
        launched.append(run_dir.name)
        runs.write_status(run_dir, launched_pid=os.getpid(), launched_at=time.time(),
                          launched_started=runs.process_start_time(os.getpid()), launched_host=socket.gethostname())

    monkeypatch.setattr(jobs, "_launch", fake_launch)
    t = time.time()
    a1, a2 = (_run(tmp_path, classroom["a"], state="queued", created=t - 30 + i) for i in range(2))
    b1 = _run(tmp_path, classroom["b"], state="queued", created=t - 1)
    jobs.tick(tmp_path)
    assert launched == [a1.id, b1.id]
    jobs.tick(tmp_path)
    assert launched == [a1.id, b1.id]  # A already trains its one run
    assert jobs.queue_position(a2.path) == 1
