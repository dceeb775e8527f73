"""The machine a benchmark runs on: CPU name and flags, and its measured matmul peaks (fp32, bf16).

    from machine import describe, matmul_peak
    peak = matmul_peak(torch.float32)      # FLOP/s of a timed square matmul, the best of a few sizes
    print(describe())                      # "AMD EPYC ..., 2 threads; flags: avx2 fma (no avx512f, ...)"

MFU figures divide by these measured peaks, never by a constant: the CPU type changes between
machines (one had AVX-512 with native bf16 at ~400 GFLOP/s, the next only AVX2, where bf16 is
emulated at ~1 GFLOP/s). `python bench/machine.py` prints both.
"""

from __future__ import annotations

import platform
import time

import torch

FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")


def cpu_name_and_flags() -> tuple[str, set[str]]:
    name, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and name in ("", platform.machine(), platform.processor()):
                    name = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    return name, flags


def describe() -> str:
    name, flags = cpu_name_and_flags()
    have = [f for f in FLAGS if f in flags]
    missing = [f for f in FLAGS if f not in flags]
    return (f"{name}, {torch.get_num_threads()} torch threads; flags: {' '.join(have) or '-'}"
            + (f" (no {', '.join(missing)})" if missing else ""))


def matmul_peak(dtype: torch.dtype = torch.float32, sizes=(256, 512, 1024, 2048), budget_s: float = 2.0) -> float:
    """FLOP/s of the fastest of a few square matmuls in `dtype` (the best of 3 timings each). A size
    whose first product already takes over `budget_s` ends the search (bf16 emulated on AVX2 is slow)."""
    best = 0.0
    for n in sizes:
        a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
        t = time.perf_counter()
        a @ b  # warm-up, and the probe of how slow this size is
        first = time.perf_counter() - t
        reps = max(1, min(20, int(0.3 / max(first, 1e-6))))
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(reps):
                a @ b
            best = max(best, 2 * n**3 * reps / (time.perf_counter() - t))
        if first > budget_s:
            break
    return best


if __name__ == "__main__":
    print(describe())
    print(f"fp32 matmul peak: {matmul_peak(torch.float32) / 1e9:.1f} GFLOP/s")
    print(f"bf16 matmul peak: {matmul_peak(torch.bfloat16, sizes=(128, 256, 512, 1024)) / 1e9:.1f} GFLOP/s")
