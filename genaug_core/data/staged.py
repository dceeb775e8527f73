"""Staged uploads: the prepared dataset a training child reads, written once, read back exactly, and expired.

An uploaded dataset lives only in the app's memory. To train on it, the app
writes the dataset the Data page shows (after preprocessing) to one file in
the stage folder, and the run's config points at it with its SHA-256. The
child reads that file back as it is: no upload limit (resize to
MAX_STORED_SIDE, MAX_TOTAL_PIXELS, MAX_ITEMS, ...) runs again, so it trains on
exactly the items the user saw. The formats are plain and documented:

    images  <sha>.npz    np.savez_compressed: "images" uint8 (N, H, W, C),
                         optional "labels" int64 (N,) and "class_names" str (K,);
                         read with np.load(allow_pickle=False)
    text    <sha>.jsonl  UTF-8; line 1 {"genaug_staged": 1, "kind": "text", "items": N,
                         "class_names": [...] or null}; then one {"text": ..., "label": id}
                         per item ("label" only when labelled); lines split on "\\n" only
                         (json.dumps escapes every other line break inside a string)

Files live in <stage dir>/<owner>/ (owner = the workspace id in classroom
mode, "local" otherwise). Each staging or load refreshes the file's mtime
("last use"); `cleanup` removes files unused for longer than
$GENAUG_STAGE_TTL_HOURS (default 24) unless a queued or running run names
them, and `stage` refuses a file that would take the owner's staged uploads
over $GENAUG_STAGE_QUOTA_BYTES (default 1 GiB).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from genaug_core import runs
from genaug_core.budgets import fmt_bytes, positive_env
from genaug_core.data.containers import Dataset, ImageDataset, TextDataset
from genaug_core.errors import DataError

STAGE_ENV = "GENAUG_STAGE_DIR"
TTL_ENV = "GENAUG_STAGE_TTL_HOURS"
DEFAULT_TTL_HOURS = 24.0
QUOTA_ENV = "GENAUG_STAGE_QUOTA_BYTES"
DEFAULT_QUOTA_BYTES = 1024**3  # 1 GiB of staged uploads per workspace
LOCAL_OWNER = "local"  # the owner folder of single-user mode
FORMAT_VERSION = 1


def ttl_seconds() -> float:
    """How long a staged upload is kept after its last use: $GENAUG_STAGE_TTL_HOURS (default 24) hours."""
    return positive_env(TTL_ENV, DEFAULT_TTL_HOURS) * 3600.0


def quota_bytes() -> int:
    """Bytes of staged uploads one workspace may hold: $GENAUG_STAGE_QUOTA_BYTES (default 1 GiB)."""
    return int(positive_env(QUOTA_ENV, DEFAULT_QUOTA_BYTES))


def stage_root() -> Path:
    """Where staged uploads go: $GENAUG_STAGE_DIR, else <system temp>/genaug-data."""
    return Path(os.environ.get(STAGE_ENV) or Path(tempfile.gettempdir()) / "genaug-data")


def owner_dir(owner: str | None) -> Path:
    """The folder of one owner's staged uploads (a workspace id is hex, so it is a safe folder name)."""
    name = owner or LOCAL_OWNER
    if not name.isalnum():
        raise ValueError(f"not a workspace id: {name!r}")
    return stage_root() / name


# --- writing ----------------------------------------------------------------------------------


def encode(ds: Dataset) -> tuple[bytes, str]:
    """(bytes, extension) of the staged file for `ds`: the items exactly as they are."""
    if ds.kind == "image":
        arrays = {"images": np.ascontiguousarray(ds.images, dtype=np.uint8)}  # (N, H, W, C)
        if ds.labels is not None:
            arrays["labels"] = np.asarray(ds.labels, dtype=np.int64)  # (N,)
            arrays["class_names"] = np.array(list(ds.class_names or []), dtype=str)  # (K,)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        return buf.getvalue(), "npz"
    head = {"genaug_staged": FORMAT_VERSION, "kind": "text", "items": len(ds.texts),
            "class_names": list(ds.class_names) if ds.labels is not None else None}
    lines = [json.dumps(head)]
    for i, text in enumerate(ds.texts):
        rec: dict = {"text": text}
        if ds.labels is not None:
            rec["label"] = int(ds.labels[i])
        lines.append(json.dumps(rec))  # ensure_ascii: no raw line separator of any kind inside a line
    return ("\n".join(lines) + "\n").encode("utf-8"), "jsonl"


def usage(owner: str | None) -> int:
    """Bytes of staged uploads `owner` holds now."""
    folder = owner_dir(owner)
    try:
        return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    except OSError:
        return 0


def stage(ds: Dataset, owner: str | None = None) -> tuple[Path, str]:
    """Write `ds` once to its owner's stage folder, named by its content hash; (path, sha256).

    Expired files are removed first; a file that is new and would take the
    owner over the quota is refused with a DataError (nothing is written).
    """
    data, ext = encode(ds)
    sha = hashlib.sha256(data).hexdigest()
    folder = owner_dir(owner)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # only the app's user reads the staged data
    cleanup()
    path = folder / f"{sha[:24]}.{ext}"
    if path.exists():
        os.utime(path)  # staged again: its last use is now
        return path, sha
    used, quota = usage(owner), quota_bytes()
    if used + len(data) > quota:
        raise DataError(
            f"staging this dataset needs {fmt_bytes(len(data))}, but this workspace's staged uploads already take "
            f"{fmt_bytes(used)} of its {fmt_bytes(quota)} ({QUOTA_ENV}); they are removed "
            f"{ttl_seconds() / 3600:g} h after their last use ({TTL_ENV}), or use a smaller dataset",
            ds.name,
        )
    runs.write_bytes_atomic(path, data)
    return path, sha


# --- reading ----------------------------------------------------------------------------------


def load(path: str | Path, sha256: str, name: str = "") -> Dataset:
    """The dataset of a staged file, checked against the SHA-256 its run recorded; no upload limit applies.

    DataError when the file is gone (expired), changed, or not a staged file. `name` is how the user
    knows the dataset (the uploaded file's name).
    """
    path = Path(path)
    label = name or path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(
            f"the staged copy of this upload ({path.name}) is gone: staged uploads are removed "
            f"{ttl_seconds() / 3600:g} h after their last use ({TTL_ENV}); upload the file again and start a new run",
            label,
        ) from None
    except OSError as exc:
        raise DataError(f"cannot read the staged copy {path.name} ({exc.strerror})", label) from None
    found = hashlib.sha256(data).hexdigest()
    if found != sha256:
        raise DataError(
            f"the staged copy {path.name} changed since the run was configured "
            f"(sha256 {found[:16]}..., the run recorded {sha256[:16]}...); it is not the data that was shown",
            label,
        )
    try:
        os.utime(path)  # used now: restarts its time to live
    except OSError:
        pass
    ds = _read_npz(data, label) if path.suffix == ".npz" else _read_jsonl(data, label)
    ds.meta["staged_sha256"] = sha256
    return ds


def _read_npz(data: bytes, name: str) -> ImageDataset:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            images = z["images"]
            labels = z["labels"] if "labels" in z.files else None
            class_names = [str(c) for c in z["class_names"].tolist()] if "class_names" in z.files else None
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"not a staged image file ({type(exc).__name__})", name) from None
    if images.dtype != np.uint8 or images.ndim != 4:
        raise DataError(f"not a staged image file (images {images.dtype} {images.shape})", name)
    return ImageDataset(name=name, source=f"upload:{name}", images=images, labels=labels, class_names=class_names)


def _read_jsonl(data: bytes, name: str) -> TextDataset:
    try:
        lines = data.decode("utf-8").split("\n")
        head = json.loads(lines[0])
        records = [json.loads(line) for line in lines[1:] if line]
        texts = [r["text"] for r in records]
        labelled = head.get("class_names") is not None
        labels = np.array([r["label"] for r in records], dtype=np.int64) if labelled else None
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(f"not a staged text file ({type(exc).__name__})", name) from None
    if head.get("genaug_staged") != FORMAT_VERSION or len(texts) != head.get("items"):
        raise DataError("not a staged text file (header does not match its items)", name)
    return TextDataset(name=name, source=f"upload:{name}", texts=texts, labels=labels,
                       class_names=head.get("class_names"))


# --- expiry -----------------------------------------------------------------------------------


def needed_files(root: str | Path | None = None) -> set[Path]:
    """Staged files a queued or running run names (never removed)."""
    needed = set()
    for rec in runs.list_runs(root):
        if rec.state not in ("queued", "running"):
            continue
        try:
            source = runs.read_config_data(rec.path)["data"]["source"]
        except (KeyError, TypeError, runs.RunError):
            continue
        for part in str(source).split("::"):
            if part:
                needed.add(Path(part).resolve())
    return needed


def cleanup(now: float | None = None, runs_root: str | Path | None = None) -> list[Path]:
    """Remove staged files (of every owner) unused for longer than ttl_seconds(); returns what was removed.

    A file a queued or running run needs is kept whatever its age. Never raises.
    """
    now = time.time() if now is None else now
    cutoff = now - ttl_seconds()
    try:
        old = [p for d in stage_root().iterdir() if d.is_dir() for p in d.iterdir()
               if p.is_file() and p.stat().st_mtime < cutoff]
    except OSError:
        return []
    if not old:
        return []
    keep = needed_files(runs_root)
    removed = []
    for p in old:
        if p.resolve() in keep:
            continue
        try:
            p.unlink()
            removed.append(p)
        except OSError:
            pass
    return removed
