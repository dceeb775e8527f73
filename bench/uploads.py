"""Uploads on a shared server: what a hostile .ico zip costs, and what staging an upload for training costs.

    python bench/uploads.py [--icons 20] [--side 4096] [--quick] [--repo PATH]

1. A zip of --icons .ico files, each holding one --side x --side PNG (a few KB
   compressed): the seconds `load_files` takes to answer (it refuses the
   formats it does not header-check; older versions decoded every PNG in
   full when opening it). --repo runs the same against another checkout's
   genaug_core (e.g. an older one) for comparison.
2. Staging (genaug_core/data/staged.py): seconds to write a prepared dataset
   once and to read it back with its SHA-256 checked, and the file size.
"""

import argparse
import io
import statistics
import struct
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--icons", type=int, default=20)
ap.add_argument("--side", type=int, default=4096)
ap.add_argument("--repeat", type=int, default=3)
ap.add_argument("--quick", action="store_true", help="4 icons of 2048 px, one repeat, small datasets")
ap.add_argument("--repo", default=str(Path(__file__).resolve().parents[1]), help="checkout whose genaug_core to time")
args = ap.parse_args()
sys.path.insert(0, args.repo)

from PIL import Image  # noqa: E402

from genaug_core.data.uploads import load_files  # noqa: E402
from genaug_core.errors import DataError  # noqa: E402


def ico_zip(n: int, side: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (side, side)).save(buf, "PNG")
    png = buf.getvalue()
    ico = struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 22) + png
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for i in range(n):
            zf.writestr(f"icons/{i}.ico", ico)
    return out.getvalue()


def main() -> None:
    icons, side = (4, 2048) if args.quick else (args.icons, args.side)
    repeat = 1 if args.quick else args.repeat
    data = ico_zip(icons, side)
    times, answer = [], ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        try:
            ds = load_files([("icons.zip", data)])
            answer = f"loaded {len(ds)} images"
        except DataError as exc:
            answer = "refused: " + str(exc)[:90]
        times.append(time.perf_counter() - t0)
    print(f"genaug_core from {args.repo}")
    print(f"zip of {icons} .ico files, each a {side}x{side} PNG ({len(data) / 1024:,.0f} KiB): "
          f"{statistics.median(times):.3f} s (median of {repeat}); {answer}")

    try:
        from genaug_core.data import load_builtin, staged
    except ImportError:
        print("(no genaug_core.data.staged in this checkout: staging not timed)")
        return
    cases = [("shapes", {"n": 500, "size": 32}), ("names", {})] if args.quick else [
        ("shapes", {"n": 5000, "size": 64}), ("digits", {}), ("names", {"which": "last"}), ("prose", {})]
    print(f"{'dataset':28} {'items':>8} {'file MiB':>9} {'stage s':>8} {'read s':>8}")
    for name, params in cases:
        ds = load_builtin(name, **params)
        stages, reads = [], []
        for _ in range(repeat):
            with tempfile.TemporaryDirectory() as tmp:
                import os

                os.environ[staged.STAGE_ENV] = tmp
                t0 = time.perf_counter()
                path, sha = staged.stage(ds)
                t1 = time.perf_counter()
                back = staged.load(path, sha)
                t2 = time.perf_counter()
                size = path.stat().st_size
            assert len(back) == len(ds)
            stages.append(t1 - t0)
            reads.append(t2 - t1)
        label = name + (" " + ",".join(f"{k}={v}" for k, v in params.items()) if params else "")
        print(f"{label:28} {len(ds):>8,} {size / 2**20:>9.2f} {statistics.median(stages):>8.3f} "
              f"{statistics.median(reads):>8.3f}")


if __name__ == "__main__":
    main()
