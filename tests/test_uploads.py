"""Upload loaders: good inputs in every supported format, and hostile ones.

Every input is built here, in memory (or in tmp_path for load_paths), and kept
tiny so the whole file runs in a few seconds.
"""

from __future__ import annotations

import io
import os
import pickle
import stat
import struct
import tempfile
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from genaug_core.data import limits
from genaug_core.data.containers import ImageDataset, TextDataset
from genaug_core.data.uploads import load_files, load_paths, table_columns
from genaug_core.errors import DataError

# ---------------------------------------------------------------- builders


def img_bytes(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def png(color=(10, 20, 30), size=(4, 3), mode="RGB") -> bytes:
    return img_bytes(Image.new(mode, size, color))


def make_zip(entries, compression=zipfile.ZIP_STORED) -> bytes:
    """entries: (name or ZipInfo, bytes) pairs."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def set_encrypted_flag(data: bytes, name: str) -> bytes:
    """Set the "encrypted" bit of one entry (zipfile's writer clears it) in its local and central headers."""
    out = bytearray(data)
    raw = name.encode()
    for sig, flag_at, len_at, name_at in ((b"PK\x03\x04", 6, 26, 30), (b"PK\x01\x02", 8, 28, 46)):
        pos = out.find(sig)
        while pos >= 0:
            (n,) = struct.unpack_from("<H", out, pos + len_at)
            if bytes(out[pos + name_at : pos + name_at + n]) == raw:
                out[pos + flag_at] |= 0x1
            pos = out.find(sig, pos + 4)
    return bytes(out)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with a tiny (wrong) payload: cheap to build, never decoded."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def npy(arr: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


UNPICKLED: list[str] = []


def _mark_unpickled() -> str:
    UNPICKLED.append("ran")
    return "pwned"


class Booby:
    """Unpickling this calls _mark_unpickled: proof that a loader unpickled something."""

    def __reduce__(self):
        return (_mark_unpickled, ())


def load_one(name: str, data: bytes, **kw):
    return load_files([(name, data)], **kw)


def reasons(ds) -> str:
    return " | ".join(f"{s.item}: {s.reason}" for s in ds.skipped)


# ---------------------------------------------------------------- text files


def test_txt_lines_keep_empty_and_strip_line_ends():
    ds = load_one("notes.txt", b"alpha\r\nbeta\r\n\r\ngamma\n")
    assert isinstance(ds, TextDataset)
    assert ds.texts == ["alpha", "beta", "", "gamma"]
    assert ds.name == "notes.txt" and ds.source == "upload:notes.txt"
    assert ds.meta["format"] == "txt" and ds.meta["encoding"] == "utf-8" and ds.meta["undecodable_bytes"] == 0
    assert ds.meta["empty_lines"] == 1 and ds.skipped == []


def test_txt_old_mac_line_ends():
    assert load_one("a.txt", b"one\rtwo\r").texts == ["one", "two"]


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("héllo\nwörld\n".encode(), "utf-8"),
        (b"\xef\xbb\xbf" + "héllo\nwörld\n".encode(), "utf-8-sig"),
        (b"\xff\xfe" + "héllo\nwörld\n".encode("utf-16-le"), "utf-16-le"),
        (b"\xfe\xff" + "héllo\nwörld\n".encode("utf-16-be"), "utf-16-be"),
    ],
)
def test_text_encodings(data, encoding):
    ds = load_one("names.txt", data)
    assert ds.texts == ["héllo", "wörld"]  # no BOM left in the first item
    assert ds.meta["encoding"] == encoding and ds.meta["undecodable_bytes"] == 0


def test_invalid_utf8_is_reported_not_fatal():
    ds = load_one("latin1.txt", "café\nnaïve\n".encode("latin-1"))
    assert ds.texts == ["caf\ufffd", "na\ufffdve"]
    assert ds.meta["undecodable_bytes"] == 2


def test_unknown_extension_with_text_reads_as_txt():
    ds = load_one("README", b"a\nb\n")
    assert ds.texts == ["a", "b"] and ds.meta["format"] == "txt"


def test_long_lines_skipped_and_item_limit(monkeypatch):
    monkeypatch.setattr(limits, "MAX_LINE_CHARS", 10)
    ds = load_one("a.txt", b"short\n" + b"x" * 11 + b"\nok\n")
    assert ds.texts == ["short", "ok"]
    assert ds.skipped[0].item == "a.txt line 2" and "line 2: 11 characters" in ds.skipped[0].reason
    assert "MAX_LINE_CHARS" in ds.skipped[0].reason

    monkeypatch.setattr(limits, "MAX_ITEMS", 3)
    ds = load_one("b.txt", b"1\n2\n3\n4\n5\n")
    assert ds.texts == ["1", "2", "3"]
    assert "MAX_ITEMS" in reasons(ds) and ds.meta["truncated_at_line"] == 3


def test_skipped_list_is_bounded(monkeypatch):
    monkeypatch.setattr(limits, "MAX_SKIPPED_LISTED", 5)
    lines = ["{bad"] * 50 + ['{"text": "ok"}']
    ds = load_one("a.jsonl", "\n".join(lines).encode())
    assert ds.texts == ["ok"]
    assert len(ds.skipped) == 6 and "45 more items" in ds.skipped[-1].reason
    assert ds.meta["skipped_total"] == 50


# ---------------------------------------------------------------- csv / tsv


def test_csv_semicolon_sniffed_default_column_and_labels():
    data = b"id;sentence;label\n1;hello, there;pos\n2;go away;neg\n3;fine\n4;nice;pos\n"
    ds = load_one("reviews.csv", data, label_column="label")
    assert ds.texts == ["hello, there", "go away", "nice"]  # id is numeric, so the text column is 'sentence'
    assert ds.class_names == ["neg", "pos"] and ds.labels.tolist() == [1, 0, 1]
    assert ds.meta["delimiter"] == ";" and ds.meta["column"] == "sentence" and ds.meta["label_column"] == "label"
    assert [s.item for s in ds.skipped] == ["reviews.csv line 4"]
    assert ds.skipped[0].reason.startswith("line 4: no column 'label'")


def test_tsv_column_by_name_and_quoted_newline():
    data = b'num\ttext\n1\t"two\nlines"\n2\tplain, with comma\n'
    ds = load_one("t.tsv", data, text_column="TEXT")  # names match case-insensitively
    assert ds.texts == ["two\nlines", "plain, with comma"] and ds.meta["delimiter"] == "\t"


def test_csv_without_header_column_by_index():
    ds = load_one("plain.csv", b"a,first\nb,second\n", text_column="1", has_header=False)
    assert ds.texts == ["first", "second"] and ds.meta["column"] == "1"


def test_csv_unknown_column_names_the_choices():
    with pytest.raises(DataError) as e:
        load_one("reviews.csv", b"a,b\n1,x\n", text_column="body")
    assert str(e.value).startswith("reviews.csv: no column 'body'") and "'a', 'b'" in str(e.value)


def test_csv_row_with_too_many_characters_is_skipped(monkeypatch):
    monkeypatch.setattr(limits, "MAX_LINE_CHARS", 50)
    data = b"text,n\nok,1\n" + b"x," * 100 + b"\nfine,2\n"
    ds = load_one("wide.csv", data)
    assert ds.texts == ["ok", "fine"] and "line 3: row longer than 50" in reasons(ds)


def test_table_columns():
    assert table_columns("a.csv", b"id;text;label\n1;hi;x\n") == ["id", "text", "label"]
    assert table_columns("a.tsv", b"x\ty\n1\t2\n") == ["x", "y"]
    assert table_columns("a.csv", b"1,2,3\n4,5,6\n", has_header=False) == ["0", "1", "2"]
    assert table_columns("a.jsonl", b'{"text": "a", "y": 1}\n{"z": "b"}\nnot json\n') == ["text", "y", "z"]
    assert table_columns("a.txt", b"a\nb\n") == []
    assert table_columns("a.csv", png()) == []


# ---------------------------------------------------------------- jsonl


def test_jsonl_default_field_labels_and_bad_lines():
    lines = [
        '{"text": "first", "y": "a"}',
        "{not json",
        "[1, 2]",
        '{"y": "b"}',
        '{"text": 5, "y": "b"}',
        "",
        '{"text": "second", "y": 3}',
    ]
    ds = load_one("data.jsonl", "\n".join(lines).encode(), label_column="y")
    assert ds.texts == ["first", "second"] and ds.class_names == ["3", "a"]
    r = [s.reason for s in ds.skipped]
    assert r[0].startswith("line 2: invalid JSON")
    assert r[1] == "line 3: a JSON array, not an object"
    assert r[2] == "line 4: no field 'text'"
    assert r[3] == "line 5: field 'text' is a number, not a string"


def test_jsonl_picks_first_string_field_or_the_named_one():
    data = b'{"n": 1, "name": "ann", "bio": "likes cats"}\n{"n": 2, "name": "bob", "bio": "dogs"}\n'
    assert load_one("p.jsonl", data).texts == ["ann", "bob"]
    assert load_one("p.jsonl", data, text_column="bio").texts == ["likes cats", "dogs"]


def test_jsonl_deep_nesting_and_huge_numbers_are_bad_lines():
    lines = ["[" * 15000, "1" * 5000, '{"text": "ok"}']
    ds = load_one("deep.jsonl", "\n".join(lines).encode())
    assert ds.texts == ["ok"] and [s.item for s in ds.skipped] == ["deep.jsonl line 1", "deep.jsonl line 2"]


def test_pretty_printed_json_gets_a_clear_message():
    with pytest.raises(DataError, match=r"^doc\.json: not JSON Lines"):
        load_one("doc.json", b'[\n  {"text": "a"}\n]\n')


# ---------------------------------------------------------------- image modes


def test_mode_1_and_l_stay_single_channel():
    a = np.zeros((3, 4), bool)
    a[0, 0] = True
    ds = load_one("bw.png", img_bytes(Image.fromarray(a)))
    assert isinstance(ds, ImageDataset) and ds.images.shape == (1, 3, 4, 1)
    assert ds.images[0, 0, 0, 0] == 255 and ds.images[0, 1, 1, 0] == 0
    assert ds.meta["original_modes"] == {"1": 1} and ds.meta["original_sizes"] == {"4x3": 1}
    ds = load_one("g.png", png(77, mode="L"))
    assert ds.images.shape == (1, 3, 4, 1) and (ds.images == 77).all()


def test_rgba_and_la_flatten_onto_white():
    rgba = np.array([[[255, 0, 0, 128], [0, 0, 0, 0], [10, 20, 30, 255]]], np.uint8)
    ds = load_one("a.png", img_bytes(Image.fromarray(rgba, "RGBA")))
    assert ds.images[0, 0].tolist() == [[255, 127, 127], [255, 255, 255], [10, 20, 30]]
    assert ds.meta["alpha_flattened"] == 1
    ds = load_one("la.png", img_bytes(Image.fromarray(np.array([[[0, 0], [0, 255], [100, 51]]], np.uint8), "LA")))
    assert ds.images.shape[-1] == 1
    assert ds.images[0, 0, :, 0].tolist() == [255, 0, 224]  # 100*0.2 + 255*0.8 = 224


def test_palette_with_transparency_becomes_white():
    img = Image.new("P", (2, 1))
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    img.putdata([0, 1])
    img.info["transparency"] = 1
    ds = load_one("p.png", img_bytes(img, transparency=1))
    assert ds.images.shape == (1, 1, 2, 3)
    assert ds.images[0, 0].tolist() == [[255, 0, 0], [255, 255, 255]]


def test_cmyk_to_rgb():
    ds = load_one("c.tif", img_bytes(Image.new("CMYK", (2, 2), (0, 255, 255, 0)), "TIFF"))
    assert ds.images.shape == (1, 2, 2, 3) and ds.images[0, 0, 0].tolist() == [255, 0, 0]


@pytest.mark.parametrize("fmt,mode", [("PNG", None), ("TIFF", "I;16B")])
def test_16_bit_is_divided_by_257(fmt, mode):
    a = np.array([[0, 257 * 100, 65535]], np.uint16)
    img = Image.frombytes(mode, (3, 1), a.astype(">u2").tobytes()) if mode else Image.fromarray(a)
    ds = load_one(f"deep.{fmt.lower()}", img_bytes(img, fmt))
    assert ds.images[0, 0, :, 0].tolist() == [0, 100, 255]
    assert ds.meta["scaled_16bit"] == 1 and ds.meta["channels"] == 1


@pytest.mark.parametrize("mode,values", [("I", [-1000, 0, 1000]), ("F", [0.5, 1.0, 1.5])])
def test_32_bit_and_float_are_minmax_scaled(mode, values):
    img = Image.fromarray(np.array([values], np.int32 if mode == "I" else np.float32), mode)
    ds = load_one("x.tif", img_bytes(img, "TIFF"))
    assert ds.images[0, 0, :, 0].tolist() == [0, 128, 255]
    assert ds.meta["minmax_scaled"] == 1 and ds.meta["original_modes"] == {mode: 1}


def test_exif_orientation_swaps_the_shape():
    img = Image.new("RGB", (8, 4), (200, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    ds = load_one("phone.jpg", img_bytes(img, "JPEG", exif=exif))
    assert ds.images.shape == (1, 8, 4, 3) and ds.meta["exif_transposed"] == 1
    assert ds.meta["original_sizes"] == {"4x8": 1}


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (4, 4), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=50)
    ds = load_one("anim.gif", buf.getvalue())
    assert ds.images.shape == (1, 4, 4, 3) and ds.images[0, 0, 0].tolist() == [255, 0, 0]
    assert ds.meta["animated_first_frame"] == 1


def test_several_images_resized_to_most_common_size_and_gray_replicated():
    files = [
        ("a.png", png((255, 0, 0), (4, 3))),
        ("b.png", png((0, 255, 0), (4, 3))),
        ("c.png", png(90, (8, 6), mode="L")),
        ("d.webp", img_bytes(Image.new("RGB", (4, 3), (0, 0, 255)), "WEBP", lossless=True)),
    ]
    ds = load_files(files)
    assert ds.name == "4 images" and ds.images.shape == (4, 3, 4, 3) and ds.labels is None
    assert ds.images[2, 1, 1].tolist() == [90, 90, 90]
    assert ds.meta["resized"] == 1 and ds.meta["original_sizes"] == {"4x3": 3, "8x6": 1}
    assert ds.meta["format"] == "files"


def test_stored_side_is_capped_keeping_aspect(monkeypatch):
    monkeypatch.setattr(limits, "MAX_STORED_SIDE", 16)
    ds = load_one("big.png", png((1, 2, 3), (40, 20)))
    assert ds.images.shape == (1, 8, 16, 3) and ds.meta["stored_size"] == "16x8"


@pytest.mark.parametrize("limit", ["MAX_TOTAL_PIXELS", "MAX_DECODED_PIXELS"])
def test_pixel_limits_keep_the_first_images(monkeypatch, limit):
    monkeypatch.setattr(limits, limit, 2 * 12)  # two 4x3 images
    ds = load_files([(f"{i}.png", png((i, 0, 0))) for i in range(3)])
    assert len(ds) == 2 and ds.images[:, 0, 0, 0].tolist() == [0, 1] and limit in reasons(ds)


# ---------------------------------------------------------------- zip archives


def test_zip_class_folders_become_labels():
    entries = [
        ("set/cats/1.png", png((1, 1, 1))),
        ("set/cats/2.png", png((2, 2, 2))),
        ("set/dogs/1.png", png((3, 3, 3))),
        ("set/dogs/notes.txt", b"not an image"),
        ("set/.DS_Store", b"\0\0junk"),
        ("__MACOSX/set/cats/._1.png", b"\0\0junk"),
        ("set/dogs/", b""),
    ]
    ds = load_one("pets.zip", make_zip(entries))
    assert ds.class_names == ["cats", "dogs"] and ds.labels.tolist() == [0, 0, 1]
    assert ds.meta["format"] == "zip" and ds.meta["junk_ignored"] == 2
    assert [(s.item, s.reason) for s in ds.skipped] == [
        ("pets.zip:set/dogs/notes.txt", "not an image: looks like text")
    ]


def test_zip_root_images_are_unlabelled_and_root_files_beside_folders_skipped():
    ds = load_one("flat.zip", make_zip([("a.png", png()), ("b.png", png())]))
    assert ds.labels is None and len(ds) == 2
    ds = load_one("mixed.zip", make_zip([("a.png", png()), ("cls/b.png", png())]))
    assert len(ds) == 1 and ds.class_names == ["cls"]
    assert ds.skipped[0].item == "mixed.zip:a.png" and "beside class folders" in ds.skipped[0].reason


def test_zip_unsafe_entries_are_skipped():
    link = zipfile.ZipInfo("cats/link.png")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    entries = [
        ("cats/ok.png", png()),
        ("../evil.png", png()),
        ("cats/../../evil2.png", png()),
        ("/etc/x.png", png()),
        ("cats\\..\\..\\win.png", png()),
        (link, b"../../../etc/passwd"),
        ("cats/locked.png", png()),
    ]
    ds = load_one("bad.zip", set_encrypted_flag(make_zip(entries), "cats/locked.png"))
    assert len(ds) == 1
    got = {s.item.split(":", 1)[1]: s.reason for s in ds.skipped}
    assert "leaves the archive" in got["../evil.png"] and "leaves the archive" in got["cats/../../evil2.png"]
    assert got["/etc/x.png"] == "absolute path"
    assert "backslash" in got["cats\\..\\..\\win.png"]
    assert "symbolic link" in got["cats/link.png"] and "encrypted" in got["cats/locked.png"]


def test_zip_bomb_by_ratio_is_rejected():
    data = make_zip([("a.png", png()), ("bomb.bmp", b"\0" * (4 * 1024 * 1024))], zipfile.ZIP_DEFLATED)
    with pytest.raises(DataError) as e:
        load_one("bomb.zip", data)
    assert str(e.value).startswith("bomb.zip: entry 'bomb.bmp' unpacks") and "zip bomb" in str(e.value)


def test_zip_entry_count_and_total_size_limits(monkeypatch):
    monkeypatch.setattr(limits, "MAX_ZIP_ENTRIES", 5)
    with pytest.raises(DataError, match=r"^many\.zip: more than 5 entries \(MAX_ZIP_ENTRIES\)"):
        load_one("many.zip", make_zip([(f"{i}.png", png()) for i in range(6)]))
    monkeypatch.setattr(limits, "MAX_ZIP_UNCOMPRESSED_BYTES", 100)
    with pytest.raises(DataError, match=r"^big\.zip: unpacks to .* \(MAX_ZIP_UNCOMPRESSED_BYTES\)"):
        load_one("big.zip", make_zip([("a.png", png()), ("b.png", png())]))


def test_not_a_valid_zip_and_zip_with_nothing_usable():
    with pytest.raises(DataError, match=r"^broken\.zip: not a valid zip file"):
        load_one("broken.zip", b"PK\x03\x04" + b"garbage" * 10)
    with pytest.raises(DataError) as e:
        load_one("junk.zip", make_zip([("x/readme.txt", b"hello"), ("x/y.png", b"hello again")]))
    assert str(e.value) == "junk.zip: no usable items: 2 skipped (first: x/readme.txt: not an image: looks like text)"


def test_npz_saved_with_a_zip_name_loads_as_arrays():
    ds = load_one("arrays.zip", npz(images=np.zeros((2, 3, 3), np.uint8)))
    assert ds.meta["format"] == "npz" and ds.images.shape == (2, 3, 3, 1)


# ---------------------------------------------------------------- hostile images


def test_corrupt_and_truncated_png():
    good = png((5, 6, 7), (16, 16))
    with pytest.raises(DataError, match=r"^cut\.png: corrupt or truncated image"):
        load_one("cut.png", good[: len(good) // 2])
    ds = load_files([("ok.png", good), ("bad.png", good[:40])])
    assert len(ds) == 1 and ds.skipped[0].item == "bad.png" and "corrupt" in ds.skipped[0].reason
    # the only colour image fails while decoding (its header was fine): the gray dataset stays 1-channel
    ds = load_files([("gray.png", png(50, (16, 16), mode="L")), ("cut.png", good[: len(good) // 2])])
    assert ds.images.shape == (1, 16, 16, 1) and "truncated" in ds.skipped[0].reason


def test_huge_image_header_is_skipped_before_decoding():
    with pytest.raises(DataError) as e:
        load_one("huge.png", png_header_only(8000, 8000))
    assert str(e.value).startswith("huge.png: 8000x8000 = 64.0M pixels") and "MAX_IMAGE_PIXELS" in str(e.value)
    # Far beyond Pillow's own bomb limit: Pillow refuses it while opening, and we report that
    ds = load_files([("ok.png", png()), ("bomb.png", png_header_only(20000, 20000))])
    assert len(ds) == 1 and "decompression bomb" in ds.skipped[0].reason


# ---------------------------------------------------------------- numpy arrays


def test_npy_grayscale_and_float_and_other_dtypes():
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    ds = load_one("a.npy", npy(a))
    assert ds.images.shape == (2, 3, 4, 1) and (ds.images[..., 0] == a).all() and ds.meta["format"] == "npy"

    ds = load_one("f.npy", npy(np.array([[[0.0, 0.5, 1.0]]], np.float32)))
    assert ds.images[0, 0, :, 0].tolist() == [0, 128, 255]

    ds = load_one("wide.npy", npy(np.array([[[-1.0, 0.0, 3.0]]])))
    assert ds.images[0, 0, :, 0].tolist() == [0, 64, 255] and "min-max scaled" in ds.meta["notes"][0]

    ds = load_one("b.npy", npy(np.array([[[True, False]]])))
    assert ds.images[0, 0, :, 0].tolist() == [255, 0]


def test_npy_channels_first_and_alpha():
    chw = np.zeros((1, 3, 2, 2), np.uint8)
    chw[0, 0] = 255  # red channel
    ds = load_one("c.npy", npy(chw))
    assert ds.images.shape == (1, 2, 2, 3) and ds.images[0, 0, 0].tolist() == [255, 0, 0]
    rgba = np.zeros((1, 1, 1, 4), np.uint8)  # fully transparent black
    assert load_one("t.npy", npy(rgba)).images[0, 0, 0].tolist() == [255, 255, 255]


@pytest.mark.parametrize(
    "arr,message",
    [
        (np.zeros((2, 3, 3), np.complex64), "unsupported dtype complex64"),
        (np.full((1, 2, 2), np.nan), "NaN or infinite"),
        (np.zeros((5, 5), np.uint8), "images need (N, H, W)"),
        (np.zeros((2, 2, 2, 2), np.uint8), "C = 1, 3 or 4"),
    ],
)
def test_npy_rejected_arrays(arr, message):
    with pytest.raises(DataError) as e:
        load_one("bad.npy", npy(arr))
    assert str(e.value).startswith("bad.npy: ") and message in str(e.value)


def test_npz_with_labels():
    x = np.zeros((4, 5, 5, 3), np.uint8)
    y = np.array([7, 3, 7, 3])
    ds = load_one("d.npz", npz(x=x, y=y))
    assert ds.images.shape == (4, 5, 5, 3) and ds.class_names == ["3", "7"] and ds.labels.tolist() == [1, 0, 1, 0]
    assert ds.meta["npz_images_key"] == "x" and ds.meta["npz_labels_key"] == "y"
    ds = load_one("n.npz", npz(images=x, labels=np.array([1, 0, 1, 1]), class_names=np.array(["cat", "dog"])))
    assert ds.class_names == ["cat", "dog"] and ds.labels.tolist() == [1, 0, 1, 1]
    with pytest.raises(DataError, match=r"e.npz: 2 images in 'pixels' but 3 labels in 'labels'; give one label per"):
        load_one("e.npz", npz(pixels=np.zeros((2, 3, 3), np.float64), labels=np.array([1, 2, 3])))
    with pytest.raises(DataError, match=r"2 images in 'x' but labels of shape \(2, 1\) in 'y'"):
        load_one("f.npz", npz(x=np.zeros((2, 3, 3), np.uint8), y=np.zeros((2, 1))))
    ds = load_one("g.npz", npz(x=np.zeros((2, 3, 3), np.uint8), y=np.array(["a", "b"])))
    assert ds.labels is None and ds.meta["labels_ignored"] == "expected 2 integers, found <U1"


def test_object_npy_is_rejected_without_unpickling():
    UNPICKLED.clear()
    arr = np.empty((1, 2, 2), dtype=object)
    arr[...] = Booby()
    data = npy(arr, allow_pickle=True)
    with pytest.raises(DataError) as e:
        load_one("evil.npy", data)
    assert str(e.value).startswith("evil.npy: holds Python objects") and "never loaded" in str(e.value)
    with pytest.raises(DataError, match="holds Python objects"):
        load_one("evil.npz", make_zip([("images.npy", data)]))
    assert UNPICKLED == []


def test_pickle_bytes_are_never_loaded():
    UNPICKLED.clear()
    with pytest.raises(DataError, match=r"^data\.npy: Python pickle data; pickles are never loaded"):
        load_one("data.npy", pickle.dumps(Booby()))
    assert UNPICKLED == []


# ---------------------------------------------------------------- content against extension


def test_png_named_txt_loads_as_image_and_text_named_png_does_not():
    assert isinstance(load_one("notes.txt", png()), ImageDataset)
    with pytest.raises(DataError, match=r"^x\.png: not an image: looks like text$"):
        load_one("x.png", b"hello, I am text\n")
    with pytest.raises(DataError, match=r"^x\.npy: not a \.npy file: looks like text"):
        load_one("x.npy", b"1,2,3\n")


def test_text_starting_like_a_bitmap_is_text_and_utf16_without_bom_is_explained():
    assert load_one("cars.txt", b"BMW and Audi\nVolvo\n").texts == ["BMW and Audi", "Volvo"]
    with pytest.raises(DataError, match="UTF-16 text without a byte-order mark"):
        load_one("u16.dat", "hello world, plain text\n".encode("utf-16-le"))


def test_empty_binary_and_oversize(monkeypatch):
    with pytest.raises(DataError, match=r"^empty\.txt: empty file"):
        load_one("empty.txt", b"")
    garbage = bytes((i * 37 + 11) % 256 for i in range(2000))
    with pytest.raises(DataError, match=r"^blob\.bin: unsupported or binary content"):
        load_one("blob.bin", garbage)
    monkeypatch.setattr(limits, "MAX_UPLOAD_BYTES", 10)
    with pytest.raises(
        DataError, match=r"^big\.txt: 11 bytes is over the upload limit of 10 bytes \(MAX_UPLOAD_BYTES\)"
    ):
        load_one("big.txt", b"x" * 11)


def test_several_files_must_all_be_images():
    with pytest.raises(DataError) as e:
        load_files([("a.txt", b"hi"), ("b.png", png())])
    assert str(e.value).startswith("2 files: mixes text files (a.txt) with other files (b.png)")
    with pytest.raises(DataError, match=r"several text files \(a\.txt, b\.csv\)"):
        load_files([("a.txt", b"hi"), ("b.csv", b"x\n1\n")])
    with pytest.raises(DataError, match=r"a\.zip must be uploaded on its own"):
        load_files([("a.zip", make_zip([("a.png", png())])), ("b.png", png())])
    with pytest.raises(DataError, match="no files given"):
        load_files([])


def test_mangled_inputs_only_ever_raise_data_error():
    seeds = [
        png((1, 2, 3), (8, 8)),
        make_zip([("c/a.png", png())]),
        npy(np.zeros((2, 4, 4), np.uint8)),
        npz(x=np.zeros((2, 3, 3))),
    ]
    names = ["a.png", "a.zip", "a.npy", "a.npz"]
    rng = np.random.default_rng(0)
    for name, good in zip(names, seeds, strict=True):
        variants = [good[:n] for n in (8, 20, 50, len(good) // 2, len(good) - 1)]
        for _ in range(6):
            b = bytearray(good)
            for pos in rng.integers(0, len(b), 4):
                b[pos] = int(rng.integers(0, 256))
            variants.append(bytes(b))
        for data in variants:
            try:
                load_one(name, data)
            except DataError:
                pass


# ---------------------------------------------------------------- paths on disk


def test_load_paths_files_and_checks(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_bytes(b"one\ntwo\n")
    assert load_paths([tmp_path / "a.txt"]).texts == ["one", "two"]
    for name in ("x.png", "y.png"):
        (tmp_path / name).write_bytes(png())
    ds = load_paths([str(tmp_path / "x.png"), str(tmp_path / "y.png")])
    assert len(ds) == 2 and ds.name == "2 images"
    with pytest.raises(DataError, match="no such file"):
        load_paths([tmp_path / "missing.txt"])
    os.mkfifo(tmp_path / "fifo")  # reading it would block forever
    with pytest.raises(DataError, match="not a regular file"):
        load_paths([tmp_path / "fifo"])

    # the size is checked from os.stat, before any read
    from genaug_core.data.uploads import loading

    monkeypatch.setattr(loading, "read_file", lambda *a, **k: pytest.fail("read before the size check"))
    monkeypatch.setattr(limits, "MAX_UPLOAD_BYTES", 4)
    with pytest.raises(DataError, match="MAX_UPLOAD_BYTES"):
        load_paths([tmp_path / "a.txt"])


def test_load_paths_folder_like_a_zip_without_following_symlinks(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(png((9, 9, 9)))
    root = tmp_path / "photos"
    for cls in ("cats", "dogs"):
        (root / cls).mkdir(parents=True)
        (root / cls / "1.png").write_bytes(png())
    (root / "dogs" / "sneaky.png").symlink_to(outside / "secret.png")
    (root / "dogs" / "linkdir").symlink_to(outside, target_is_directory=True)
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.png").write_bytes(png())
    ds = load_paths([root])
    assert ds.class_names == ["cats", "dogs"] and len(ds) == 2 and ds.meta["format"] == "folder"
    got = {s.item: s.reason for s in ds.skipped}
    assert got == {
        "photos/dogs/linkdir": "symbolic link (never followed)",
        "photos/dogs/sneaky.png": "symbolic link (never followed)",
    }
    with pytest.raises(DataError, match="a folder must be given on its own"):
        load_paths([root, root / "cats" / "1.png"])


def test_nothing_is_written_to_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(zipfile.ZipFile, "extract", lambda *a, **k: pytest.fail("extract called"))
    monkeypatch.setattr(zipfile.ZipFile, "extractall", lambda *a, **k: pytest.fail("extractall called"))
    load_one("pets.zip", make_zip([("cats/a.png", png()), ("../evil.png", png()), ("dogs/b.png", png())]))
    load_one("a.npz", npz(images=np.zeros((2, 3, 3), np.uint8)))
    load_one("a.csv", b"text\nhello\n")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- kind_of


def test_kind_of_builtins():
    from genaug_core.data import BUILTINS, kind_of

    assert {name: kind_of(name) for name in BUILTINS} == {
        "digits": "image", "shapes": "image", "names": "text", "prose": "text",
    }  # fmt: skip
    assert kind_of("builtin:names") == "text" and kind_of("builtin:digits") == "image"
    with pytest.raises(DataError, match=r"^builtin:mnist: no built-in dataset of that name; known: digits, "):
        kind_of("builtin:mnist")


def test_kind_of_files_by_content(tmp_path):
    from genaug_core.data.uploads import kind_of

    files = {
        "notes.txt": png(),  # a PNG named .txt loads as an image
        "x.png": b"hello, I am text\n",  # the loader refuses it ("not an image: looks like text"); it holds text
        "names.csv": b"name\nada\n",
        "pets.zip": make_zip([("cats/a.png", png())]),
        "arrays.txt": npy(np.zeros((2, 3, 3), np.uint8)),
        "readme.md": b"an extension the table does not know, text content\n",
        "picture.dat": img_bytes(Image.new("RGB", (30, 30)), "WEBP"),  # an extension the table does not know
        "long.log": b"a line\n" * 20_000,  # past the head kind_of reads first
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    got = {name: kind_of(tmp_path / name) for name in files}
    assert got == {
        "notes.txt": "image", "x.png": "text", "names.csv": "text", "pets.zip": "image", "arrays.txt": "image",
        "readme.md": "text", "picture.dat": "image", "long.log": "text",
    }  # fmt: skip
    # where the loader loads the file, it agrees
    for name in set(files) - {"x.png"}:
        ds = load_paths([tmp_path / name])
        assert got[name] == ("text" if isinstance(ds, TextDataset) else "image"), name
    (tmp_path / "photos" / "cats").mkdir(parents=True)
    assert kind_of(tmp_path / "photos") == "image"  # a folder loads like a zip


def test_kind_of_refused_content_and_missing_paths(tmp_path):
    from genaug_core.data import kind_of

    (tmp_path / "data.pkl").write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(DataError, match="pickle"):
        kind_of(tmp_path / "data.pkl")
    (tmp_path / "blob.bin").write_bytes(bytes(range(256)) * 400)  # past the head: the whole file is sniffed
    with pytest.raises(DataError, match="unsupported or binary content"):
        kind_of(str(tmp_path / "blob.bin"))
    os.mkfifo(tmp_path / "fifo")  # reading it would block forever
    with pytest.raises(DataError, match="not a regular file"):
        kind_of(tmp_path / "fifo")
    # a path that does not exist: the extension table answers (unknown extensions: image, as before)
    missing = {name: kind_of(str(tmp_path / name)) for name in ("gone.csv", "gone.jsonl", "gone.png", "gone.npz", "gone")}
    assert missing == {"gone.csv": "text", "gone.jsonl": "text", "gone.png": "image", "gone.npz": "image", "gone": "image"}


def test_kind_of_source_with_several_paths(tmp_path):
    from genaug_core.data import kind_of

    (tmp_path / "a.txt").write_bytes(png())
    (tmp_path / "b.png").write_bytes(png())
    assert kind_of(f"{tmp_path / 'a.txt'}::{tmp_path / 'b.png'}") == "image"  # the first path answers, by content
    assert kind_of(f"{tmp_path / 'gone.csv'}::{tmp_path / 'b.png'}") == "text"
    assert kind_of(f"::{tmp_path / 'gone.tsv'}") == "text"  # empty parts are ignored, as load_dataset does
