"""How fast the app opens: the home page's imports in a fresh process, and one AppTest run per page.

    python bench/startup.py [--repeat 5] [--quick]

Prints the median import time of everything app.py imports, whether any heavy
library (torch, transformers, diffusers, albumentations, nlpaug) was pulled
in (it must not be), and the time of a first run of each page script.
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "diffusers", "albumentations", "nlpaug", "sklearn")

PROBE = """
import sys, time, json
t = time.perf_counter()
import streamlit, genaug_core, ui.data, ui.sidebar, genaug_core.viz
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "heavy": [m for m in %r if m in sys.modules]}))
""" % (HEAVY,)

PAGE = """
import sys, time, json
from streamlit.testing.v1 import AppTest
t = time.perf_counter()
at = AppTest.from_file(%r, default_timeout=300)
if %r != "app.py":
    at.switch_page(%r)
at.run()
print(json.dumps({"seconds": time.perf_counter() - t, "exception": bool(at.exception)}))
"""


def run_json(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    repeat = 1 if args.quick else args.repeat
    runs = [run_json(PROBE) for _ in range(repeat)]
    print(
        f"home page imports: median {statistics.median(r['seconds'] for r in runs):.3f} s over {repeat} fresh processes"
    )
    print(f"heavy modules imported by the home page: {runs[0]['heavy'] or 'none'}")
    pages = ["app.py", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))]
    print(f"{'page':28} {'first run s (fresh process)':>28}")
    for page in pages:
        times = [run_json(PAGE % (str(ROOT / "app.py"), page, page)) for _ in range(max(1, repeat // 2))]
        flag = " EXCEPTION" if any(t["exception"] for t in times) else ""
        print(f"{page:28} {statistics.median(t['seconds'] for t in times):>28.3f}{flag}")


if __name__ == "__main__":
    main()
