"""Classroom load test: many students on one app at once, and one of them trying every over-budget value.

    python bench/classroom.py [--students 30] [--runs-per-student 2] [--steps 3] [--phase both|load|attack]
    python bench/classroom.py --quick       # 5 students, the attack phase with a smaller shapes set

A real `streamlit run app.py` serves on localhost in classroom mode (a teacher token set), with its own
runs folder and staging folder in a temporary directory. A separate pinger process asks its health
endpoint (/_stcore/health) and its index page (/) every 0.2 s, so their latencies are the server's, not
this process's. Each student is a Streamlit AppTest session of the same app with its own `?ws=` token,
run in this process (AppTest executes the page scripts exactly as the server does for a browser; it
cannot drive the real server's websocket): it uploads a small text file of names unique to it (Data),
previews augmented variants (Augment), starts `--runs-per-student` tiny char-LSTM runs (Train) and polls
the Train page until its runs finish. The training children are real `python -m genaug_core train`
processes launched by the job runner (genaug_core/train/jobs.py) with its default limits.

Reported: peak RSS of this process (the students' page work: everything the app process does for them)
and of the streamlit server, the health / index / Train-page-render latencies (p50, p95) during the
load, the time until every run finished, the order in which runs launched (fair: no workspace's later run
launches while an older first run of another workspace waits), and that nothing was lost or mixed up: each workspace's runs
are exactly the ones it started, done, with a model, trained on its own upload, and its Train page lists
exactly them. The attack phase adds one student who tries each over-budget value of the README's Budgets
table; each must be refused with its message while the server stays up and the others' runs finish.

Measured figures depend on what else runs on the machine: say so when you quote them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TEACHER = "teacher-classroom-bench-0123"
POLL_S = 2.0  # the Train page's live panel re-renders every 2 s (st.fragment(run_every=2))

PINGER = r"""
import http.client, json, sys, time, os
port, stop = int(sys.argv[1]), sys.argv[2]
out = {"health": [], "index": [], "errors": 0}
while not os.path.exists(stop):
    for path, key in (("/_stcore/health", "health"), ("/", "index")):
        t = time.perf_counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path)
            ok = conn.getresponse().status == 200
            conn.close()
        except OSError:
            ok = False
        if ok:
            out[key].append(time.perf_counter() - t)
        else:
            out["errors"] += 1
    time.sleep(0.2)
print(json.dumps(out))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) >= 2 else (values[0] if values else float("nan"))


def ms(values: list[float]) -> str:
    return f"p50 {pct(values, 50) * 1000:,.0f} ms, p95 {pct(values, 95) * 1000:,.0f} ms ({len(values)} requests)"


def token(i: int) -> str:
    return f"student-{i:02d}-classroom-bench"


def names_file(i: int) -> bytes:
    """40 made-up names that only student i uploads (every one starts with its tag, e.g. 's07q')."""
    syll = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo"]
    return "".join(f"s{i:02d}q{syll[j % 8]}{syll[(j // 8) % 8]}{syll[(j * 3) % 8]}\n" for j in range(40)).encode()


def serve(env: dict) -> tuple[subprocess.Popen, int]:
    """The real app on localhost; returns once its health endpoint answers."""
    import urllib.request

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as r:
                if r.status == 200:
                    return proc, port
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the streamlit server did not answer its health endpoint within 120 s")


def vm_hwm_mib(pid: int) -> float:
    """Peak RSS of a live process (VmHWM in /proc), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Student:
    """One browser: an AppTest session of app.py with its own ?ws= token."""

    def __init__(self, i: int):
        from streamlit.testing.v1 import AppTest

        self.i, self.token = i, token(i)
        self.at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        self.at.query_params["ws"] = self.token
        self.renders: list[float] = []

    def page(self, name: str) -> None:
        self.at.switch_page(f"pages/{name}")
        self.run()

    def run(self) -> None:
        t = time.perf_counter()
        self.at.run()
        self.renders.append(time.perf_counter() - t)
        if self.at.exception:
            raise RuntimeError(f"student {self.i}: {self.at.exception[0].message}")

    def errors(self) -> list[str]:
        return [e.value for e in self.at.error]

    def upload(self) -> None:
        self.page("1_Data.py")
        self.at.radio(key="data.origin").set_value("Upload")
        self.run()
        self.at.file_uploader(key="data.upload").set_value([(f"class-{self.i:02d}.txt", names_file(self.i), "text/plain")])
        self.run()
        assert not self.errors(), self.errors()

    def preview(self) -> None:
        self.page("2_Augment.py")
        assert self.at.image or self.at.markdown, "no preview"

    def start(self, steps: int, batch: int = 8) -> None:
        """Press Start training on the Train page with a tiny char-LSTM run."""
        from genaug_core import kinds

        box = self.at.selectbox(key="train.kind")
        if box.value.name != "char_lstm":
            box.set_value(kinds.get_kind("char_lstm"))
            self.run()
        self.at.number_input(key="train.steps").set_value(steps)
        self.at.number_input(key="train.batch").set_value(batch)
        next(b for b in self.at.button if b.label == "Start training").click()
        self.run()

    def listed(self) -> set[str]:
        tables = [d.value for d in self.at.dataframe if "run" in d.value.columns]
        return set(tables[-1]["run"]) if tables else set()


def launches(root: Path, ids: dict[str, int]) -> list[dict]:
    """Every launched run of the students in `ids`, in launch order: student, k (0 = its first run, by
    creation), created and launched times."""
    from genaug_core import runs

    out = []
    for rec in runs.list_runs(root):
        status = runs.read_status(rec.path)
        if rec.workspace in ids and status.get("launched_at"):
            out.append({"student": ids[rec.workspace], "created": status["created"], "launched": status["launched_at"]})
    for st in set(r["student"] for r in out):
        for k, r in enumerate(sorted((r for r in out if r["student"] == st), key=lambda r: r["created"])):
            r["k"] = k
    return sorted(out, key=lambda r: r["launched"])


def unfair_launches(order: list[dict]) -> int:
    """Launches of a workspace's second (or later) run while an older first run of another workspace was
    waiting: round robin never does that; first come first served does."""
    return sum(1 for r in order if r["k"] > 0 for q in order
               if q["k"] == 0 and q["student"] != r["student"]
               and q["created"] < r["launched"] < q["launched"] and q["created"] < r["created"])


def check_integrity(students: list[Student], root: Path, per: int) -> list[str]:
    """Every workspace holds exactly its runs: done, with a model, trained on its own upload; its page lists them."""
    from genaug_core import runs, workspaces
    from genaug_core.config import read_run_config

    problems = []
    for s in students:
        wid = workspaces.workspace_id(s.token)
        mine = runs.list_runs(root, where=lambda r, w=wid: r.workspace == w)
        if len(mine) != per:
            problems.append(f"student {s.i}: {len(mine)} runs on disk, started {per}")
        for rec in mine:
            if rec.state != "done":
                problems.append(f"student {s.i}: run {rec.id} is {rec.state}")
            if not (rec.path / runs.MODEL_DIR).is_dir():
                problems.append(f"student {s.i}: run {rec.id} has no model")
            staged = Path(read_run_config(rec.path).data.source).read_text(encoding="utf-8")
            tags = set(re.findall(r"s(\d\d)q", staged))
            if tags != {f"{s.i:02d}"}:
                problems.append(f"student {s.i}: run {rec.id} trained on uploads of students {sorted(tags)}")
        if s.listed() != {r.id for r in mine}:
            problems.append(f"student {s.i}: the Train page lists {sorted(s.listed())}, owns {sorted(r.id for r in mine)}")
    return problems


def attack(s: Student, args, between) -> list[tuple[str, str]]:
    """One student tries each over-budget value; (what, the error shown) for each. Every one must be refused.
    `between()` lets the other students poll after each try (their runs go on meanwhile)."""
    from genaug_core import budgets
    from genaug_core.train import jobs

    results = []

    def expect(what: str, needle: str) -> None:
        shown = [e for e in s.errors() if needle in e]
        results.append((what, shown[0] if shown else f"NOT REFUSED (errors: {s.errors()})"))
        between()

    s.page("1_Data.py")
    s.at.radio(key="data.origin").set_value("Built-in")
    s.run()
    s.at.selectbox(key="data.builtin").set_value("shapes")
    s.run()
    s.at.number_input(key="data.shapes.n").set_value(args.attack_n)
    s.at.number_input(key="data.shapes.size").set_value(128)
    s.at.number_input(key="pre.size").set_value(512)
    s.at.radio(key="pre.channels").set_value(3)
    s.run()
    expect(f"shapes n={args.attack_n:,} size 128 resized to 512 RGB", budgets.OP_BYTES_ENV)
    s.at.radio(key="pre.norm").set_value("l2")
    s.run()
    expect("... and equalise each image's L2 norm", budgets.OP_BYTES_ENV)
    s.at.radio(key="pre.norm").set_value("none")
    s.at.selectbox(key="data.builtin").set_value("names")
    s.run()
    s.at.selectbox(key="data.names.which").set_value("last")
    s.at.number_input(key="pre.pad").set_value(100_000)
    s.run()
    expect("88,799 last names padded to 100,000 characters", budgets.OP_BYTES_ENV)
    s.at.number_input(key="pre.pad").set_value(0)
    s.at.selectbox(key="data.builtin").set_value("shapes")
    s.run()
    s.at.number_input(key="data.shapes.n").set_value(args.attack_n)  # the widgets are back at their defaults
    s.at.number_input(key="data.shapes.size").set_value(64)
    s.run()
    assert not s.errors(), s.errors()
    s.page("2_Augment.py")
    s.at.radio(key="augment.view").set_value("Export")
    s.run()
    s.at.number_input(key="augment.copies").set_value(100)
    s.run()
    expect(f"augmented export of shapes n={args.attack_n:,} at 64 px, 100 copies", budgets.OP_BYTES_ENV)
    s.at.number_input(key="augment.copies").set_value(1)
    s.run()
    long = {"kind": "image", "seed": 0, "steps": [{"augmenter": "horizontal_flip", "p": 0.5, "params": {}}] * 40}
    s.at.file_uploader(key="augment.import").set_value([("long.json", json.dumps(long).encode(), "application/json")])
    s.run()
    next(b for b in s.at.button if b.label == "Use this pipeline").click()
    s.run()
    expect("a pipeline of 40 steps", budgets.PIPELINE_STEPS_ENV)
    s.upload()  # back to a small dataset, for the Train page
    s.page("3_Train.py")
    s.start(100_000, 1024)
    expect("100,000 steps x batch 1,024", budgets.RUN_ITEMS_ENV)
    for _ in range(jobs.per_workspace_running() + jobs.per_workspace_queued()):
        s.start(args.steps)
    s.start(args.steps)
    expect("one more run than the workspace's queue share", jobs.WS_QUEUED_ENV)
    return results


def phase(args, attacker: bool) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="genaug-classroom-"))
    env = {**os.environ, "GENAUG_RUNS_DIR": str(tmp / "runs"), "GENAUG_STAGE_DIR": str(tmp / "stage"),
           "GENAUG_TEACHER_TOKEN": TEACHER, "PYTHONPATH": str(ROOT)}  # fmt: skip
    os.environ.update({k: env[k] for k in ("GENAUG_RUNS_DIR", "GENAUG_STAGE_DIR", "GENAUG_TEACHER_TOKEN")})
    (tmp / "runs").mkdir()
    server, port = serve(env)
    stop = tmp / "stop-pinger"
    pinger = subprocess.Popen([sys.executable, "-c", PINGER, str(port), str(stop)], stdout=subprocess.PIPE, text=True)
    from genaug_core import workspaces
    from genaug_core.train import jobs

    t0 = time.time()
    try:
        n_normal = args.students - (1 if attacker else 0)
        students = [Student(i) for i in range(n_normal)]
        for s in students:  # everyone arrives: upload, preview, Start
            s.upload()
            s.preview()
            s.page("3_Train.py")
            for _ in range(args.runs_per_student):
                s.start(args.steps)
                assert not s.errors(), (s.i, s.errors())
        started = time.time() - t0
        refused = []

        def poll_all() -> None:
            for s in students:
                s.run()
            jobs.tick()

        if attacker:
            bad = Student(99)
            bad.upload()
            refused = attack(bad, args, poll_all)
        ids = {workspaces.workspace_id(s.token): s.i for s in students}
        if attacker:
            ids[workspaces.workspace_id(bad.token)] = bad.i
        deadline = t0 + args.timeout
        while time.time() < deadline:  # everyone polls the Train page every 2 s, as its fragment does
            cycle = time.time()
            poll_all()
            time.sleep(max(0.0, POLL_S - (time.time() - cycle)))
            from genaug_core import runs

            if all(r.state in runs.FINISHED for r in runs.list_runs(tmp / "runs")):
                break
        all_done = time.time() - t0
        for s in students:
            s.run()  # a last look at each Train page, for the listing check
        problems = check_integrity(students, tmp / "runs", args.runs_per_student)
        order = launches(tmp / "runs", ids)
    finally:
        for proc in list(jobs._children.values()):  # a phase that failed half way leaves no training behind
            if proc.poll() is None:
                proc.kill()
        stop.touch()
        pings = json.loads(pinger.communicate(timeout=60)[0])
        server_alive = server.poll() is None
        server_peak = vm_hwm_mib(server.pid) if server_alive else float("nan")
        server.terminate()
        server.wait(timeout=30)
    return {
        "students": len(students), "attacker": attacker, "started_s": started, "all_done_s": all_done,
        "timed_out": all_done >= args.timeout, "problems": problems, "refused": refused,
        "order": [r["student"] for r in order], "unfair": unfair_launches(order),
        "waits": [r["launched"] - r["created"] for r in order],
        "pings": pings, "server_alive": server_alive, "server_peak_mib": server_peak,
        "renders": [r for s in students for r in s.renders], "tmp": tmp,
    }  # fmt: skip


def report(res: dict) -> None:
    title = "with one student trying every over-budget value" if res["attacker"] else "normal load"
    print(f"\n## {res['students']} students, {title} (runs under {res['tmp']})")
    print(f"- everyone uploaded, previewed and pressed Start within {res['started_s']:,.0f} s; every run finished "
          f"{res['all_done_s']:,.0f} s after the first student arrived" + (" (TIMED OUT)" if res["timed_out"] else ""))
    print(f"- streamlit server: alive {res['server_alive']}, peak RSS {res['server_peak_mib']:,.0f} MiB; "
          f"health {ms(res['pings']['health'])}; index page {ms(res['pings']['index'])}; "
          f"failed requests {res['pings']['errors']}")
    print(f"- students' page work (this process): peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB; a page render {ms(res['renders'])}")
    print(f"- launch order (student of each run; 99 = the over-budget student): {' '.join(map(str, res['order']))}")
    print(f"- wait from Start to launch: median {statistics.median(res['waits']):,.0f} s, longest {max(res['waits']):,.0f} s")
    print(f"- unfair launches (a workspace's later run launched while an older first run of another waited): "
          f"{res['unfair']}")
    print(f"- lost or mixed up: {'none' if not res['problems'] else '; '.join(res['problems'])}")
    for what, shown in res["refused"]:
        print(f"- refused: {what}: {shown}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--runs-per-student", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3, help="training steps of each student's run")
    ap.add_argument("--phase", choices=["both", "load", "attack"], default="both")
    ap.add_argument("--attack-n", type=int, default=20_000, help="shapes images the attacker asks for")
    ap.add_argument("--timeout", type=float, default=900, help="seconds a phase may take")
    ap.add_argument("--keep", action="store_true", help="keep the temporary runs folder (its path is printed)")
    ap.add_argument("--quick", action="store_true", help="5 students, attack with 2,000 shapes")
    args = ap.parse_args()
    if args.quick:
        args.students, args.attack_n = 5, 2_000
    print(f"# classroom: {args.students} students x {args.runs_per_student} char-LSTM runs of {args.steps} steps; "
          f"{os.cpu_count()} cores")
    for attacker in {"both": (False, True), "load": (False,), "attack": (True,)}[args.phase]:
        res = phase(args, attacker)
        report(res)
        if not args.keep:
            shutil.rmtree(res["tmp"], ignore_errors=True)
        failed = res["problems"] or res["timed_out"] or not res["server_alive"] or res["unfair"]
        if failed or any(shown.startswith("NOT REFUSED") for _, shown in res["refused"]):
            raise SystemExit(1)


if __name__ == "__main__":
    main()
