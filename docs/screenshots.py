"""Re-make the screenshots in docs/ from a real session (Debian's chromium + Playwright).

    .venv/bin/python docs/screenshots.py

Starts the app on a free port with a temporary runs folder, then: the Data
page on names; the Augment page on digits; a names run of the default
("small") model on the Train page, photographed mid-run; the Sample page once
it is done. Takes about three minutes on 2 cores.
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
            browser.close()
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
