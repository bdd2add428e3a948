"""Seeded mutation fuzzing of the checker: N mutated model files, zero internal errors expected.

Usage: ``python benchmarks/fuzz_mutations.py [--runs 10000] [--seed 9]``. Exits 1 and lists the
first reproducers if any input makes :func:`check_model_file` raise, return an empty message or a
traceback, or hides a crash of a built-in rule. The mutations are those of tests/test_mutations.py.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.test_mutations import BASES, mutate, mutate_text, rule_names, run_check, run_without_schema  # noqa: E402


def report(failures: list[tuple[str, object, list[str]]], show: int) -> None:
    kinds = collections.Counter(error.split(": ", 2)[1] if error.count(": ") >= 2 else error
                                for _, _, errors in failures for error in errors)
    for kind, count in kinds.most_common():
        print(f"  internal error x{count:,}: {kind}")
    for where, data, errors in failures[:show]:
        shown = data if isinstance(data, str) else json.dumps(data)
        print(f"\n{where}: {errors[0]}\n  input: {shown[:2000]!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--show", type=int, default=5, help="reproducers to print on failure")
    parser.add_argument("--without-schema", action="store_true",
                        help="also analyse each input with the schema off (rules and graph reader alone)")
    args = parser.parse_args(argv)

    rnd = random.Random(args.seed)
    names = rule_names() + ["Sequential", "Functional", "Model", "InputLayer"]
    bases = sorted(BASES)
    outcomes: collections.Counter[str] = collections.Counter()
    failures: list[tuple[str, object, list[str]]] = []
    schema_off: list[tuple[str, object, list[str]]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.json"
        for run in range(args.runs):
            base = BASES[rnd.choice(bases)]
            if run % 5 == 4:
                data: object = mutate_text(json.dumps(base, indent=rnd.choice([None, 1])), rnd)
            else:
                data = mutate(base, rnd, names, rnd.randint(1, 4))
            check, errors = run_check(path, data)
            if args.without_schema:
                more = run_without_schema(path)
                if more:
                    schema_off.append((f"run {run}", data, more))
            if errors:
                failures.append((f"run {run}", data, errors))
            elif check is None or check.skipped:
                outcomes["skipped (not Keras)"] += 1
            elif not check.problems:
                outcomes["no problems"] += 1
            else:
                outcomes[f"problem: {check.problems[0].kind}"] += 1
    elapsed = time.perf_counter() - started
    print(f"{args.runs:,} mutated configs (seed {args.seed}) in {elapsed:.1f} s: "
          f"{len(failures)} internal errors")
    for outcome, count in outcomes.most_common():
        print(f"  {count:6,}  {outcome}")
    report(failures, args.show)
    if args.without_schema:
        print(f"with the schema off: {len(schema_off)} internal errors")
        report(schema_off, args.show)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
