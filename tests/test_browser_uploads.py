"""An upload in a real browser: the CSV's text column is preselected, and a run trained on it is listed
under the uploaded file's name, its data staged once as the Data page showed it (issue 12, items 5 and 6)."""

import json
from pathlib import Path

import pytest
from test_browser import _no_error_box, _serve, _upload, browser_context_args, browser_type_launch_args  # noqa: F401

from genaug_core import runs

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_csv_upload_trains_on_its_text_column_under_its_name(page, tmp_path):
    stage = tmp_path / "stage"
    csv = tmp_path / "reviews.csv"
    rows = [f"{i},a short review number {i} of this shop" for i in range(60)]
    csv.write_text("id,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with _serve(tmp_path / "runs", {"GENAUG_STAGE_DIR": str(stage)}) as server:
        _upload(page, server, csv)
        page.get_by_text("reviews.csv (60 texts)").first.wait_for(timeout=60_000)
        # the Text column box was left on its preselection: the staged file below holds the reviews, not the ids
        page.get_by_text("removed 24 h after its last use").first.wait_for()
        page.get_by_test_id("stSidebar").get_by_role("link", name="Train", exact=True).click()
        page.get_by_text("Model and schedule").wait_for(timeout=60_000)
        page.get_by_test_id("stSelectbox").filter(has_text="Model size").locator("input").click()
        page.get_by_role("option", name="tiny").first.click()
        page.get_by_label("Training steps").fill("5")
        page.get_by_role("button", name="Start training").click()
        page.get_by_text("done").first.wait_for(timeout=240_000)
        _no_error_box(page)
    (staged,) = (stage / "local").iterdir()
    lines = staged.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["items"] == 60
    assert [json.loads(line)["text"] for line in lines[1:]] == [r.split(",", 1)[1] for r in rows]
    (run,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    cfg = json.loads(Path(run, "config.json").read_text())
    assert cfg["data"]["name"] == "reviews.csv" and cfg["data"]["source"] == str(staged)
    (rec,) = runs.list_runs(tmp_path / "runs")  # what the runs table (a canvas grid) lists
    assert rec.state == "done" and rec.dataset == "reviews.csv"
