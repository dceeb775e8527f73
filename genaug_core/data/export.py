"""Export a dataset for download: text as .txt / .csv / .jsonl, images as .zip of PNGs / .npz.

Everything is built in memory and returned as bytes (Streamlit's download
button takes bytes; nothing is written to disk). CSV cells that a spreadsheet
would run as a formula (starting with = + - @, a tab or a carriage return)
are neutralised with a leading apostrophe. The image zip uses one folder per
class, so it loads back into GenAug with the same labels.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile

import numpy as np

from genaug_core.data.containers import Dataset, ImageDataset, TextDataset

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> str:
    """A CSV cell that no spreadsheet will evaluate as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_bytes(header: list[str], rows) -> bytes:
    """Rows to UTF-8 CSV (with BOM, so spreadsheets pick the encoding) with every cell neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([neutralise_cell(h) for h in header])
    for row in rows:
        writer.writerow([neutralise_cell(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def _split_names(ds: Dataset) -> list[str]:
    names = ["train"] * len(ds)
    for i in ds.split.validation:
        names[i] = "validation"
    return names


def text_to_txt(ds: TextDataset) -> bytes:
    """One item per line; line breaks inside an item become spaces (a .txt cannot hold them)."""
    return "".join(re.sub(r"[\r\n]+", " ", t) + "\n" for t in ds.texts).encode("utf-8")


def text_to_csv(ds: TextDataset) -> bytes:
    splits = _split_names(ds)
    labels = [ds.class_names[i] for i in ds.labels] if ds.labels is not None and ds.class_names else None
    header = ["id", "split", "text"] + (["label"] if labels else [])
    rows = ([i, splits[i], t] + ([labels[i]] if labels else []) for i, t in enumerate(ds.texts))
    return csv_bytes(header, rows)


def text_to_jsonl(ds: TextDataset) -> bytes:
    splits = _split_names(ds)
    lines = []
    for i, t in enumerate(ds.texts):
        rec = {"id": i, "split": splits[i], "text": t}
        if ds.labels is not None and ds.class_names:
            rec["label"] = ds.class_names[ds.labels[i]]
        lines.append(json.dumps(rec, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _safe_folder(name: str) -> str:
    cleaned = re.sub(r"[^\w.-]+", "_", name).strip("._")
    return cleaned or "class"


def png_bytes(image: np.ndarray) -> bytes:
    """(H, W, C) uint8 -> PNG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buf, format="PNG")
    return buf.getvalue()


def images_to_zip(ds: ImageDataset) -> bytes:
    buf = io.BytesIO()
    width = len(str(max(len(ds) - 1, 0)))
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i, img in enumerate(ds.images):
            folder = ""
            if ds.labels is not None and ds.class_names:
                folder = _safe_folder(ds.class_names[ds.labels[i]]) + "/"
            zf.writestr(f"{folder}{i:0{width}d}.png", png_bytes(img))
    return buf.getvalue()


def images_to_npz(ds: ImageDataset) -> bytes:
    """images (N, H, W, C) uint8, labels (N,) int64 and class_names (str array): no pickle needed to load."""
    buf = io.BytesIO()
    arrays = {"images": ds.images}
    if ds.labels is not None:
        arrays["labels"] = ds.labels
        arrays["class_names"] = np.array(ds.class_names or [], dtype=str)
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


# format name -> (function, file extension, MIME type)
TEXT_FORMATS = {
    "txt": (text_to_txt, "txt", "text/plain"),
    "csv": (text_to_csv, "csv", "text/csv"),
    "jsonl": (text_to_jsonl, "jsonl", "application/jsonl"),
}
IMAGE_FORMATS = {
    "zip of PNGs": (images_to_zip, "zip", "application/zip"),
    "npz": (images_to_npz, "npz", "application/octet-stream"),
}


def lossless_file(ds: Dataset) -> tuple[bytes, str]:
    """(bytes, extension) of one file the upload loaders read back as the same dataset: .jsonl for text
    (items and labels), .npz for images (pixels, labels, class names)."""
    return (text_to_jsonl(ds), "jsonl") if ds.kind == "text" else (images_to_npz(ds), "npz")
