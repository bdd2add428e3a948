"""Shared helpers for the benchmark scripts: child-process timing, peak memory, and plain tables.

Benchmarks print tables; they never assert. Run them from the repository root.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parent.parent
HOURLY = ROOT / "hourly_models"
HOURLY_MODELS = tuple(sorted(str(p) for p in HOURLY.glob("*/model.json")))


last_cpu_seconds = 0.0

PYCACHE = Path(tempfile.gettempdir()) / "kerasparams-bench-pycache"
"""Bytecode for child processes, outside the repository.

This environment sets ``PYTHONDONTWRITEBYTECODE=1``, so without a cache every
child would compile the package from source, which an installed package never
does; the children write and reuse bytecode here instead (warm-up runs first).
"""


def run_child(argv: Sequence[str], cwd: str | os.PathLike[str] | None = None,
              env: dict[str, str] | None = None) -> tuple[float, int, int, str]:
    """Run a process; return (wall seconds, peak RSS in KiB, exit status, stdout+stderr).

    The CPU time (user + system) of the last child is kept in ``last_cpu_seconds``:
    on a loaded machine it is far steadier than wall time.
    """
    global last_cpu_seconds
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPYCACHEPREFIX": str(PYCACHE), **(env or {})}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    process = subprocess.Popen(list(argv), cwd=cwd, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    assert process.stdout is not None
    output = process.stdout.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    last_cpu_seconds = usage.ru_utime + usage.ru_stime
    process.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss, process.returncode, output


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for index, row in enumerate(cells):
        lines.append("  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                               for i, cell in enumerate(row)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def machine_note() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    return (f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
            f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at start")
