"""The session's workspace (genaug_core.workspaces) for the pages: one place that reads ?ws= and applies the rules.

    viewer()            who this session is (SINGLE_USER unless GENAUG_TEACHER_TOKEN is set)
    my_runs()           the runs this session may see, newest first
    find(run_id)        one of those, or None
    start(config)       jobs.start with this workspace as the owner
    control(action, rec)  cancel / resume / delete / publish / unpublish with a message, never another's run

In classroom mode a session without a valid ?ws= token gets a new workspace, and its token goes into the URL
(and into every sidebar link), so a reload or a bookmark comes back to the same work.
"""

from __future__ import annotations

import streamlit as st

from genaug_core import runs, workspaces
from genaug_core.errors import GenAugError
from genaug_core.textsafe import escape_markdown

TOKEN = "genaug.workspace_token"  # session key: this session's workspace token (classroom mode)
PARAM = "ws"  # the URL query parameter that carries it


def token() -> str | None:
    """This session's workspace token (None in single-user mode); makes one and puts it in the URL if needed."""
    if not workspaces.classroom_mode():
        return None
    in_url = st.query_params.get(PARAM)
    if workspaces.valid_token(in_url):
        chosen = in_url
    else:
        chosen = st.session_state.get(TOKEN)
        if in_url is not None or not workspaces.valid_token(chosen):
            if in_url is not None:
                st.warning("That workspace link is not valid, so this is a new, empty workspace. "
                           "Bookmark the new address to come back to it.")
            chosen = workspaces.new_token()
    st.session_state[TOKEN] = chosen
    if in_url != chosen:
        st.query_params[PARAM] = chosen
    return chosen


def viewer() -> workspaces.Viewer:
    """Who this session is: SINGLE_USER, a student's workspace or the teacher."""
    tok = token()
    return workspaces.SINGLE_USER if tok is None else workspaces.viewer_for(tok)


def link_params() -> dict[str, str] | None:
    """Query parameters that keep the workspace when a sidebar link is followed (None in single-user mode)."""
    tok = token()
    return {PARAM: tok} if tok else None


def my_runs() -> list[runs.RunRecord]:
    return workspaces.visible_runs(viewer())


def find(run_id: str | None) -> runs.RunRecord | None:
    return workspaces.find_run(run_id, viewer())


def can_control(rec: runs.RunRecord) -> bool:
    return workspaces.can_control(rec, viewer())


def start(config):
    """jobs.start(config) owned by this workspace (plain jobs.start(config) in single-user mode)."""
    from genaug_core.train import jobs

    owner = workspaces.owner_for(viewer())
    return jobs.start(config) if owner is None else jobs.start(config, owner=owner)


def check_room(n: int) -> None:
    """RunError unless this workspace may start `n` more runs (nothing to check in single-user mode)."""
    from genaug_core.train import jobs

    owner = workspaces.owner_for(viewer())
    if owner is not None:
        jobs.check_room(owner, n)


_ACTIONS = {
    "cancel": (lambda rec, v: workspaces.cancel(rec, v), "Stopping: the run saves a checkpoint first"),
    "resume": (lambda rec, v: workspaces.resume(rec, v), "Queued to continue from its newest checkpoint"),
    "delete": (lambda rec, v: workspaces.delete(rec, v), "Run deleted"),
    "publish": (lambda rec, v: workspaces.publish(rec, v, True), "Published: every workspace sees it, read-only"),
    "unpublish": (lambda rec, v: workspaces.publish(rec, v, False), "No longer published"),
}


def control(action: str, rec: runs.RunRecord, done: str | None = None) -> bool:
    """Do `action` on `rec` if this session may; a toast on success, the reason as an error otherwise."""
    do, message = _ACTIONS[action]
    try:
        do(rec, viewer())
    except GenAugError as exc:
        st.error(escape_markdown(exc))
        return False
    st.toast(done or message)
    return True


def error_text(text: object, rec: runs.RunRecord | None = None) -> str:
    """A message as inert Markdown; about another workspace's run, with server paths shortened."""
    from genaug_core.textsafe import redact_paths

    return escape_markdown(text if rec is None or can_control(rec) else redact_paths(text))


def describe_viewer() -> str | None:
    """One line for the sidebar: whose work this is (None in single-user mode)."""
    v = viewer()
    if v.single_user:
        return None
    if v.teacher:
        return "Teacher view: every workspace's runs"
    return f"Workspace {workspaces.short_id(v.workspace)} · bookmark this address to come back"
