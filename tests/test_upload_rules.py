"""Upload hardening (issue 12, item 6): accepted image formats, decode budget, clear errors for
inconsistent arrays and tables, the text column default, and one rule for line breaks."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from genaug_core.data import limits, load_dataset
from genaug_core.data.uploads import default_column, load_files, table_columns
from genaug_core.errors import DataError
from genaug_core.train.setup import run_config_for

ROOT = Path(__file__).resolve().parents[1]


def png_bytes(size=(4, 3), color=(10, 20, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def ico_holding(png: bytes) -> bytes:
    """An .ico whose single entry is a whole PNG (as Windows Vista icons are)."""
    entry = struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 6 + 16)
    return struct.pack("<HHH", 0, 1, 1) + entry + png


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


# --- images -------------------------------------------------------------------------------------


def test_only_header_checked_formats_are_accepted(monkeypatch):
    big = Image.new("L", (3000, 3000))  # a PNG entry Pillow's ICO plugin would decode in full on open
    buf = io.BytesIO()
    big.save(buf, "PNG")
    ico = ico_holding(buf.getvalue())
    tga = io.BytesIO()
    Image.new("RGB", (4, 4)).save(tga, "TGA")
    calls = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: calls.append(self) or None)  # a decode
    with pytest.raises(DataError, match=r"icon.ico: .ico images are not accepted; the image formats are PNG, JPEG, BMP"):
        load_files([("icon.ico", ico)])
    with pytest.raises(DataError, match=r"icon.png: not an image in an accepted format \(PNG, JPEG"):  # ICO inside
        load_files([("icon.png", ico)])
    with pytest.raises(DataError, match="unsupported or binary content"):
        load_files([("picture.dat", tga.getvalue())])
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr("cats/a.ico", ico)
        zf.writestr("cats/b.ico", ico)
    with pytest.raises(DataError, match="not an image in an accepted format"):
        load_files([("icons.zip", zbuf.getvalue())])
    assert calls == []  # nothing was decoded
    monkeypatch.undo()
    for fmt in ("PNG", "JPEG", "BMP", "WEBP", "GIF", "TIFF"):
        out = io.BytesIO()
        Image.new("RGB", (5, 4), (200, 10, 10)).save(out, fmt)
        assert load_files([(f"a.{fmt.lower()}", out.getvalue())]).images.shape == (1, 4, 5, 3), fmt


def test_images_that_fail_to_decode_count_toward_the_decode_budget(monkeypatch):
    truncated = png_bytes((100, 100))[:60]  # a valid header, then the data stops: decoding fails
    monkeypatch.setattr(limits, "MAX_DECODED_PIXELS", 12 + 3 * 100 * 100)
    files = [("good.png", png_bytes())] + [(f"bad{i}.png", truncated) for i in range(3)] + [("late.png", png_bytes())]
    ds = load_files(files)
    reasons = " | ".join(s.reason for s in ds.skipped)
    assert len(ds) == 1 and "MAX_DECODED_PIXELS" in reasons and reasons.count("corrupt or truncated") == 3


def test_npz_labels_of_another_length_name_both_lengths():
    with pytest.raises(DataError, match=r"d.npz: 5 images in 'images' but 4 labels in 'labels'"):
        load_files([("d.npz", npz(images=np.zeros((5, 4, 4), np.uint8), labels=np.arange(4)))])


def test_npz_with_several_image_arrays_lists_keys_and_shapes():
    data = npz(train=np.zeros((6, 8, 8), np.uint8), test=np.zeros((2, 28, 28, 3), np.uint8))
    with pytest.raises(DataError, match=r"several image arrays and none named 'images'.*'train' \(6, 8, 8\), "
                                        r"'test' \(2, 28, 28, 3\); save the one to use as 'images'"):
        load_files([("mixed.npz", data)])
    named = npz(images=np.zeros((6, 8, 8), np.uint8), extra=np.zeros((2, 28, 28), np.uint8))
    assert load_files([("ok.npz", named)]).images.shape == (6, 8, 8, 1)  # a named array is the rule's answer


# --- tables and text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("csv", "column"),
    [
        (b"id,text\n1,the cat sat\n2,a dog ran\n", "text"),
        (b"id,Sentence,label\n1,hello there,a\n2,good night,b\n", "Sentence"),
        (b"id,code,body_of_post\n1,ab,a long line of words\n2,cd,another long line here\n", "body_of_post"),
        (b"n,name\n1,ada\n2,bob\n", "name"),
    ],
)
def test_csv_text_column_defaults_to_the_named_or_most_text_like(csv, column):
    ds = load_files([("t.csv", csv)])
    assert ds.meta["column"] == column and default_column("t.csv", csv) == column
    assert default_column("t.csv", csv) in table_columns("t.csv", csv)


def test_jsonl_prefers_a_field_named_like_text():
    data = b'{"id": "a1", "content": "hello world"}\n{"id": "a2", "content": "bye"}\n'
    assert load_files([("t.jsonl", data)]).texts == ["hello world", "bye"] and default_column("t.jsonl", data) == "content"


def test_csv_without_a_text_column_lists_the_columns():
    with pytest.raises(DataError, match=r"n.csv: no column holds text .* the columns are: 'id', 'x', 'y'; choose"):
        load_files([("n.csv", b"id,x,y\n1,2.5,3\n2,4,\n")])
    assert default_column("n.csv", b"id,x,y\n1,2.5,3\n") == ""


def test_text_file_without_a_non_empty_line_is_refused():
    with pytest.raises(DataError, match=r"blank.txt: no non-empty line: all 4 lines are empty or whitespace"):
        load_files([("blank.txt", b"\n  \n\t\n \n")])


SEPARATORS = ["\n", "\r\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("sep", SEPARATORS, ids=[f"U+{ord(s[-1]):04X}" for s in SEPARATORS])
def test_every_line_separator_splits_like_splitlines(sep):
    text = sep.join(["alpha", "beta", "", "gamma delta"]) + sep
    ds = load_files([("lines.txt", text.encode("utf-8"))])
    assert ds.texts == text.splitlines() == ["alpha", "beta", "", "gamma delta"]


def test_mixed_separators_count_the_same_in_preview_and_training(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAUG_STAGE_DIR", str(tmp_path))
    text = "one\rtwo\r\nthree\x0bfour\x0cfive\x1csix\x85seven\u2028eight\u2029nine\nten"
    shown = load_files([("odd.txt", text.encode("utf-8"))])  # what the Data page previews
    assert len(shown) == len(text.splitlines()) == 10
    cfg = run_config_for({"source": "upload", "files": ["odd.txt"]}, shown)
    assert load_dataset(cfg.data).texts == shown.texts  # what training reads


def test_check_cli_reads_the_text_column_not_the_ids(tmp_path):
    f = tmp_path / "data.csv"
    f.write_text("id,text\n1,the cat sat\n2,a dog ran\n3,birds sing\n", encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "genaug_core", "check", str(f)], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "text from column 'text'" in res.stdout
