"""The `python -m genaug_core check` contract: JSON keys, exit codes, one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "genaug_core", *map(str, args)],
        capture_output=True, text=True, cwd=cwd or ROOT, timeout=120,
    )


def test_builtin_json_report():
    res = run_cli("check", "builtin:names", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["kind"] == "text" and data["n_items"] > 5000 and data["n_skipped"] == 0
    assert data["skipped"] == []
    assert all({"level", "code", "message"} <= set(c) for c in data["checks"])


def test_text_file_report_with_warnings(tmp_path):
    f = tmp_path / "lines.txt"
    f.write_text("alpha\n\nbeta\nalpha\n", encoding="utf-8")
    res = run_cli("check", f, "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    got = {c["code"] for c in data["checks"]}
    assert {"empty", "exact_duplicates"} <= got and data["n_items"] == 4
    human = run_cli("check", f)
    assert human.returncode == 0 and "exact_duplicates" in human.stdout and "[warn ]" in human.stdout


def test_several_image_paths_load_as_one_dataset(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    paths = []
    for i in range(3):
        p = tmp_path / f"img{i}.png"
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    res = run_cli("check", *paths, bad, "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["kind"] == "image" and data["n_items"] == 3 and data["n_skipped"] == 1
    assert "broken.png" in data["skipped"][0]["item"]


@pytest.mark.parametrize(
    "content,name",
    [(b"", "empty.txt"), (b"\x00\x01\x02\xff" * 64, "garbage.bin"), (b"PK\x03\x04broken", "bad.zip")],
)
def test_rejected_input_exits_2_with_one_line(tmp_path, content, name):
    f = tmp_path / name
    f.write_bytes(content)
    res = run_cli("check", f)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: ") and name in lines[0]
    assert "Traceback" not in res.stderr


def test_missing_file_and_unknown_builtin(tmp_path):
    res = run_cli("check", tmp_path / "nope.txt")
    assert res.returncode == 2 and res.stderr.startswith("error: ") and "Traceback" not in res.stderr
    res = run_cli("check", "builtin:mnist")
    assert res.returncode == 2 and res.stderr.strip() == (
        "error: builtin:mnist: no built-in dataset of that name; known: digits, shapes, names, prose"
    )


def test_bad_option_value_is_a_one_line_error():
    res = run_cli("check", "builtin:digits", "--val-fraction", "0.9")
    assert res.returncode == 2
    assert res.stderr.strip() == "error: DataConfig.val_fraction = 0.9 is out of range; allowed: 0.05 to 0.5"


def test_check_does_not_import_torch():
    code = (
        "import sys; from genaug_core.cli import main; main(['check', 'builtin:digits', '--json']); "
        "heavy = [m for m in ('torch', 'transformers', 'diffusers', 'albumentations', 'nlpaug') if m in sys.modules]; "
        "print('HEAVY', heavy)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "HEAVY []" in res.stdout
