"""Main journeys in a real browser: Debian's Chromium driven by Playwright.

The app is started with `streamlit run` on a free local port. When
/usr/bin/chromium is missing these tests are skipped, unless
GENAUG_REQUIRE_BROWSER=1 (set by .ci/run), where a missing browser fails.
"""

import contextlib
import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not Path(CHROMIUM).exists():
    if os.environ.get("GENAUG_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"{CHROMIUM} is missing but GENAUG_REQUIRE_BROWSER=1 (install Debian's chromium)")
    pytest.skip(f"{CHROMIUM} not installed", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


server_runs_dirs: dict[str, Path] = {}  # server url -> the runs folder that app process uses


@contextlib.contextmanager
def _serve(runs_dir: Path, extra_env: dict[str, str] | None = None):
    """`streamlit run app.py` on a free local port with its own runs folder; yields its url."""
    port = _free_port()
    env = {**os.environ, "GENAUG_RUNS_DIR": str(runs_dir), **(extra_env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("streamlit did not start: " + proc.stdout.read().decode()[-2000:])
    server_runs_dirs[url] = runs_dir
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with _serve(tmp_path_factory.mktemp("browser-runs")) as url:
        yield url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch settings: Debian's Chromium, never a downloaded browser."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


def _no_error_box(page):
    assert page.locator("[data-testid='stException']").count() == 0


def test_home_then_builtin_dataset_report(server, page):
    page.goto(server)
    page.get_by_text("See, by doing").wait_for(timeout=60_000)
    page.get_by_text("Current dataset: digits").first.wait_for()
    page.goto(server + "/Data")
    page.get_by_text("counts").first.wait_for(timeout=60_000)
    # pick the names corpus in the dataset select box
    page.get_by_test_id("stSelectbox").filter(has_text="Dataset").locator("input").click()
    page.get_by_role("option", name="names").first.click()
    page.get_by_text("5,163 texts").first.wait_for(timeout=60_000)
    page.get_by_text("26 distinct characters").first.wait_for()
    page.get_by_text("Most common characters").first.wait_for(timeout=60_000)
    assert page.locator(".js-plotly-plot").count() >= 2  # the histograms rendered
    _no_error_box(page)
    if os.environ.get("GENAUG_SCREENSHOTS"):
        page.screenshot(path=str(ROOT / "docs" / "data-page.png"), full_page=True)


def _upload(page, server, path):
    """Open the Data page afresh, switch to Upload and give the uploader one file."""
    page.goto(server + "/Data")
    page.get_by_text("Source").first.wait_for(timeout=60_000)
    page.get_by_text("Upload", exact=True).click()
    uploader = page.locator("[data-testid='stFileUploaderDropzoneInput']")
    uploader.wait_for(state="attached", timeout=30_000)
    uploader.set_input_files(str(path))


def test_upload_text_file_shows_report(server, page, tmp_path):
    txt = tmp_path / "lines.txt"
    txt.write_text("hello world\n\nhello world\n=cmd|' /C calc'!A0\n", encoding="utf-8")
    _upload(page, server, txt)
    page.get_by_text("exact_duplicates").first.wait_for(timeout=60_000)
    page.get_by_text("empty").first.wait_for()
    page.get_by_text("lines.txt (3 texts)").first.wait_for()
    _no_error_box(page)


def test_hostile_zip_gives_a_clear_message(server, page, tmp_path):
    """Only a path-traversal entry and a non-image: an error naming the file, no traceback."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../evil.png", b"\x89PNG\r\n\x1a\n")
        zf.writestr("notes.txt", b"just text")
    bad = tmp_path / "bad.zip"
    bad.write_bytes(buf.getvalue())
    _upload(page, server, bad)
    error = page.get_by_test_id("stAlertContentError").first
    error.wait_for(timeout=60_000)
    assert "bad.zip" in error.inner_text()
    _no_error_box(page)


def test_train_and_sample_journey(server, page):
    """names -> a tiny run from the Train page -> progress and curve -> finished -> sample text."""
    page.goto(server + "/Data")
    page.get_by_test_id("stSelectbox").filter(has_text="Dataset").locator("input").click()
    page.get_by_role("option", name="names").first.click()
    page.get_by_text("5,163 texts").first.wait_for(timeout=60_000)
    # switch pages through the sidebar so the session (and its dataset) is kept
    page.get_by_test_id("stSidebar").get_by_role("link", name="Train", exact=True).click()
    page.get_by_text("Model and schedule").wait_for(timeout=60_000)
    page.get_by_text("names-first").first.wait_for()
    page.get_by_test_id("stSelectbox").filter(has_text="Model size").locator("input").click()
    page.get_by_role("option", name="tiny").first.click()
    steps = page.get_by_label("Training steps")
    steps.fill("60")  # (no Enter: in a form, Enter submits)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("step ").first.wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)  # the live curve
    page.get_by_text("done").first.wait_for(timeout=240_000)
    if os.environ.get("GENAUG_SCREENSHOTS"):
        page.wait_for_timeout(3000)
        page.screenshot(path=str(ROOT / "docs" / "train-page.png"), full_page=True)
    _no_error_box(page)
    page.get_by_test_id("stSidebar").get_by_role("link", name="Sample").click()
    page.get_by_role("button", name="Sample").click()
    page.get_by_text("samples are new").first.wait_for(timeout=120_000)
    _no_error_box(page)
    if os.environ.get("GENAUG_SCREENSHOTS"):
        page.screenshot(path=str(ROOT / "docs" / "sample-page.png"), full_page=True)


def test_self_training_selection_survives_runs_finishing(server, page):
    """The chosen runs (and their curves) stay chosen when a run's state changes under the live panel."""
    from genaug_core import runs
    from tests.test_selftrain import fake_self_training_run

    root = server_runs_dirs[server]
    run_dir = fake_self_training_run(root, "replace", [2.9, 3.1])
    runs.write_status(run_dir, state="running", pid=os.getpid(), host=socket.gethostname())
    page.goto(server + "/Self-training")
    picker = page.locator(".st-key-selftrain-pick")
    picker.get_by_text(run_dir.name).wait_for(timeout=60_000)
    page.get_by_text("Collapse curves").first.wait_for()
    runs.write_status(run_dir, state="done")
    page.wait_for_timeout(7000)  # two polls of the live panel (every 3 s)
    assert picker.get_by_text(run_dir.name).count() == 1
    assert page.get_by_text("Collapse curves").count() == 1
    _no_error_box(page)


TEACHER_TOKEN = "browser-teacher-token-0123"
TOKEN_A, TOKEN_B = "browser-student-a-012345", "browser-student-b-012345"
HOSTILE = '![x](https://example.invalid/a.png) <a href="https://example.invalid">l</a> **b**'


@pytest.fixture(scope="module")
def classroom_server(tmp_path_factory):
    with _serve(tmp_path_factory.mktemp("classroom-runs"), {"GENAUG_TEACHER_TOKEN": TEACHER_TOKEN}) as url:
        yield url


def _active_run_options(page) -> list[str]:
    """The labels of the Train page's "Active run" select box (opened, read, closed). The box lives in a
    fragment that re-renders every 2 s, which can close an open list: open it again if so (3 tries)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    for attempt in range(3):
        page.get_by_test_id("stSelectbox").filter(has_text="Active run").locator("input").click()
        options = page.get_by_role("option")
        try:
            options.first.wait_for(timeout=10_000)
            labels = options.all_inner_texts()
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            continue
        page.keyboard.press("Escape")
        return labels
    raise AssertionError("unreachable")


def test_classroom_each_browser_sees_only_its_own_runs_and_the_teacher_sees_all(classroom_server, browser):
    """Two students and the teacher in separate browser contexts against one app with a teacher token."""
    from genaug_core import runs, workspaces
    from genaug_core.config import RunConfig

    root = server_runs_dirs[classroom_server]
    made = {}
    for token, name in ((TOKEN_A, f"alpha-run {HOSTILE}"), (TOKEN_B, "beta-run")):
        cfg = RunConfig.from_dict({"name": name, "data": {"source": "names"}, "train": {"steps": 10}})
        run = runs.create_run(cfg, root=root, owner=workspaces.workspace_id(token))
        runs.write_status(run, state="cancelled")
        made[token] = run.name
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(4)]
    try:
        page_a, page_b, teacher, stranger = (c.new_page() for c in contexts)
        page_a.goto(f"{classroom_server}/Train?ws={TOKEN_A}")
        page_a.get_by_text("alpha-run").first.wait_for(timeout=60_000)
        assert [made[TOKEN_A] in o for o in _active_run_options(page_a)] == [True]
        # the hostile name is text: no link or image from it, its characters shown as typed
        links = page_a.locator("a[href*='example.invalid']")
        assert links.count() == 0, [links.nth(i).evaluate("e => e.parentElement.outerHTML") for i in range(links.count())]
        assert page_a.locator("img[src*='example.invalid']").count() == 0
        shown = page_a.get_by_test_id("stMarkdownContainer").filter(has_text='">l</a> **b**').first
        assert "![x](https:" in shown.inner_text()  # (a word joiner, invisible, follows "https:")
        page_a.reload()  # the link keeps the workspace
        page_a.get_by_text("alpha-run").first.wait_for(timeout=60_000)
        page_a.get_by_test_id("stSidebar").get_by_role("link", name="Sample").click()
        page_a.wait_for_url(f"**/Sample?ws={TOKEN_A}", timeout=30_000)

        page_b.goto(f"{classroom_server}/Train?ws={TOKEN_B}")
        page_b.get_by_text("beta-run").first.wait_for(timeout=60_000)
        assert [made[TOKEN_B] in o for o in _active_run_options(page_b)] == [True]
        assert page_b.get_by_text("alpha-run").count() == 0

        stranger.goto(f"{classroom_server}/Train")  # no token: a new, empty workspace of its own
        stranger.wait_for_url("**ws=**", timeout=60_000)
        stranger.get_by_text("No runs yet").first.wait_for(timeout=60_000)
        assert stranger.get_by_text("alpha-run").count() == 0 and stranger.get_by_text("beta-run").count() == 0

        teacher.goto(f"{classroom_server}/Train?ws={TEACHER_TOKEN}")
        teacher.get_by_text("Teacher view").first.wait_for(timeout=60_000)
        teacher.get_by_text("beta-run").first.wait_for(timeout=60_000)  # the runs panel has rendered
        options = _active_run_options(teacher)
        assert len(options) == 2 and {made[TOKEN_A], made[TOKEN_B]} == {o.split(" ")[0] for o in options}
        for page in (page_a, page_b, teacher, stranger):
            _no_error_box(page)
    finally:
        for c in contexts:
            c.close()
