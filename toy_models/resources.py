"""How much memory this process may still use (for plans that refuse work before allocating).

`available_ram()`: the kernel's MemAvailable, capped by a cgroup v2 (`memory.max`) or v1
(`memory.limit_in_bytes`) limit minus the group's current use.  No torch import.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["available_ram", "gib"]

_CGROUPS = (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
            ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
             "/sys/fs/cgroup/memory/memory.usage_in_bytes"))


def available_ram() -> float:
    """Bytes of RAM this process may still use."""
    avail = math.inf
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
    except OSError:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    for limit, usage in _CGROUPS:
        try:
            text = Path(limit).read_text().strip()
            if text != "max" and int(text) < 1 << 60:
                avail = min(avail, int(text) - int(Path(usage).read_text()))
        except (OSError, ValueError):
            continue
    return float(avail)


def gib(n_bytes: float) -> str:
    """`1.5 GiB`, or `300 MiB` below a tenth of a GiB."""
    g = n_bytes / 2**30
    return f"{g:.1f} GiB" if g >= 0.1 else f"{n_bytes / 2**20:.0f} MiB"
