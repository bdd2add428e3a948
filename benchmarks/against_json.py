"""Issue 8: the in-process cost of checking a model, against the floor of just ``json.load``-ing it.

Over the generated corpus (``make_corpus.py``: >= 1,000 Keras-written configs,
including large applications such as NASNetMobile) it times, per phase:

* ``json.load``: the floor any tool pays;
* ``read_json``: our reader (UTF-8, duplicate keys, size limit);
* schema validation (jsonschema, Draft 2020-12);
* the engine alone (graph + rules), on already-read documents;
* ``check_model_file``: everything, end to end.

Each phase runs over the whole corpus several times; the fastest pass counts
(the least disturbed by other load). Figures are per model and per layer; the
one-time cost (imports, schema compilation, rule table) is shown apart.
Usage: ``python benchmarks/against_json.py [--count 1000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import collections
import json
import time
from pathlib import Path
from typing import Any, Callable

from _common import machine_note, table
from make_corpus import corpus


def best_of(repeat: int, work: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    entries = corpus(args.count)[: args.count]
    paths = [e["path"] for e in entries]
    print(f"# check cost vs json.load over {len(paths)} Keras-written configs, "
          f"{sum(e['bytes'] for e in entries) / 1e6:.1f} MB ({machine_note()})\n")

    start = time.perf_counter()
    from pytest_kerasparams.analysis import analyze_document
    from pytest_kerasparams.check import check_model_file
    from pytest_kerasparams.jsonfile import read_json
    from pytest_kerasparams.registry import default_rule_table
    from pytest_kerasparams.schema import validate
    imports = time.perf_counter() - start
    start = time.perf_counter()
    check_model_file(paths[0])
    first = time.perf_counter() - start

    checks = [check_model_file(p) for p in paths]
    layers = [len(c.analysis.report.layers) if c.analysis else 0 for c in checks]
    total_layers = sum(layers)
    documents = [read_json(p) for p in paths]
    rules = default_rule_table()

    def load_all() -> None:
        for path in paths:
            with open(path, encoding="utf-8") as handle:
                json.load(handle)

    phases = [
        ("json.load", best_of(args.repeat, load_all)),
        ("read_json (our reader)", best_of(args.repeat, lambda: [read_json(p) for p in paths])),
        ("schema validation only", best_of(args.repeat, lambda: [validate(d) for d in documents])),
        ("engine only (graph + rules)", best_of(args.repeat, lambda: [
            _engine(analyze_document, d, rules) for d in documents])),
        ("check_model_file (everything)", best_of(args.repeat, lambda: [check_model_file(p) for p in paths])),
    ]
    floor = phases[0][1]
    rows = [[label, f"{seconds:.3f}", f"{seconds / len(paths) * 1e3:.3f}",
             f"{seconds / max(total_layers, 1) * 1e6:.1f}", f"{seconds / floor:.1f}x"] for label, seconds in phases]
    print(table(["phase, whole corpus (best of %d)" % args.repeat, "total s", "ms/model", "µs/layer",
                 "vs json.load"], rows))
    print(f"\none-time: imports {imports * 1e3:.0f} ms, first check (schema compile, rule table) {first * 1e3:.0f} ms; "
          f"{total_layers:,} layers in all")

    outcome = collections.Counter("ok" if not c.problems else f"problem: {c.problems[0].kind}" for c in checks)
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcome.items())))
    failing = [(Path(c.path).parent.name, c.problems[0].headline()) for c in checks if c.problems][:8]
    for name, headline in failing:
        print(f"  {name}: {headline[:160]}")

    big = [(e, c, n) for e, c, n in zip(entries, checks, layers) if not e["kind"].split("_")[0] in (
        "dense", "recurrent", "text", "convolutional", "functional")]
    rows = []
    for entry, check, count in big:
        path = entry["path"]
        load = best_of(args.repeat, lambda: json.load(open(path, encoding="utf-8")))
        full = best_of(args.repeat, lambda: check_model_file(path))
        rows.append([entry["kind"], f"{count}", f"{entry['bytes'] / 1e3:.0f}", f"{load * 1e3:.2f}",
                     f"{full * 1e3:.2f}", f"{full / load:.1f}x", f"{full / max(count, 1) * 1e6:.0f}",
                     "ok" if not check.problems else check.problems[0].kind])
    print()
    print(table(["application", "layers", "kB", "json.load ms", "check ms", "ratio", "µs/layer", "outcome"], rows))


def _engine(analyze: Any, document: Any, rules: Any) -> None:
    try:
        analyze(document, rules, validate_schema=False)
    except Exception:  # counted in the outcomes above
        pass


if __name__ == "__main__":
    main()
