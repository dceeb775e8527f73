"""Time the sanity report (genaug_core.data.checks.run_checks) for every built-in dataset.

    python bench/check_report.py [--repeat 5] [--quick]

Prints load and report times (median of --repeat runs) per dataset. Target
from the foundation issue: every report under 2 s on 2 cores.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genaug_core.data import BUILTINS, load_builtin  # noqa: E402
from genaug_core.data.checks import run_checks  # noqa: E402

CASES = [
    ("digits", {}),
    ("shapes", {}),
    ("shapes", {"n": 5000, "size": 64}),
    ("names", {}),
    ("names", {"which": "last"}),
    ("prose", {}),
    ("prose", {"unit": "paragraph"}),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="one repeat each")
    args = ap.parse_args()
    repeat = 1 if args.quick else args.repeat
    assert {name for name, _ in CASES} == set(BUILTINS), "every built-in dataset is benchmarked"
    print(f"{'dataset':34} {'items':>8} {'load s':>8} {'report s':>9}  target < 2 s")
    worst = 0.0
    for name, params in CASES:
        loads, reports = [], []
        for _ in range(repeat):
            t0 = time.perf_counter()
            ds = load_builtin(name, **params)
            t1 = time.perf_counter()
            run_checks(ds)
            t2 = time.perf_counter()
            loads.append(t1 - t0)
            reports.append(t2 - t1)
        med = statistics.median(reports)
        worst = max(worst, med)
        label = name + (" " + ",".join(f"{k}={v}" for k, v in params.items()) if params else "")
        print(f"{label:34} {len(ds):>8,} {statistics.median(loads):>8.3f} {med:>9.3f}  {'ok' if med < 2 else 'SLOW'}")
    print(f"slowest report: {worst:.3f} s")


if __name__ == "__main__":
    main()
