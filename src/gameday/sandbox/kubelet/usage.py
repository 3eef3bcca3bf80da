"""CPU and memory of process groups, read from /proc (what metrics.k8s.io
serves and what the memory limit is enforced against)."""
from __future__ import annotations

import os

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def scan() -> dict[int, tuple[float, int]]:
    """process group id -> (CPU seconds so far, resident bytes) over its processes."""
    out: dict[int, list] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ')'.
        fields = data[data.rfind(b")") + 2:].split()
        if len(fields) < 22:
            continue
        pgrp = int(fields[2])
        cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
        rss = int(fields[21]) * PAGE
        acc = out.setdefault(pgrp, [0.0, 0])
        acc[0] += cpu
        acc[1] += rss
    return {k: (v[0], v[1]) for k, v in out.items()}


def node_totals() -> tuple[float, int]:
    """(CPU seconds of the machine so far, memory in use in bytes)."""
    cpu = 0.0
    try:
        with open("/proc/stat") as f:
            parts = f.readline().split()[1:]
        cpu = (int(parts[0]) + int(parts[1]) + int(parts[2]) + int(parts[5]) + int(parts[6])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        pass
    total = avail = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    total = int(line.split()[1]) * 1024
                elif line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
    except OSError:
        pass
    return cpu, max(0, total - avail)


def group_pss(pgid: int) -> int:
    """Proportional set size of a process group in bytes: shared memory (a
    database's buffers) is counted once, not once per process as RSS would."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getpgid(int(entry)) != pgid:
                continue
            with open(f"/proc/{entry}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError):
            continue
    return total
