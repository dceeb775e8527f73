"""Workspaces: many students on one app, each seeing and steering only their own runs.

Single-user mode (GENAUG_TEACHER_TOKEN unset, the default) has no
workspaces: every viewer sees and controls every run, as on a laptop.

Classroom mode (GENAUG_TEACHER_TOKEN set): every browser session works in a
workspace named by an unguessable token in its URL (`?ws=TOKEN`, 16-64
characters of A-Z a-z 0-9 _ -). A run made there records the workspace's
*id* in owner.json: a salted SHA-256 of the token, never the token, so
reading a run folder does not reveal anyone's link. Rules:

    visible(rec, viewer)       own runs, and runs a teacher published (read-only)
    can_control(rec, viewer)   cancel / resume / delete: own runs only
    the teacher (?ws=<GENAUG_TEACHER_TOKEN>) sees and controls every run, and
    publishes a run to every workspace (publish); runs made outside the app
    (the CLI: no owner.json) are the teacher's until published

    viewer = viewer_for(token)                   # ValueError for a malformed token
    records = visible_runs(viewer)               # what the pages list
    cancel(rec, viewer); resume(rec, viewer); delete(rec, viewer); publish(rec, viewer, True)

Each action checks the rule and raises RunError when the viewer may not, so a
page that forgot to hide a button still cannot touch another's run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from genaug_core import runs
from genaug_core.errors import RunError

TEACHER_ENV = "GENAUG_TEACHER_TOKEN"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_SALT = b"genaug-workspace-v1:"


@dataclasses.dataclass(frozen=True)
class Viewer:
    """Who is looking: a workspace id (None in single-user mode) and whether it is the teacher's."""

    workspace: str | None
    teacher: bool = False

    @property
    def single_user(self) -> bool:
        return self.workspace is None

    @property
    def sees_all(self) -> bool:
        return self.single_user or self.teacher


SINGLE_USER = Viewer(None)


def classroom_mode() -> bool:
    """Is a teacher token configured (workspaces on)?"""
    return bool(os.environ.get(TEACHER_ENV, "").strip())


def teacher_token_problem() -> str | None:
    """What is wrong with GENAUG_TEACHER_TOKEN (None when it is unset or fine). A malformed one keeps
    classroom mode on (students stay apart) but opens no teacher view."""
    value = os.environ.get(TEACHER_ENV, "").strip()
    if value and not TOKEN_RE.match(value):
        return f"{TEACHER_ENV} must be 16-64 characters of A-Z, a-z, 0-9, _ and -; the teacher view is off"
    return None


def valid_token(token: object) -> bool:
    return isinstance(token, str) and bool(TOKEN_RE.match(token))


def new_token() -> str:
    """A fresh workspace token: 128 random bits, URL-safe (22 characters)."""
    return secrets.token_urlsafe(16)


def workspace_id(token: str) -> str:
    """The id a workspace's runs record: a salted SHA-256 of its token (the token itself is never stored)."""
    if not valid_token(token):
        raise ValueError("not a workspace token")
    return hashlib.sha256(_SALT + token.encode("ascii")).hexdigest()[:32]


def is_teacher_token(token: str) -> bool:
    value = os.environ.get(TEACHER_ENV, "").strip()
    return bool(value) and TOKEN_RE.match(value) is not None and hmac.compare_digest(token, value)


def viewer_for(token: str | None) -> Viewer:
    """The Viewer of a session with `token` from its URL; SINGLE_USER outside classroom mode.
    ValueError for a malformed token (the caller makes a new workspace instead)."""
    if not classroom_mode():
        return SINGLE_USER
    if not valid_token(token):
        raise ValueError("not a workspace token")
    return Viewer(workspace_id(token), teacher=is_teacher_token(token))


def short_id(workspace: str | None) -> str:
    """A workspace as the teacher's table shows it: the first 6 characters of its id ("-": made outside the app)."""
    return workspace[:6] if workspace else "-"


# --- the rules ------------------------------------------------------------------------------


def visible(rec: runs.RunRecord, viewer: Viewer) -> bool:
    """May `viewer` list, load, sample and compare this run? Own runs, published ones; all for the teacher."""
    return viewer.sees_all or rec.published or (rec.workspace is not None and rec.workspace == viewer.workspace)


def can_control(rec: runs.RunRecord, viewer: Viewer) -> bool:
    """May `viewer` cancel, resume or delete this run? Own runs only (published ones stay read-only); the
    teacher controls every run."""
    return viewer.sees_all or (rec.workspace is not None and rec.workspace == viewer.workspace)


def owner_for(viewer: Viewer) -> str | None:
    """The owner a new run of this viewer records (None in single-user mode: no owner.json)."""
    return viewer.workspace


def visible_runs(viewer: Viewer, root: str | Path | None = None) -> list[runs.RunRecord]:
    """runs.list_runs() as this viewer may see it, newest first."""
    return runs.list_runs(root, where=lambda rec: visible(rec, viewer))


def find_run(run_id: str | None, viewer: Viewer, root: str | Path | None = None) -> runs.RunRecord | None:
    """The run `run_id` if it exists and this viewer may see it, else None (never another's run)."""
    if not run_id or Path(run_id).name != run_id or run_id.startswith("."):  # a folder name, no path tricks
        return None
    path = runs.runs_root(root) / run_id
    if not path.is_dir():
        return None
    rec = runs.inspect_run(path)
    return rec if visible(rec, viewer) else None


# --- actions, each checking the rule --------------------------------------------------------------


def _require_control(rec: runs.RunRecord, viewer: Viewer, action: str) -> None:
    if not can_control(rec, viewer):
        raise RunError(f"run {rec.id} belongs to another workspace; you may look at it but not {action} it")


def cancel(rec: runs.RunRecord, viewer: Viewer) -> None:
    from genaug_core.train import jobs

    _require_control(rec, viewer, "cancel")
    jobs.cancel(rec.path)


def resume(rec: runs.RunRecord, viewer: Viewer, steps: int | None = None) -> None:
    from genaug_core.train import jobs

    _require_control(rec, viewer, "resume")
    jobs.resume(rec.path, steps=steps)


def delete(rec: runs.RunRecord, viewer: Viewer) -> None:
    """Delete a finished, failed or cancelled run of this viewer (jobs.delete refuses a running one)."""
    from genaug_core.train import jobs

    _require_control(rec, viewer, "delete")
    jobs.delete(rec.path)


def publish(rec: runs.RunRecord, viewer: Viewer, published: bool = True) -> None:
    """Show (or stop showing) a run to every workspace, read-only. Teacher only."""
    if not viewer.teacher or viewer.single_user:
        raise RunError("only the teacher can publish a run")
    owner = runs.read_owner(rec.path)
    runs.write_json_atomic(rec.path / runs.OWNER_FILE, {**owner, "published": bool(published)})
