"""Benchmark: issue 13's done-when, through the app in a real browser.

    .venv/bin/python bench/app_photos.py [--minutes 5] [--every 60] [--size 32] [--screenshot docs/app-photos32-5min.png]

The 300 training photos of `bench/train_image.py --dataset photos` (random crops of scikit-learn's china.jpg and
flower.jpg, one class folder each) are zipped and uploaded on the Data page of a real `streamlit run app.py`
(localhost only) driven by Debian's Chromium; the Train page's Start training is pressed with every setting left
at its default. From then on, every --every seconds the Sample page samples the run's newest checkpoint
(Sample, then Refresh), as a teacher would in front of a class, until --minutes after Start. Printed: the
time of each step, what each sampling drew from ("step 1,200 of 2,000, EMA weights"), and, computed afterwards
outside the app, the FD (the project's learnt features, as in bench/train_image.py) of 256 class-conditional
samples from each sampled checkpoint against the 200 held-out photos the app never saw, so the figures compare
with the bench's table. The last Sample page is saved as a screenshot.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def photos_zip(ds, path: Path) -> None:
    """The dataset's training part as a zip with one folder per class (the upload's class labels)."""
    from PIL import Image

    with zipfile.ZipFile(path, "w") as zf:
        for i in ds.split.train:
            buf = io.BytesIO()
            Image.fromarray(ds.images[i]).save(buf, format="PNG")
            zf.writestr(f"{ds.class_names[ds.labels[i]]}/{i:04d}.png", buf.getvalue())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=5.0, help="sample until this long after Start training")
    ap.add_argument("--every", type=float, default=60.0, help="seconds between samplings on the Sample page")
    ap.add_argument("--size", type=int, default=32, help="photo side in pixels")
    ap.add_argument("-n", type=int, default=256, help="samples per FD, computed after the run")
    ap.add_argument("--screenshot", type=Path, help="PNG of the last Sample page")
    args = ap.parse_args()

    from classroom import serve  # bench/classroom.py: the real app on a free localhost port
    from machine import describe  # bench/machine.py
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright
    from train_image import photos_dataset

    print(f"machine: {describe()}")
    ds = photos_dataset(args.size)
    tmp = Path(tempfile.mkdtemp(prefix="genaug-app-photos-"))
    upload = tmp / f"photos{args.size}.zip"
    photos_zip(ds, upload)
    runs_dir = tmp / "runs"
    runs_dir.mkdir()
    server, port = serve({**os.environ, "GENAUG_RUNS_DIR": str(runs_dir), "GENAUG_STAGE_DIR": str(tmp / "stage")})
    url = f"http://127.0.0.1:{port}"
    samplings: list[dict] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t = time.perf_counter()
            page.goto(url + "/Data")
            page.get_by_text("Source").first.wait_for(timeout=60_000)
            page.get_by_text("Upload", exact=True).click()
            page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(upload))
            page.get_by_text(f"{upload.name} ({len(ds.split.train)} images,").first.wait_for(timeout=120_000)
            print(f"Data page: {upload.name} uploaded and reported in {time.perf_counter() - t:.1f} s")
            page.get_by_test_id("stSidebar").get_by_role("link", name="Train", exact=True).click()
            page.get_by_text("Model and schedule").wait_for(timeout=60_000)
            page.get_by_role("button", name="Start training").click()  # every setting left at its default
            start = time.perf_counter()
            page.get_by_test_id("stSidebar").get_by_role("link", name="Sample").click()
            sample_button = page.get_by_role("button", name="Sample", exact=True)
            while True:  # the page offers Sample once the run has saved a checkpoint; until then, look again
                try:
                    sample_button.wait_for(timeout=5_000)
                    break
                except PlaywrightTimeout:
                    if time.perf_counter() - start > args.minutes * 60:
                        raise SystemExit(f"no checkpoint to sample within {args.minutes:g} minutes of Start") from None
                    page.reload()
            button = sample_button
            while True:
                clicked = time.perf_counter() - start
                button.click()
                text = sampled_line(page, samplings[-1]["weights"] if samplings else "", PlaywrightTimeout)
                shown = time.perf_counter() - start
                step = int(re.search(r"step ([\d,]+)", text).group(1).replace(",", ""))
                keep_checkpoint(run_folder(runs_dir), step, tmp / "kept")
                samplings.append({"clicked_s": clicked, "shown_s": shown, "weights": text, "step": step})
                print(
                    f"Sample page at {clicked:5.0f} s after Start: {text} (grid on screen {shown - clicked:.1f} s later)"
                )
                if clicked >= args.minutes * 60:
                    break
                left = args.minutes * 60 - (time.perf_counter() - start)
                page.wait_for_timeout(max(0.0, min(args.every, left)) * 1000)
                button = page.get_by_role("button", name="Refresh")
            if args.screenshot:
                args.screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.screenshot), full_page=True)
                print(f"screenshot: {args.screenshot}")
            assert page.locator("[data-testid='stException']").count() == 0, "a traceback on the page"
            browser.close()
    finally:
        stop_runs(runs_dir)
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
    try:
        score(runs_dir, ds, samplings, args.n, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the photos, the run and its kept checkpoints


def sampled_line(page, previous: str, timeout_error) -> str:
    """The page's "Sampled from ..." line once the grid is drawn: a new line, or, when the newest checkpoint is
    still the one sampled before (the same line), the line after 30 s (sampling a grid takes ~3 s here)."""
    script = (
        "prev => { const e = [...document.querySelectorAll('p')].find(p => p.innerText.startsWith('Sampled from'));"
        " return e && e.innerText !== prev ? e.innerText : null; }"
    )
    try:
        return page.wait_for_function(script, arg=previous, timeout=180_000 if not previous else 30_000).json_value()
    except timeout_error:
        if not previous:
            raise
        return previous


def run_folders(runs_dir: Path) -> list[Path]:
    return [p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]


def run_folder(runs_dir: Path) -> Path:
    (run,) = run_folders(runs_dir)
    return run


def keep_checkpoint(run: Path, step: int, kept: Path) -> None:
    """Copy the sampled checkpoint aside (the run prunes old ones), to score it after the run."""
    from genaug_core import runs

    for s, path in runs.list_checkpoints(run):
        if s == step and not (kept / path.name).exists():
            shutil.copytree(path, kept / path.name)


def stop_runs(runs_dir: Path) -> None:
    """Ask every run to stop (the training process outlives the server) and wait up to 120 s."""
    from genaug_core import runs

    folders = run_folders(runs_dir)
    for run in folders:
        (run / runs.STOP_FILE).write_text("bench over")
    deadline = time.time() + 120
    while time.time() < deadline and any(runs.read_status(r).get("state") in ("running", "queued") for r in folders):
        time.sleep(1)


def score(runs_dir: Path, ds, samplings: list[dict], n: int, tmp: Path) -> None:
    """FD of each sampled checkpoint against the held-out photos, outside the app, after the run stopped."""
    from train_image import score_checkpoint

    from genaug_core import runs

    run = run_folder(runs_dir)
    log = (run / runs.LOG_FILE).read_text(encoding="utf-8").splitlines()
    print(f"run {run.name}: " + next((ln.split("] ", 1)[-1] for ln in log if "] model: " in ln), "?"))
    for path in sorted((tmp / "kept").glob("checkpoint-*")):  # put the kept checkpoints back to load them
        target = run / path.relative_to(tmp / "kept")
        if not target.exists():
            shutil.copytree(path, target)
    print(f"\n| Sample page at (s after Start) | sampled from | FD, {n} class-conditional samples |")
    print("|---:|---|---:|")
    for s in samplings:
        metrics, _ = score_checkpoint(run, s["step"], ds, n, tmp / "features")
        weights = s["weights"].removeprefix("Sampled from ").rstrip(".")
        print(f"| {s['clicked_s']:.0f} | {weights} | {metrics['fd']:.2f} |")


if __name__ == "__main__":
    main()
