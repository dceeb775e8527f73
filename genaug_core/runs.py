"""Run folders: the single source of truth about a training run.

A training child writes, and the pages, the CLI and evaluation only read:

    runs/<id>/config.json         the full RunConfig (JSON)
    runs/<id>/status.json         state, step, total, pid, error, timestamps, speed and ETA
    runs/<id>/metrics.jsonl       one JSON object per logging step or evaluation
    runs/<id>/checkpoint-<step>/  resumable checkpoints (the newest N are kept)
        model/                    save_pretrained weights (+ tokenizer) at that step
        optimizer.safetensors     AdamW's state tensors, optimizer.json its settings
        ema.safetensors           the weight average, when EMA is on
        state.json                step, elapsed time, counters
    runs/<id>/model/              the final save_pretrained model (safetensors)
    runs/<id>/samples/            step-<step>.txt (one sample a line) or step-<step>.png (a grid)
    runs/<id>/log.txt             the child's output, tracebacks included
    runs/<id>/evaluation.json     scores of the final model (genaug_core.evaluate; evaluation-<step>.json
                                  for a checkpoint), beside <stem>-details.json and, for images,
                                  <stem>-samples.npz: scored samples with their nearest training items
    runs/<id>/STOP                present = please stop (the loop saves and marks the run cancelled)
    runs/<id>/owner.json          {"workspace": <hash of the workspace token> | null, "published": bool}
                                  (genaug_core.workspaces; absent = made outside the app, e.g. by the CLI)
    runs/<id>/.status.lock        what write_status holds (flock) while it merges fields into status.json

Writes are atomic: a JSON file is written to a temp file and os.replace'd;
a folder (checkpoint, final model) is written under a ".tmp-" name and
renamed when complete. So a reader never sees half a file, and kill -9 at
any moment leaves the newest complete checkpoint loadable. Nothing here is
ever unpickled: tensors are safetensors, everything else JSON.

`list_runs()` never raises: a folder it cannot make sense of is listed with
`broken` set to the reason. A "running" status is believed only while its
process is the one that was launched (same pid and start time on this host)
and its heartbeat (`updated`) is younger than HEARTBEAT_STALE_S. The runs root is ./runs unless GENAUG_RUNS_DIR
says otherwise. Run ids are generated here, never taken from user text.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import re
import secrets
import shutil
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from genaug_core.errors import RunError
from genaug_core.procs import pid_alive, process_start_time, same_process, this_process  # noqa: F401 (re-exported)

RUNS_ENV = "GENAUG_RUNS_DIR"
CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
METRICS_FILE = "metrics.jsonl"
EVALUATION_FILE = "evaluation.json"  # the final model's scores (genaug_core.evaluate; evaluation-<step>.json: a checkpoint's)
LOG_FILE = "log.txt"
STOP_FILE = "STOP"
OWNER_FILE = "owner.json"
STATUS_LOCK_FILE = ".status.lock"
HEARTBEAT_EVERY_S = 30.0  # a training process stamps status.json's `updated` at least this often
HEARTBEAT_STALE_S = 600.0  # a "running" run not heard from for this long is failed (hung, or on a lost host)
MODEL_DIR = "model"
SAMPLES_DIR = "samples"
CHECKPOINT_PREFIX = "checkpoint-"
TMP_PREFIX = ".tmp-"
READ_PREFIX = ".tmp-read-"  # a reader's private hard-linked copy of a checkpoint (kinds.base.stable_checkpoint)

STATES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")
RUN_ID_RE = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
_CHECKPOINT_RE = re.compile(r"^checkpoint-([0-9]+)$")


# --- locations ---------------------------------------------------------------


def runs_root(root: str | Path | None = None) -> Path:
    """The folder that holds all run folders: `root`, else $GENAUG_RUNS_DIR, else ./runs."""
    return Path(root or os.environ.get(RUNS_ENV) or "runs")


def new_run_id() -> str:
    """A fresh id like 20261118-181847-3fa2c1: sortable by start time, never from user text."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def run_path(run_id: str, root: str | Path | None = None) -> Path:
    """The folder of run `run_id`; rejects anything that is not a generated id (no path tricks)."""
    if not RUN_ID_RE.match(run_id or ""):
        raise RunError(f"{run_id!r} is not a run id (expected something like 20261118-181847-3fa2c1)")
    return runs_root(root) / run_id


# --- atomic writes -------------------------------------------------------------


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write bytes to a temp file beside `path`, fsync it, then os.replace: readers see old or new, never half.
    The temp name carries the process and thread, so two writers never share one."""
    path = Path(path)
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}.{os.getpid()}.{threading.get_ident()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """JSON through write_bytes_atomic."""
    write_bytes_atomic(path, json.dumps(obj, indent=2).encode("utf-8"))


def write_png(path: str | Path, picture: Any, scale: int = 1) -> None:
    """One uint8 (H, W, C) picture as a PNG (atomically), optionally enlarged `scale` times (nearest)."""
    import io

    from PIL import Image

    if scale > 1:
        picture = picture.repeat(scale, axis=0).repeat(scale, axis=1)
    buf = io.BytesIO()
    Image.fromarray(picture[..., 0] if picture.shape[-1] == 1 else picture).save(buf, format="PNG")
    write_bytes_atomic(path, buf.getvalue())


@contextlib.contextmanager
def atomic_dir(final: str | Path) -> Iterator[Path]:
    """Yield a temp folder beside `final`; on success it replaces `final` in one rename.

    If the body raises (or the process dies), `final` is untouched and the temp
    folder is removed (or, after kill -9, left behind for the next writer to clear).
    """
    final = Path(final)
    tmp = final.with_name(f"{TMP_PREFIX}{final.name}")
    shutil.rmtree(tmp, ignore_errors=True)  # a leftover from a killed writer
    tmp.mkdir(parents=True)
    try:
        yield tmp
        _fsync_tree(tmp)
        if final.exists():  # e.g. model/ written again after a resume: swap the old one out first
            old = final.with_name(f"{TMP_PREFIX}old-{final.name}")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())


def clear_temp(run_dir: str | Path) -> list[str]:
    """Remove ".tmp-" leftovers of killed writers from a run folder; returns their names."""
    removed = []
    for p in Path(run_dir).glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        removed.append(p.name)
    return removed


# --- creating a run and its status -------------------------------------------------


def create_run(
    config, root: str | Path | None = None, run_dir: str | Path | None = None, owner: str | None = None
) -> Path:
    """Make a run folder with config.json and status "queued"; returns its path.

    The folder is built under a temp name and renamed, so a listed run always
    has its config (and its owner). `run_dir` chooses the folder (the CLI's
    --run-dir); otherwise a new id under the runs root is generated. `owner`:
    the workspace id (a hash, genaug_core.workspaces) written to owner.json.
    """
    if run_dir is None:
        root_path = runs_root(root)
        root_path.mkdir(parents=True, exist_ok=True)
        run_dir = root_path / new_run_id()
        while run_dir.exists():  # two runs started in the same second
            run_dir = root_path / new_run_id()
    run_dir = Path(run_dir)
    if (run_dir / CONFIG_FILE).exists():
        raise RunError(f"{run_dir} already holds a run; use --resume to continue it or pick another folder")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    if run_dir.exists() and any(run_dir.iterdir()):
        raise RunError(f"{run_dir} is not empty and is not a run folder; pick another folder")
    with atomic_dir(run_dir) as tmp:
        write_json_atomic(tmp / CONFIG_FILE, config.to_dict())
        now = time.time()
        write_json_atomic(
            tmp / STATUS_FILE,
            {"state": "queued", "step": 0, "created": now, "updated": now,
             "total": config.train.steps * max(1, config.self_train.rounds)},  # self-training: every round's steps
        )
        if owner is not None:
            write_json_atomic(tmp / OWNER_FILE, {"workspace": owner, "published": False})
    return run_dir


def _read_json(path: Path, missing: str, what: str) -> Any:
    """A run folder's JSON file; RunError saying `missing` when it is absent, or that `what` is unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path}: {missing}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"{path}: unreadable {what} ({exc})") from None


def read_config_data(run_dir: str | Path) -> dict[str, Any]:
    """The raw config.json of a run folder (genaug_core.config.read_run_config validates it)."""
    path = Path(run_dir) / CONFIG_FILE
    data = _read_json(path, missing="no config.json (not a run folder?)", what="config")
    if not isinstance(data, dict):
        raise RunError(f"{path}: config.json is not a run config")
    return data


def read_status(run_dir: str | Path) -> dict[str, Any]:
    """status.json as a dict; RunError if it is missing or unreadable."""
    path = Path(run_dir) / STATUS_FILE
    status = _read_json(path, missing="no status.json", what="status")
    if not isinstance(status, dict) or status.get("state") not in STATES:
        raise RunError(f"{path}: status has no valid state")
    return status


_STATUS_LOCK = threading.Lock()  # one status merge at a time in this process (flock does the rest)


@contextlib.contextmanager
def status_lock(run_dir: str | Path) -> Iterator[None]:
    """Hold the run folder's status lock: threads of this process and other processes wait their turn."""
    with _STATUS_LOCK, open(Path(run_dir) / STATUS_LOCK_FILE, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_status(run_dir: str | Path, when: Callable[[dict], bool] | None = None, **fields: Any) -> dict[str, Any]:
    """Merge `fields` into status.json (atomically) and stamp `updated`; returns the new status.

    The read-modify-write holds status_lock, so two writers (the loop and a watcher thread, or the
    app and the child) never lose each other's fields. `when`: write only if when(current status)
    holds (decided under the lock), else return the status unchanged."""
    if "state" in fields and fields["state"] not in STATES:
        raise ValueError(f"state must be one of {STATES}, got {fields['state']!r}")
    with status_lock(run_dir):
        try:
            status = read_status(run_dir)
        except RunError:
            status = {}
        if when is not None and not when(status):
            return status
        status.update(fields, updated=time.time())
        write_json_atomic(Path(run_dir) / STATUS_FILE, status)
    return status


def heartbeat(run_dir: str | Path) -> None:
    """Stamp `updated` while this process is the one running the run (a no-op after it has finished)."""
    with contextlib.suppress(RunError, OSError):
        write_status(run_dir, when=lambda s: s.get("state") == "running" and s.get("pid") == os.getpid())


class Heartbeat:
    """A daemon thread that calls heartbeat(run_dir) every HEARTBEAT_EVERY_S (use as a context manager),
    so a long evaluation or sampling between log lines never looks like a hung process."""

    def __init__(self, run_dir: str | Path, every_s: float = HEARTBEAT_EVERY_S):
        self.run_dir, self.every_s = Path(run_dir), every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="genaug-heartbeat")

    def _beat(self) -> None:
        while not self._stop.wait(self.every_s):
            heartbeat(self.run_dir)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def running_problem(status: dict[str, Any], now: float | None = None) -> str | None:
    """Why a "running" status is not to be believed, or None when it is: the process ended, its pid now
    names another process, or its heartbeat is older than HEARTBEAT_STALE_S (a hung process, or one on a
    host that is gone, e.g. a restarted container)."""
    pid, host = status.get("pid"), status.get("host")
    if host == socket.gethostname():
        if not pid_alive(pid):
            return f"the training process (pid {pid}) ended without a word"
        if not same_process(pid, status.get("pid_started")):
            return f"the training process (pid {pid}) ended; that pid now belongs to another process"
    heard = status.get("updated") or status.get("created") or 0.0
    quiet = (time.time() if now is None else now) - float(heard)
    if quiet > HEARTBEAT_STALE_S:
        where = "" if host in (None, socket.gethostname()) else f" on host {host}"
        return f"the training process (pid {pid}{where}) has not been heard from for {quiet / 60:.0f} min"
    return None


def effective_state(status: dict[str, Any]) -> tuple[str, str | None]:
    """(state, error): a "running" run whose process is gone, replaced or silent counts as failed."""
    state = status.get("state", "failed")
    if state == "running":
        problem = running_problem(status)
        if problem:
            return "failed", status.get("error") or problem
    return state, status.get("error")


# --- metrics, samples, log, STOP ---------------------------------------------------


def append_metrics(run_dir: str | Path, record: dict[str, Any]) -> None:
    """Append one JSON line to metrics.jsonl (one write call, so lines never interleave)."""
    line = json.dumps(record, allow_nan=False, default=float) + "\n"
    with open(Path(run_dir) / METRICS_FILE, "a", encoding="utf-8") as fh:
        fh.write(line)


def scalars(record: dict[str, Any]) -> dict[str, Any]:
    """The numbers and strings of a record, floats rounded to 6 digits: what a metrics line holds."""
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in record.items() if isinstance(v, (int, float, str))}


def keep_metrics(run_dir: str | Path, keep) -> None:
    """Rewrite metrics.jsonl (atomically) with only the records for which keep(record) is true (a resume)."""
    kept = [r for r in read_metrics(run_dir) if keep(r)]
    write_bytes_atomic(Path(run_dir) / METRICS_FILE, "".join(json.dumps(r) + "\n" for r in kept).encode("utf-8"))


def read_metrics(run_dir: str | Path, split: str | None = None) -> list[dict[str, Any]]:
    """All metric records (optionally of one split); a half-written or bad line is skipped."""
    path = Path(run_dir) / METRICS_FILE
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and (split is None or rec.get("split") == split):
            out.append(rec)
    return out


def list_samples(run_dir: str | Path) -> list[tuple[int, Path]]:
    """(step, path) of the sample files written during training, oldest first."""
    out = []
    for p in (Path(run_dir) / SAMPLES_DIR).glob("step-*"):
        m = re.match(r"^step-([0-9]+)\.(txt|png)$", p.name)
        if m:
            out.append((int(m.group(1)), p))
    return sorted(out)


def read_text_samples(path: str | Path) -> list[str]:
    """The samples of a step-<step>.txt file (one a line; "\\n" inside a sample is written as a backslash-n)."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    return [line.replace("\\n", "\n") for line in text.splitlines()]


def write_text_samples(path: str | Path, samples: list[str]) -> None:
    write_bytes_atomic(path, "".join(s.replace("\n", "\\n") + "\n" for s in samples).encode("utf-8"))


class RunLog:
    """Lines to stdout and to log.txt (main process only; no duplicates when stdout already is log.txt)."""

    def __init__(self, run_dir: Path, enabled: bool):
        self.enabled = enabled
        self.file = None
        if enabled:
            path = run_dir / LOG_FILE
            same = False
            try:
                same = os.path.samefile(f"/proc/self/fd/{sys.stdout.fileno()}", path)
            except (OSError, ValueError, AttributeError):
                pass
            if not same:
                self.file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed in close()

    def __call__(self, message: str) -> None:
        if not self.enabled:
            return
        line = f"[{time.strftime('%H:%M:%S')}] {message}"
        print(line, flush=True)
        if self.file:
            self.file.write(line + "\n")

    def traceback(self) -> None:
        if self.enabled:
            text = traceback.format_exc()
            if self.file:
                self.file.write(text)
                self.file.flush()
            else:  # stdout is log.txt
                print(text, flush=True)

    def close(self) -> None:
        if self.file:
            self.file.close()


def read_log_tail(run_dir: str | Path, lines: int = 40) -> str:
    """The last `lines` lines of log.txt ("" if there is none)."""
    path = Path(run_dir) / LOG_FILE
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 64 * 1024))
            tail = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(tail.splitlines()[-lines:])


def request_stop(run_dir: str | Path) -> None:
    """Ask a running child to stop: it saves a checkpoint and marks the run cancelled."""
    (Path(run_dir) / STOP_FILE).write_text("stop\n", encoding="utf-8")


def stop_requested(run_dir: str | Path) -> bool:
    return (Path(run_dir) / STOP_FILE).exists()


def clear_stop(run_dir: str | Path) -> None:
    (Path(run_dir) / STOP_FILE).unlink(missing_ok=True)


# --- checkpoints ---------------------------------------------------------------------


def checkpoint_dir(run_dir: str | Path, step: int) -> Path:
    return Path(run_dir) / f"{CHECKPOINT_PREFIX}{step}"


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """(step, path) of every checkpoint-<step> folder, oldest first (not checked for damage)."""
    out = []
    try:
        entries = list(Path(run_dir).iterdir())
    except OSError:
        return []
    for p in entries:
        m = _CHECKPOINT_RE.match(p.name)
        if m and p.is_dir():
            out.append((int(m.group(1)), p))
    return sorted(out)


def check_safetensors(path: Path) -> str | None:
    """None if `path` is a complete safetensors file, else what is wrong (reads only the header)."""
    try:
        size = path.stat().st_size
        if size < 8:
            return f"{path.name} is empty or truncated ({size} bytes)"
        with open(path, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            if n > min(size - 8, 100 * 2**20):
                return f"{path.name} has a bad header"
            header = json.loads(fh.read(n))
        end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
        if 8 + n + end > size:
            return f"{path.name} is truncated ({size} of {8 + n + end} bytes)"
    except (OSError, ValueError, KeyError, TypeError, IndexError, struct.error) as exc:
        return f"{path.name} is unreadable ({exc})"
    return None


def check_model_dir(folder: Path) -> str | None:
    """None if a saved model folder looks complete (config + weights, all readable), else the reason."""
    if not folder.is_dir():
        return f"{folder.name}/ is missing"
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        return f"{folder.name}/ has no .safetensors weights"
    for w in weights:
        problem = check_safetensors(w)
        if problem:
            return f"{folder.name}/{problem}"
    for name in ("config.json", "genaug.json", "scheduler_config.json"):  # small files loading needs first
        j = folder / name
        if not j.exists():
            if name == "config.json":
                return f"{folder.name}/config.json is missing"
            continue
        try:
            json.loads(j.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return f"{folder.name}/{j.name} is unreadable"
    return None


def check_checkpoint(path: str | Path) -> str | None:
    """None if checkpoint-<step>/ is complete and readable, else the reason."""
    path = Path(path)
    try:
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        int(state["step"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError):
        return f"{path.name}/state.json is missing or unreadable"
    problem = check_model_dir(path / MODEL_DIR)
    if problem:
        return f"{path.name}/{problem}"
    for f in path.glob("*.safetensors"):
        problem = check_safetensors(f)
        if problem:
            return f"{path.name}/{problem}"
    return None


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest checkpoint that is complete and readable (damaged ones are skipped).

    A running loop may rename a new checkpoint in and prune the old ones while we look: when none of
    the listed ones is complete and the folder's checkpoints changed meanwhile, look again."""
    for _ in range(5):
        listed = list_checkpoints(run_dir)
        for _, path in reversed(listed):
            if check_checkpoint(path) is None:
                return path
        if list_checkpoints(run_dir) == listed:
            return None
    return None


def prune_checkpoints(run_dir: str | Path, keep: int) -> None:
    """Delete all but the newest `keep` checkpoint folders. Each is first renamed to a .tmp- name, so a reader
    sees a checkpoint whole or not at all, never half deleted (kinds.load_run_model then picks again)."""
    for _, path in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        gone = path.with_name(f"{TMP_PREFIX}pruned-{path.name}")
        try:
            os.replace(path, gone)
        except OSError:  # already gone (another pruner), or a file system without rename over folders
            gone = path
        shutil.rmtree(gone, ignore_errors=True)


# --- listing runs ----------------------------------------------------------------------


@dataclasses.dataclass
class RunRecord:
    """What the run list shows about one folder. `broken` is None or the first problem found."""

    id: str
    path: Path
    state: str  # queued | running | done | failed | cancelled | broken
    name: str = ""
    kind: str | None = None  # "text" or "image", from the dataset (None if unknown)
    dataset: str | None = None
    step: int = 0
    total: int = 0
    error: str | None = None
    created: float | None = None
    updated: float | None = None
    eta_s: float | None = None
    checkpoints: list[int] = dataclasses.field(default_factory=list)  # steps of the complete checkpoints
    has_model: bool = False  # the final model/ is complete
    broken: str | None = None
    problems: list[str] = dataclasses.field(default_factory=list)
    workspace: str | None = None  # owner.json: the id of the workspace that made it (None: made outside the app)
    published: bool = False  # owner.json: a teacher shows it, read-only, to every workspace

    @property
    def loadable(self) -> bool:
        """A model (final or checkpoint) can be loaded for sampling."""
        return self.has_model or bool(self.checkpoints)


def inspect_run(path: str | Path) -> RunRecord:
    """A RunRecord for one folder; never raises."""
    path = Path(path)
    rec = RunRecord(id=path.name, path=path, state="broken")
    try:
        _inspect(path, rec)
    except Exception as exc:  # noqa: BLE001 - a listing must survive anything a folder holds
        rec.problems.append(f"cannot inspect: {exc}")
    if rec.problems:
        rec.broken = rec.problems[0]
    return rec


def _peek_config(path: Path) -> dict[str, Any]:
    """The few config fields a listing shows, without the full validation of read_config (fast)."""
    try:
        data = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError("no config.json (not a run folder?)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"config.json is unreadable ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), dict) or not isinstance(data.get("train"), dict):
        raise RunError("config.json is not a run config")
    return data


def read_owner(run_dir: str | Path) -> dict[str, Any]:
    """owner.json as {"workspace": id or None, "published": bool}; absent or unreadable = nobody's, unpublished."""
    try:
        data = json.loads((Path(run_dir) / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict):
        return {"workspace": None, "published": False}
    ws = data.get("workspace")
    return {"workspace": ws if isinstance(ws, str) and ws else None, "published": data.get("published") is True}


def _inspect(path: Path, rec: RunRecord) -> None:
    owner = read_owner(path)
    rec.workspace, rec.published = owner["workspace"], owner["published"]
    try:
        cfg = _peek_config(path)
        rec.name = str(cfg.get("name", ""))
        rec.dataset = str(cfg["data"].get("name") or cfg["data"].get("source", ""))  # an upload: its file name
        rec.total = int(cfg["train"].get("steps", 0))
    except (RunError, TypeError, ValueError) as exc:
        rec.problems.append(str(exc))
        cfg = None
    try:
        status = read_status(path)
        rec.state, rec.error = effective_state(status)
        rec.step = int(status.get("step", 0))
        rec.total = int(status.get("total", rec.total))
        rec.created, rec.updated = status.get("created"), status.get("updated")
        rec.eta_s = status.get("eta_s") if rec.state == "running" else None
        rec.kind = status.get("kind")
    except (RunError, TypeError, ValueError) as exc:
        rec.problems.append(str(exc).replace(str(path) + os.sep, ""))
        rec.state = "broken"
    if cfg is None and rec.state != "broken":
        rec.state = "broken"
    for step, ck in list_checkpoints(path):
        problem = check_checkpoint(ck)
        if problem:
            rec.problems.append(problem)
        else:
            rec.checkpoints.append(step)
    if (path / MODEL_DIR).exists():
        problem = check_model_dir(path / MODEL_DIR)
        rec.has_model = problem is None
        if problem:
            rec.problems.append(problem)
    elif rec.state == "done":
        rec.problems.append("the run is done but model/ is missing")
    if rec.state not in ("running", "queued"):
        # (a reader's hard-linked copy, stable_checkpoint's READ_PREFIX, is no interrupted write)
        leftovers = sorted(p.name for p in path.glob(f"{TMP_PREFIX}*") if not p.name.startswith(READ_PREFIX))
        if leftovers:
            rec.problems.append(f"an interrupted write left {', '.join(leftovers)} behind")


# path -> (signature, record): a finished run's folder rarely changes, so a page that polls the
# list re-reads only the runs whose files changed (every write here renames or appends, which
# changes the folder's entries' mtimes or sizes). Running runs are always read afresh.
_CACHE: dict[str, tuple[tuple, RunRecord]] = {}


def _signature(path: Path) -> tuple:
    out = []
    with os.scandir(path) as it:
        for e in it:
            st = e.stat(follow_symlinks=False)
            out.append((e.name, st.st_mtime_ns, st.st_size))
    return tuple(sorted(out))


def _cached_inspect(path: Path) -> RunRecord:
    try:
        sig = _signature(path)
    except OSError:
        return inspect_run(path)
    hit = _CACHE.get(str(path))
    if hit and hit[0] == sig and hit[1].state not in ("running", "queued"):
        return dataclasses.replace(hit[1], checkpoints=list(hit[1].checkpoints), problems=list(hit[1].problems))
    rec = inspect_run(path)
    _CACHE[str(path)] = (sig, rec)
    return dataclasses.replace(rec, checkpoints=list(rec.checkpoints), problems=list(rec.problems))


def list_runs(root: str | Path | None = None, where: Callable[[RunRecord], bool] | None = None) -> list[RunRecord]:
    """Every run folder under the runs root (for which `where(record)` holds), newest first; never raises.

    Folders with a config.json or status.json count as runs; a folder named
    like a run id without them is listed as broken. Half-created runs
    (".tmp-" folders) are skipped, as are unrelated files. The pages pass
    `where=` a workspace's visibility rule (genaug_core.workspaces).
    """
    root_path = runs_root(root)
    try:
        entries = [p for p in root_path.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError:
        return []
    records = []
    for p in entries:
        is_run = (p / CONFIG_FILE).exists() or (p / STATUS_FILE).exists() or RUN_ID_RE.match(p.name)
        if is_run:
            rec = _cached_inspect(p)
            if where is None or where(rec):
                records.append(rec)
    records.sort(key=lambda r: (r.created or 0.0, r.id), reverse=True)
    return records


# --- which folder holds the model to load ----------------------------------------------------


def pick_model_folder(run_dir: Path, checkpoint: int | str | None) -> tuple[Path, int | None]:
    """(folder holding model/, step or None for final)."""
    if isinstance(checkpoint, str) and checkpoint.isdigit():
        checkpoint = int(checkpoint)
    if isinstance(checkpoint, str) and _CHECKPOINT_RE.match(checkpoint):
        checkpoint = int(checkpoint.split("-", 1)[1])
    if checkpoint in (None, "final"):
        if check_model_dir(run_dir / MODEL_DIR) is None:
            return run_dir, None
        if checkpoint == "final":
            raise RunError(f"{run_dir}: the run has no complete final model/ yet")
    if checkpoint in (None, "latest"):
        ck = latest_checkpoint(run_dir)
        if ck is None:
            raise RunError(f"{run_dir}: no complete model or checkpoint to load yet")
        return ck, int(ck.name.split("-", 1)[1])
    if isinstance(checkpoint, int):
        ck = checkpoint_dir(run_dir, checkpoint)
        if not ck.is_dir():
            have = ", ".join(str(s) for s, _ in list_checkpoints(run_dir)) or "none"
            raise RunError(f"{run_dir}: no checkpoint at step {checkpoint}; checkpoints: {have}")
        problem = check_checkpoint(ck)
        if problem:
            raise RunError(f"{run_dir}: {problem}")
        return ck, checkpoint
    raise RunError(f"checkpoint must be a step number, 'latest' or 'final', got {checkpoint!r}")
