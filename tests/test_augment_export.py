"""Augmented copies, downloads (zip/npz/jsonl/csv/txt), the Python snippet and the `augment` command."""

import csv
import io
import json
import zipfile

import numpy as np
import pytest

from genaug_core.augment import export
from genaug_core.augment.pipeline import Pipeline, Step, default_pipeline
from genaug_core.cli import main
from genaug_core.data import TextDataset
from genaug_core.errors import ConfigError

TEXT_PIPE = Pipeline("text", (Step("char_edit", {"rate": 0.3}),), seed=4)


def test_copies_are_item_major_and_stable(tiny_images):
    pipe = default_pipeline("image")
    aug = export.augment_copies(tiny_images, pipe, copies=3, seed=1, include_original=True)
    assert aug.items.shape == (12 * 4, 8, 8, 1)
    assert aug.item.tolist()[:8] == [0, 0, 0, 0, 1, 1, 1, 1] and aug.copy.tolist()[:4] == [-1, 0, 1, 2]
    np.testing.assert_array_equal(aug.items[0], tiny_images.images[0])
    assert aug.labels.tolist()[:5] == [0, 0, 0, 0, 1]
    one = export.augment_copies(tiny_images, pipe, copies=1, seed=1)
    np.testing.assert_array_equal(one.items, aug.items[1::4])  # copy 0 is the same whatever K is


def test_copies_check_their_arguments(tiny_images, tiny_texts):
    with pytest.raises(ConfigError, match="copies"):
        export.augment_copies(tiny_images, default_pipeline("image"), copies=0)
    with pytest.raises(ConfigError, match="for texts"):
        export.augment_copies(tiny_images, TEXT_PIPE)


def test_image_zip_has_class_folders_and_the_pipeline(tiny_images):
    aug = export.augment_copies(tiny_images, default_pipeline("image"), copies=2)
    with zipfile.ZipFile(io.BytesIO(export.to_bytes(aug, "zip"))) as zf:
        names = zf.namelist()
        assert "a/item00000_aug0.png" in names and "b/item00001_aug1.png" in names
        assert len(names) == 24 + 1
        assert Pipeline.from_json(zf.read("pipeline.json")) == default_pipeline("image")
    with np.load(io.BytesIO(export.to_bytes(aug, "npz")), allow_pickle=False) as npz:
        assert npz["images"].shape == (24, 8, 8, 1) and npz["class_names"].tolist() == ["a", "b", "c"]


def test_text_formats_and_csv_formula_neutralisation():
    ds = TextDataset(name="t", source="test", texts=["=HYPERLINK(1)", "+1", "-x", "@me", "\tt", "plain, \"quoted\""])
    aug = export.augment_copies(ds, Pipeline("text"), copies=2)
    rows = list(csv.reader(io.StringIO(export.to_bytes(aug, "csv").decode("utf-8-sig"))))
    assert rows[0] == ["item", "copy", "text"]
    texts = [r[2] for r in rows[1:]]
    assert texts[::2] == ["'=HYPERLINK(1)", "'+1", "'-x", "'@me", "'\tt", 'plain, "quoted"']
    lines = export.to_bytes(aug, "jsonl").decode().splitlines()
    assert json.loads(lines[0]) == {"item": 0, "copy": 0, "text": "=HYPERLINK(1)"}  # JSONL keeps the text as is
    assert export.to_bytes(aug, "txt").decode().count("\n") == 12
    with pytest.raises(ConfigError, match="choose one of"):
        export.to_bytes(aug, "zip")


def test_python_snippet_runs(capsys):
    for pipe, builtin in [(default_pipeline("image"), "digits"), (TEXT_PIPE, None)]:
        code = export.python_snippet(pipe, builtin)
        namespace: dict = {}
        exec(compile(code, "snippet.py", "exec"), namespace)  # noqa: S102 - our own generated code
        assert namespace["pipeline"] == pipe
    assert "(16, 8, 8, 1) uint8" in capsys.readouterr().out


# --- the CLI ------------------------------------------------------------------------------


@pytest.fixture
def pipeline_files(tmp_path):
    image = tmp_path / "image.json"
    image.write_text(default_pipeline("image").to_json())
    text = tmp_path / "text.json"
    text.write_text(TEXT_PIPE.to_json())
    return image, text


def test_cli_writes_an_image_zip(tmp_path, pipeline_files, capsys):
    out = tmp_path / "out" / "digits.zip"
    rc = main(["augment", "digits", "--pipeline", str(pipeline_files[0]), "--copies", "2", "--seed", "3",
               "--limit", "20", "--out", str(out)])
    assert rc == 0
    assert "40 images (20 items x 2 versions)" in capsys.readouterr().out
    with zipfile.ZipFile(out) as zf:
        assert len(zf.namelist()) == 41


def test_cli_writes_png_folders_and_text(tmp_path, pipeline_files):
    folder = tmp_path / "pngs"
    assert main(["augment", "builtin:digits", "--pipeline", str(pipeline_files[0]), "--limit", "5",
                 "--include-original", "--out", str(folder)]) == 0
    assert len(list(folder.rglob("*.png"))) == 10 and (folder / "pipeline.json").exists()
    out = tmp_path / "names.jsonl"
    assert main(["augment", "names", "--pipeline", str(pipeline_files[1]), "--copies", "3", "--limit", "10",
                 "--out", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 30 and {r["copy"] for r in records} == {0, 1, 2}


@pytest.mark.parametrize(
    ("pipeline_text", "extra", "message"),
    [
        ('{"kind": "image", "steps": [{"augmenter": "affine", "params": {"rotate": [10, -10]}}]}', [],
         "pipeline.steps[0].params.rotate"),
        ("not json", [], "not valid JSON"),
        ('{"kind": "text", "steps": []}', [], "holds images"),
        ('{"kind": "image", "steps": []}', ["--copies", "0"], "copies = 0"),
        ('{"kind": "image", "steps": []}', ["--out-format"], None),
    ],
)
def test_cli_bad_input_exits_2_with_one_error_line(tmp_path, capsys, pipeline_text, extra, message):
    if message is None:
        with pytest.raises(SystemExit) as exc:  # argparse: unknown option
            main(["augment", "digits", "--pipeline", "p.json", "--out", "x.zip", *extra])
        assert exc.value.code == 2
        return
    path = tmp_path / "p.json"
    path.write_text(pipeline_text)
    rc = main(["augment", "digits", "--pipeline", str(path), "--limit", "3", "--out", str(tmp_path / "x.zip"),
               *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not (tmp_path / "x.zip").exists()


def test_cli_missing_pipeline_file_and_bad_suffix(tmp_path, pipeline_files, capsys):
    assert main(["augment", "digits", "--pipeline", str(tmp_path / "none.json"), "--out", "x.zip"]) == 2
    assert "none.json: cannot read the pipeline (No such file" in capsys.readouterr().err
    (tmp_path / "latin1.json").write_bytes('{"name": "café"}'.encode("latin-1"))
    assert main(["augment", "digits", "--pipeline", str(tmp_path / "latin1.json"), "--out", "x.zip"]) == 2
    assert "latin1.json: the pipeline is not UTF-8 text" in capsys.readouterr().err
    assert main(["augment", "digits", "--pipeline", str(pipeline_files[0]), "--limit", "2",
                 "--out", str(tmp_path / "x.csv")]) == 2
    assert "cannot tell the format" in capsys.readouterr().err


def test_originals_are_marked_and_bad_seeds_rejected(tiny_texts):
    aug = export.augment_copies(tiny_texts, TEXT_PIPE, copies=1, include_original=True)
    rows = list(csv.reader(io.StringIO(export.to_bytes(aug, "csv").decode("utf-8-sig"))))
    assert [r[1] for r in rows[1:3]] == ["original", "0"]
    assert json.loads(export.to_bytes(aug, "jsonl").decode().splitlines()[0])["copy"] == "original"
    with pytest.raises(ConfigError, match="seed = -1"):
        export.augment_copies(tiny_texts, TEXT_PIPE, seed=-1)
