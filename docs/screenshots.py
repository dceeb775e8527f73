"""Re-make the screenshots in docs/ from a real session (Debian's chromium + Playwright).

    .venv/bin/python docs/screenshots.py

Starts the app on a free port with a temporary runs folder, then: the Data
page on names; the Augment page on digits; a names run of the default
("small") model on the Train page, photographed mid-run; the Sample page once
it is done; the Compare page after a one-click L2-penalty ablation on names;
the Self-training page after the names preset (replace vs accumulate, five
rounds each). Takes about eight minutes on 2 cores.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def wait_for_runs(runs_dir: str, timeout: float = 900) -> None:
    """Until every run in the folder has finished training and scoring its samples."""
    sys.path.insert(0, str(ROOT))
    from genaug_core import runs

    deadline = time.time() + timeout
    while time.time() < deadline:
        records = runs.list_runs(runs_dir)
        if records and all(
            r.state in runs.FINISHED and not runs.read_status(r.path).get("evaluating") for r in records
        ):
            return
        time.sleep(2)
    raise TimeoutError("runs did not finish")


def main() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GENAUG_RUNS_DIR": tempfile.mkdtemp(prefix="genaug-shots-")}
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1900})
            page.goto(url + "/Augment")
            page.get_by_text("each row: the original").first.wait_for(timeout=120_000)
            page.wait_for_timeout(2000)
            page.screenshot(path=str(DOCS / "augment-page.png"), full_page=True)

            page.goto(url + "/Data")
            page.get_by_test_id("stSelectbox").filter(has_text="Dataset").locator("input").click()
            page.get_by_role("option", name="names").first.click()
            page.get_by_text("Most common characters").first.wait_for(timeout=60_000)
            page.wait_for_timeout(2000)
            page.screenshot(path=str(DOCS / "data-page.png"), full_page=True)

            page.get_by_test_id("stSidebar").get_by_role("link", name="Train", exact=True).click()
            page.get_by_text("Model and schedule").wait_for(timeout=60_000)
            page.get_by_label("Training steps").fill("1500")
            page.get_by_role("button", name="Start training").click()
            page.get_by_text("Samples at step").first.wait_for(timeout=300_000)
            page.wait_for_timeout(15_000)  # a few more points on the curves
            page.screenshot(path=str(DOCS / "train-page.png"), full_page=True)
            page.get_by_text("step 1,500 of 1,500").first.wait_for(timeout=600_000)

            page.get_by_test_id("stSidebar").get_by_role("link", name="Sample", exact=True).click()
            page.get_by_text("How many").first.wait_for(timeout=60_000)
            page.get_by_test_id("stSlider").filter(has_text="Temperature").wait_for()
            page.get_by_role("button", name="Sample").click()
            page.get_by_text("samples are new").first.wait_for(timeout=120_000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(DOCS / "sample-page.png"), full_page=True)

            page.get_by_test_id("stSidebar").get_by_role("link", name="Compare", exact=True).click()
            page.get_by_text("One-click ablation on").first.click()  # folded once runs exist
            page.get_by_text("L1/L2 weight penalty").first.click()
            page.get_by_role("button", name="Run ablation").click()
            page.get_by_text("runs finished").first.wait_for(timeout=60_000)
            wait_for_runs(env["GENAUG_RUNS_DIR"])
            page.get_by_role("tab", name="Metrics").wait_for(timeout=60_000)
            page.wait_for_timeout(6000)  # the page's last poll redraws with the scores
            page.get_by_role("tab", name="Metrics").click()
            page.wait_for_timeout(2000)
            page.screenshot(path=str(DOCS / "compare-page.png"), full_page=True)

            page.get_by_test_id("stSidebar").get_by_role("link", name="Self-training", exact=True).click()
            page.locator(".st-key-selftrain-preset-names button").click()
            page.get_by_text("Collapse curves").first.wait_for(timeout=120_000)
            wait_for_runs(env["GENAUG_RUNS_DIR"])
            page.wait_for_timeout(6000)  # the live panel polls every 3 s
            page.screenshot(path=str(DOCS / "selftrain-page.png"), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
