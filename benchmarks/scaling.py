"""Issue 8: how a pytest run grows with the number of model files, serial and with ``-n 2``.

Builds trees of 100, 1,000 and 10,000 models (the five hourly models, each with
its summary.txt, repeated in numbered folders) and times, in fresh processes:

* ``pytest --collect-only`` (reads no model file);
* ``pytest`` serial;
* ``pytest -n 2`` (pytest-xdist);
* ``pytest -p no:kerasparams`` (the same tree walked with the plugin off).

Prints wall time, CPU time (this process tree) and time per model.
Usage: ``python benchmarks/scaling.py [--sizes 100 1000 10000]``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import _common
from _common import HOURLY, machine_note, run_child, table


def make_tree(root: Path, count: int) -> None:
    sources = sorted(p.parent for p in HOURLY.glob("*/model.json"))
    for index in range(count):
        source = sources[index % len(sources)]
        target = root / f"group_{index // 100:03d}" / f"{source.name}_{index:05d}"
        target.mkdir(parents=True)
        shutil.copyfile(source / "model.json", target / "model.json")
        shutil.copyfile(source / "summary.txt", target / "summary.txt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    args = parser.parse_args()
    print(f"# pytest over N model files ({machine_note()})\n")
    rows = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="kerasparams-scaling-") as folder:
            root = Path(folder)
            make_tree(root, size)
            base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:benchmark", str(root),
                    "--rootdir", str(root)]
            run_child(base + ["--collect-only"], cwd=root)  # warm-up: bytecode, file cache
            for label, extra, expect in (("collect only", ["--collect-only"], 0), ("serial", [], 0),
                                         ("-n 2", ["-n", "2"], 0), ("-p no:kerasparams", ["-p", "no:kerasparams"], 5)):
                wall, _, status, output = run_child(base + extra, cwd=root)
                assert status == expect, output[-2000:]
                cpu = _common.last_cpu_seconds
                rows.append([f"{size:,}", label, f"{wall:.2f}", f"{cpu:.2f}", f"{wall / size * 1e3:.2f}"])
                print("  " + "  ".join(rows[-1]), file=sys.stderr)
    print(table(["models", "run", "wall s", "CPU s", "wall ms/model"], rows))
    print("\nCPU s counts the pytest process and its children (xdist workers), so on 2 cores -n 2 can "
          "halve wall time only when the machine is otherwise idle.")


if __name__ == "__main__":
    main()
