"""Issue 8: checking the five hourly models without TensorFlow, against loading them with Keras.

Each side runs in a fresh process, end to end (imports included), as a CI job
or a pre-commit hook would:

* kerasparams: ``check_model_file`` on each model (schema, shapes, counts,
  comparison with summary.txt);
* Keras: ``tf_keras.models.model_from_json`` + ``count_params()`` on each model
  (tf-keras, because Keras 3's ``model_from_json`` cannot read these Keras
  2.2.4-era configs).

Reports wall time, CPU time and peak RSS (medians over runs) and their ratios.
Targets: at least 15x faster and 10x less memory. Usage:
``python benchmarks/against_keras.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import sys

import _common
from _common import HOURLY_MODELS, machine_note, median, run_child, table

OURS = r"""
import json, sys
from pytest_kerasparams.check import check_model_file
totals = {}
for path in sys.argv[1:]:
    check = check_model_file(path)
    assert not check.problems, [p.render() for p in check.problems]
    totals[path] = check.analysis.report.total
print(json.dumps(totals))
"""

KERAS = r"""
import json, os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tf_keras
totals = {}
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as handle:
        model = tf_keras.models.model_from_json(handle.read())
    totals[path] = int(model.count_params())
print(json.dumps(totals))
"""


def measure(code: str, runs: int) -> tuple[list[float], list[float], list[int], dict[str, int]]:
    walls, cpus, rss = [], [], []
    totals: dict[str, int] = {}
    run_child([sys.executable, "-c", code, *HOURLY_MODELS])  # warm-up: bytecode and file cache
    for _ in range(runs):
        wall, peak, status, output = run_child([sys.executable, "-c", code, *HOURLY_MODELS])
        assert status == 0, output
        totals = json.loads(output.strip().splitlines()[-1])
        walls.append(wall)
        cpus.append(_common.last_cpu_seconds)
        rss.append(peak)
    return walls, cpus, rss, totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"# five hourly models: kerasparams vs tf-keras, fresh process each run ({machine_note()})\n")
    ours = measure(OURS, args.runs)
    keras = measure(KERAS, args.runs)
    assert ours[3] == keras[3], (ours[3], keras[3])
    rows = []
    for label, (walls, cpus, rss, _) in (("kerasparams check", ours), ("tf_keras model_from_json + count_params",
                                                                        keras)):
        rows.append([label, f"{median(walls):.3f}", f"{median(cpus):.3f}", f"{median(rss) / 1024:.1f}"])
    rows.append(["ratio (Keras / kerasparams)", f"{median(keras[0]) / median(ours[0]):.1f}x",
                 f"{median(keras[1]) / median(ours[1]):.1f}x", f"{median(keras[2]) / median(ours[2]):.1f}x"])
    print(table(["process (imports included)", "wall s", "CPU s", "peak RSS MiB"], rows))
    print(f"\nsame totals from both: {', '.join(f'{v:,}' for v in ours[3].values())}")
    print(f"targets: >= 15x faster (wall {median(keras[0]) / median(ours[0]):.1f}x, "
          f"CPU {median(keras[1]) / median(ours[1]):.1f}x), >= 10x less memory "
          f"({median(keras[2]) / median(ours[2]):.1f}x); medians of {args.runs} runs")


if __name__ == "__main__":
    main()
