"""Benchmark: the self-training presets, and whether they show model collapse.

    .venv/bin/python bench/selftrain.py [--quick] [--preset names digits temperature] [--out DIR]

Each preset's runs (e.g. replace and accumulate) train at the same time, as
the page launches them: one child process each, `python -m genaug_core train
--config ...`, one torch thread each (2 cores). Then a per-round table per run:
training items (real + synthetic), held-out loss on the real validation data,
the sample metrics (text: bits per character, distinct-n, unique share,
novelty; images: FD, recall, precision, coverage) and what the filters kept.

Expected (Shumailov et al. 2024; Alemohammad et al. 2024; Gerstgrasser et al.
2024): in replace mode held-out loss / FD rise and diversity falls over the
rounds; in accumulate mode they stay near round 1. Each preset should finish
in under 10 minutes on 2 cores. --quick runs 3 rounds with fewer steps and
samples (a smoke test: the curves are noisier). Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from genaug_core.train import selftrain as stm  # noqa: E402

TEXT_COLUMNS = ("val_bpc", "distinct_3", "distinct_4", "unique_share", "novelty", "length_mean")
IMAGE_COLUMNS = ("val_loss", "fd", "recall", "precision", "coverage", "class_kl_to_real")


def quick(cfg):
    """A smoke-test version of a preset config: 3 rounds, a quarter of the steps and samples."""
    st = cfg.self_train.replace(rounds=3, synthetic_per_round=max(64, cfg.self_train.synthetic_per_round // 4))
    return cfg.replace(train=cfg.train.replace(steps=max(20, cfg.train.steps // 4)), self_train=st)


def run_preset(preset: str, out: Path, is_quick: bool) -> dict[str, Path]:
    """Train the preset's runs at the same time; returns label -> run folder."""
    procs, folders = [], {}
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONUNBUFFERED": "1"}
    for cfg in stm.preset_configs(preset):
        cfg = quick(cfg) if is_quick else cfg
        label = f"{cfg.self_train.mode}, T={cfg.self_train.temperature:g}" if preset == "temperature" else (
            cfg.self_train.mode)
        slug = label.replace(", ", "-").replace("=", "")
        path = out / f"{preset}-{slug}.toml"
        path.write_text(cfg.to_toml(), encoding="utf-8")
        run_dir = out / f"{preset}-{slug}"
        log = open(out / f"{preset}-{slug}.log", "w")  # noqa: SIM115 - closed below
        procs.append((subprocess.Popen(
            [sys.executable, "-m", "genaug_core", "train", "--config", str(path), "--run-dir", str(run_dir),
             "--threads", "1", "--no-progress"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        ), log, run_dir))  # fmt: skip
        folders[label] = run_dir
    for proc, log, run_dir in procs:
        if proc.wait() != 0:
            print(f"  {run_dir.name} failed; end of its log:\n{(run_dir.parent / (run_dir.name + '.log')).read_text()[-2000:]}")
        log.close()
    return folders


def print_table(label: str, run_dir: Path) -> None:
    records = stm.round_records(run_dir)
    if not records:
        print(f"\n{label}: no finished rounds")
        return
    columns = TEXT_COLUMNS if records[0].get("kind") == "text" else IMAGE_COLUMNS
    print(f"\n{label}  ({run_dir})")
    head = f"{'round':>5} {'real':>6} {'synth':>6} " + " ".join(f"{c:>12}" for c in columns) + f" {'kept/sampled':>13}"
    print(head)
    print("-" * len(head))
    for r in records:
        values = " ".join(f"{r.get(c, float('nan')):>12.4f}" for c in columns)
        print(f"{r['round']:>5} {r['real_items']:>6} {r['synthetic_items']:>6} {values} {r['kept']:>6}/{r['sampled']:<6}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 rounds, fewer steps and samples (smoke test)")
    parser.add_argument("--preset", nargs="+", default=["names", "digits"], choices=list(stm.PRESETS))
    parser.add_argument("--out", type=Path, help="keep the run folders here (default: a temp folder)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="genaug-selftrain-"))
    out.mkdir(parents=True, exist_ok=True)
    for preset in args.preset:
        title, _, expect = stm.PRESETS[preset]
        print(f"\n=== preset {preset}: {title}{' (quick)' if args.quick else ''}\nexpected: {expect}")
        t0 = time.perf_counter()
        folders = run_preset(preset, out, args.quick)
        wall = time.perf_counter() - t0
        for label, run_dir in folders.items():
            print_table(label, run_dir)
        print(f"\npreset {preset}: {wall / 60:.1f} min wall time for {len(folders)} runs side by side "
              f"(target: under 10 min on 2 cores)")


if __name__ == "__main__":
    main()
