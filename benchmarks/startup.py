"""Issue 8: what installing pytest-kerasparams adds to a pytest run that collects no model file.

Three measurements, each a median over fresh processes:

1. importing the plugin module after pytest (what every pytest run pays);
2. the modules that import drags in beyond what pytest itself loads;
3. whole ``pytest`` runs over a small project with no model files, with the
   plugin and with ``-p no:kerasparams``, interleaved so load drifts affect both.

Target: under 20 ms added. Usage: ``python benchmarks/startup.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import _common
from _common import machine_note, median, run_child, table

IMPORT_PROBE = r"""
import sys, time, json
import pytest
before = set(sys.modules)
start, cpu = time.perf_counter(), time.process_time()
import pytest_kerasparams.plugin
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": elapsed, "cpu": cpu, "new": sorted(set(sys.modules) - before)}))
"""


def make_project(root: Path) -> None:
    """A project like a user's: a few test modules and many data files, none of them a model config."""
    (root / "tests").mkdir()
    for index in range(5):
        (root / "tests" / f"test_module_{index}.py").write_text(
            "def test_one():\n    assert 1 + 1 == 2\n", encoding="utf-8")
    data = root / "data"
    data.mkdir()
    for index in range(300):
        suffix = (".json", ".txt", ".csv")[index % 3]
        (data / f"file_{index}{suffix}").write_text("{}\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    print(f"# pytest start-up cost of pytest-kerasparams ({machine_note()})\n")

    run_child([sys.executable, "-c", IMPORT_PROBE])  # warm-up: writes bytecode
    import_times, import_cpu, new_modules = [], [], []
    for _ in range(args.runs):
        _, _, status, output = run_child([sys.executable, "-c", IMPORT_PROBE])
        assert status == 0, output
        data = json.loads(output.strip().splitlines()[-1])
        import_times.append(data["seconds"])
        import_cpu.append(data["cpu"])
        new_modules = data["new"]
    print(table(["import pytest_kerasparams.plugin after pytest", "median ms", "min ms"], [
        ["wall time", f"{median(import_times) * 1000:.1f}", f"{min(import_times) * 1000:.1f}"],
        ["CPU time", f"{median(import_cpu) * 1000:.1f}", f"{min(import_cpu) * 1000:.1f}"]]))
    print(f"\nmodules newly imported by the plugin ({len(new_modules)}): {', '.join(new_modules)}\n")

    with tempfile.TemporaryDirectory(prefix="kerasparams-startup-") as folder:
        root = Path(folder)
        make_project(root)
        base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(root)]
        run_child(base, cwd=root)  # warm-up: writes bytecode
        walls: dict[bool, list[float]] = {True: [], False: []}
        cpus: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.runs):
            for enabled in (True, False):
                argv = base if enabled else base + ["-p", "no:kerasparams"]
                wall, _, status, output = run_child(argv, cwd=root)
                assert status == 0, output
                walls[enabled].append(wall)
                cpus[enabled].append(_common.last_cpu_seconds)

        def row(label: str, values: dict[bool, list[float]]) -> list[list[str]]:
            on, off = median(values[True]), median(values[False])
            return [[f"{label}: with pytest-kerasparams", f"{on * 1000:.1f}", f"{min(values[True]) * 1000:.1f}"],
                    [f"{label}: with -p no:kerasparams", f"{off * 1000:.1f}", f"{min(values[False]) * 1000:.1f}"],
                    [f"{label}: added by the plugin", f"{(on - off) * 1000:.1f}",
                     f"{(min(values[True]) - min(values[False])) * 1000:.1f}"]]

        print(table(["pytest run: 5 tests, 300 data files, no model", "median ms", "min ms"],
                    row("wall", walls) + row("CPU", cpus)))
        added_cpu = median(cpus[True]) - median(cpus[False])
        print(f"\ntarget: under 20 ms added. Import: {median(import_cpu) * 1000:.1f} ms CPU "
              f"({median(import_times) * 1000:.1f} ms wall); whole run: {added_cpu * 1000:.1f} ms CPU "
              f"({(median(walls[True]) - median(walls[False])) * 1000:.1f} ms wall), medians of {args.runs} runs. "
              "Wall-time differences are noise on a loaded machine; CPU time is the steadier figure.")


if __name__ == "__main__":
    main()
