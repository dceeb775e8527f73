"""How many torch threads a training process should use while other work shares the machine.

torch's OpenMP threads spin for a while at every sync point before they
sleep. A run alone on the machine gains a lot from that (on the 2-core
machines the default GPT step runs about twice as fast as with sleeping threads,
OMP_WAIT_POLICY=PASSIVE), but when two processes' threads together
outnumber the cores, each spins while the thread it waits for is descheduled
and both crawl. So a training process with `train.threads = 0` (auto)
measures, every couple of seconds, how many cores the *rest* of the machine
keeps busy (`/proc/stat` minus its own CPU time) and uses the cores left
over, at least one:

    share = CoreShare(cores=2)
    ...
    want = share.threads()        # a number every `interval_s`, None in between
    if want: torch.set_num_threads(want)

Two runs started together settle on one thread each within one interval; when
one ends, the other takes both cores back. One thread never spins, so a
process at one thread cannot hurt the others. Off Linux (no /proc/stat) the
count never changes.
"""

from __future__ import annotations

import os
import time

INTERVAL_S = 2.0  # how often a run re-measures; a second run is noticed within this long


def threads_for(cores: int, others_busy: float) -> int:
    """The cores the rest of the machine leaves idle (others rounded to whole cores), at least 1."""
    return max(1, min(cores, cores - int(others_busy + 0.5)))


def _busy_ticks(cpus: set[int]) -> int | None:
    """Busy clock ticks of these CPUs since boot (user + nice + system + irq + softirq), or None."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    total, seen = 0, False
    for line in lines:
        name, *fields = line.split()
        if not (name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus):
            continue
        user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[:7])
        total += user + nice + system + irq + softirq  # steal (the hypervisor's) is nobody's here
        seen = True
    return total if seen else None


def _own_cpu_s() -> float:
    t = os.times()
    return t.user + t.system  # every thread of this process


class CoreShare:
    """Tells a training process how many threads to use; see the module docstring."""

    def __init__(self, cores: int, interval_s: float | None = None):
        try:
            self.cpus = set(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            self.cpus = set(range(os.cpu_count() or 1))
        self.cores = cores
        self.interval_s = interval_s or INTERVAL_S
        self.tick_s = 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01
        self.others = 0.0  # cores the rest of the machine kept busy in the last interval
        self._mark = self._sample()

    def _sample(self) -> tuple[float, int | None, float]:
        return time.monotonic(), _busy_ticks(self.cpus), _own_cpu_s()

    def threads(self) -> int | None:
        """The thread count for the next interval, once an interval has passed; else None."""
        now = time.monotonic()
        if now - self._mark[0] < self.interval_s:
            return None
        then, mark = self._mark, self._sample()
        self._mark = mark
        if then[1] is None or mark[1] is None:
            return None
        wall = mark[0] - then[0]
        busy_s = (mark[1] - then[1]) * self.tick_s
        self.others = max(0.0, (busy_s - (mark[2] - then[2])) / wall)
        return threads_for(self.cores, self.others)
