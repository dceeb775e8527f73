"""Which process is which: liveness, start time and identity of a pid on this host (Linux /proc).

A pid alone does not name a process: after a process ends, the kernel hands
its number to the next one. A run's status therefore records the pid, the
host and the process start time (`this_process()`), and `same_process()`
says whether that very process still runs here. Off Linux (no /proc) the
start time is unknown and the check falls back to "is the pid alive".
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any


def pid_alive(pid: int | None) -> bool:
    """Is process `pid` running on this machine (a zombie counts as dead)?"""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # Linux: a finished child nobody has waited for yet is a zombie ("Z")
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def process_start_time(pid: int | None) -> float | None:
    """When process `pid` started (seconds since the epoch, to 1/100 s), from /proc; None when unknown.

    Two processes that share a pid (the pid was reused) differ here: it names the process, not the slot."""
    if not pid or pid <= 0:
        return None
    try:
        ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])  # field 22: starttime
        with open("/proc/stat", encoding="ascii") as fh:
            boot = next(int(line.split()[1]) for line in fh if line.startswith("btime "))
        return round(boot + ticks / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def this_process() -> dict[str, Any]:
    """The status fields that identify the calling process: pid, host and start time."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "pid_started": process_start_time(os.getpid())}


def same_process(pid: int | None, started: float | None, host: str | None = None) -> bool:
    """Is the process recorded as (pid, start time, host) still running here? A reused pid is not it; a
    process on another host cannot be checked (False). Without a recorded start time: pid_alive."""
    if host is not None and host != socket.gethostname():
        return False
    if not pid_alive(pid):
        return False
    if started is None:
        return True
    now = process_start_time(pid)
    return now is None or abs(now - float(started)) < 1.0
