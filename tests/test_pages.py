"""Every page runs without an exception (AppTest), and the Data page's main paths work."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["app.py", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))]


def app(path: str) -> AppTest:
    """The app as Streamlit runs it (app.py is the entry point), switched to page `path`."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if path != "app.py":
        at.switch_page(path)
    return at


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_without_exception(page):
    at = app(page).run()
    assert not at.exception, at.exception
    assert at.title, "every page has a title"


def test_home_page_names_the_current_dataset():
    at = app("app.py").run()
    assert any("digits" in i.value for i in at.info)


@pytest.mark.parametrize("name", ["digits", "shapes", "names", "prose"])
def test_data_page_reports_each_builtin(name):
    at = app("pages/1_Data.py").run()
    at.selectbox(key="data.builtin").select(name).run()
    assert not at.exception and not at.error
    text = " ".join(m.value for m in at.markdown)
    assert "**counts**" in text and ":material/info:" in text
    assert at.session_state["genaug.dataset"].kind == ("image" if name in ("digits", "shapes") else "text")


def test_data_page_builtin_parameters_and_preprocessing():
    at = app("pages/1_Data.py").run()
    at.selectbox(key="data.builtin").select("shapes").run()
    at.number_input(key="data.shapes.size").set_value(16).run()
    at.number_input(key="pre.size").set_value(24).run()
    at.radio(key="pre.channels").set_value(1).run()
    assert not at.exception
    ds = at.session_state["genaug.dataset"]
    assert ds.images.shape[1:] == (24, 24, 1)


def test_data_page_upload_mode_asks_for_a_file():
    """AppTest cannot upload files; the browser test (test_browser.py) drives real uploads."""
    at = app("pages/1_Data.py").run()
    at.radio(key="data.origin").set_value("Upload").run()
    assert not at.exception
    assert any("Upload a file" in i.value for i in at.info)


def test_data_page_shows_core_errors_as_messages():
    at = app("pages/1_Data.py").run()
    at.selectbox(key="data.builtin").select("prose").run()
    at.number_input(key="pre.max").set_value(5).run()
    at.number_input(key="pre.pad").set_value(10).run()  # pad beyond the cut: a ConfigError
    assert not at.exception
    assert any("pad_to = 10 exceeds max_chars = 5" in e.value for e in at.error)

