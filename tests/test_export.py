import csv
import io
import json
import zipfile

import numpy as np

from genaug_core.data import ImageDataset, TextDataset
from genaug_core.data.export import (
    images_to_npz,
    images_to_zip,
    neutralise_cell,
    text_to_csv,
    text_to_jsonl,
    text_to_txt,
)


def test_formula_cells_are_neutralised():
    for bad in ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx"]:
        assert neutralise_cell(bad) == "'" + bad
    assert neutralise_cell("plain") == "plain" and neutralise_cell(None) == ""


def test_text_csv_is_safe_and_complete():
    ds = TextDataset(name="t", source="t", texts=["=HYPERLINK(\"x\")", "ok, with comma", "line\nbreak"],
                     labels=np.array([0, 1, 0]), class_names=["a", "-b"])
    rows = list(csv.reader(io.StringIO(text_to_csv(ds).decode("utf-8-sig"))))
    assert rows[0] == ["id", "split", "text", "label"]
    assert rows[1][2] == "'=HYPERLINK(\"x\")" and rows[2][2] == "ok, with comma" and rows[3][2] == "line\nbreak"
    assert rows[2][3] == "'-b"
    assert {r[1] for r in rows[1:]} <= {"train", "validation"}


def test_text_txt_and_jsonl():
    ds = TextDataset(name="t", source="t", texts=["a", "b\nc", "ünï"])
    assert text_to_txt(ds).decode() == "a\nb c\nünï\n"
    recs = [json.loads(line) for line in text_to_jsonl(ds).decode().splitlines()]
    assert [r["text"] for r in recs] == ["a", "b\nc", "ünï"]


def test_image_zip_uses_class_folders(tiny_images):
    with zipfile.ZipFile(io.BytesIO(images_to_zip(tiny_images))) as zf:
        names = zf.namelist()
    assert len(names) == 12 and {n.split("/")[0] for n in names} == {"a", "b", "c"}


def test_image_npz_loads_without_pickle(tiny_images):
    with np.load(io.BytesIO(images_to_npz(tiny_images)), allow_pickle=False) as data:
        assert np.array_equal(data["images"], tiny_images.images)
        assert data["labels"].tolist() == tiny_images.labels.tolist()
        assert data["class_names"].tolist() == ["a", "b", "c"]


def test_exports_load_back_through_the_upload_path(tiny_images, tiny_texts):
    from genaug_core.data.uploads import load_files

    back = load_files([("x.zip", images_to_zip(tiny_images))])
    assert isinstance(back, ImageDataset) and back.images.shape == (12, 8, 8, 1)
    assert sorted(back.class_names) == ["a", "b", "c"]
    # same pixels per class (order inside the zip may differ)
    for cls in ["a", "b", "c"]:
        want = tiny_images.images[tiny_images.labels == tiny_images.class_names.index(cls)]
        got = back.images[back.labels == back.class_names.index(cls)]
        assert sorted(map(bytes, want)) == sorted(map(bytes, got))
    npz = load_files([("x.npz", images_to_npz(tiny_images))])
    assert np.array_equal(npz.images, tiny_images.images)
    assert load_files([("t.txt", text_to_txt(tiny_texts))]).texts == tiny_texts.texts
    assert load_files([("t.csv", text_to_csv(tiny_texts))], text_column="text").texts == tiny_texts.texts
