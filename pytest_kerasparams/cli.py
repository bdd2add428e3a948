"""The ``kerasparams`` command: the same checks as the pytest plugin, for pre-commit and CI."""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
from pathlib import Path
from typing import Any, Iterator, Sequence

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
DEFAULT_PATTERNS = ("model.json",)


class UsageError(Exception):
    """Bad arguments: exit status 2 with one line on stderr."""


def _iter_models(paths: Sequence[str], patterns: Sequence[str]) -> Iterator[str]:
    """Files as given; folders walked (sorted, no symlinked folders) for matching names."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
                for name in sorted(files):
                    if any(fnmatch.fnmatch(name, p) for p in patterns):
                        yield os.path.join(root, name).replace(os.sep, "/")
        elif path.exists() or path.is_symlink():
            yield given.replace(os.sep, "/")
        else:
            raise UsageError(f"{given}: no such file or directory")


def _rules(plugins: Sequence[str]) -> Any:
    from .registry import default_rule_table

    return default_rule_table(tuple(plugins))


def _options(args: argparse.Namespace) -> Any:
    from .check import CheckOptions

    return CheckOptions(rules=_rules(args.plugin), max_params=getattr(args, "max_params", None),
                        not_keras="error" if getattr(args, "strict", False) else "skip",
                        rootdir=os.getcwd())


def _cmd_check(args: argparse.Namespace) -> int:
    from .check import check_model_file
    from .problems import Problem

    options = _options(args)
    models = list(_iter_models(args.paths, args.pattern or DEFAULT_PATTERNS))
    checks = []
    for path in models:
        check = check_model_file(path, options, display=path)
        for message in options.rules.errors:
            check.problems.insert(0, Problem("plugin", path, message))
        checks.append(check)
    failed = any(c.problems for c in checks)
    if args.format == "json":
        print(json.dumps([c.as_json() for c in checks], indent=2))
    elif args.format == "github":
        for check in checks:
            for problem in check.problems:
                message = problem.render().replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
                line = f",line={problem.line}" if problem.line else ""
                print(f"::error file={problem.file}{line}::{message}")
    else:
        for check in checks:
            if check.skipped:
                print(f"{check.path}: skipped: {check.skipped}")
            for problem in check.problems:
                print(problem.render())
                print()
        ok = sum(1 for c in checks if not c.problems and not c.skipped)
        bad = sum(1 for c in checks if c.problems)
        print(f"{ok} passed, {bad} failed" + (f", {sum(1 for c in checks if c.skipped)} skipped"
                                              if any(c.skipped for c in checks) else ""))
    return EXIT_PROBLEMS if failed else EXIT_OK


def _analyses(args: argparse.Namespace) -> Iterator[tuple[str, Any]]:
    """(path, Analysis or list of problems) for each model, in argument order."""
    from .check import check_model_file

    options = _options(args)
    for path in _iter_models(args.paths, DEFAULT_PATTERNS if not getattr(args, "pattern", None) else args.pattern):
        check = check_model_file(path, options, display=path)
        if check.analysis is None:
            yield path, check.problems or [check.skipped]
        else:
            yield path, check.analysis


def _summary_json(path: str, analysis: Any) -> dict[str, Any]:
    report = analysis.report

    def shape(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, list):
            return [list(s) for s in value]
        return list(value)

    return {
        "path": path,
        "class_name": analysis.model.class_name,
        "total": report.total,
        "trainable": report.trainable,
        "non_trainable": report.non_trainable,
        "layers": [{
            "name": row.name,
            "class_name": row.class_name,
            "output_shape": shape(row.summary_output()),
            "params": row.params,
            "trainable": row.trainable_params,
            "non_trainable": row.non_trainable_params,
            "weights": [{"name": v.name, "shape": list(v.shape), "trainable": v.trainable} for v in row.variables],
        } for row in report.rows],
    }


def _summary_text(analysis: Any) -> str:
    from .explain import fmt_shape, fmt_shapes

    report = analysis.report
    rows = [("Layer (type)", "Output Shape", "Param #")]
    for row in report.rows:
        output = row.summary_output()
        shown = "?" if output is None else fmt_shapes(output) if isinstance(output, list) else fmt_shape(output)
        rows.append((f"{row.name} ({row.class_name})", shown, f"{row.params:,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    line = "-" * (sum(widths) + 6)
    out = [f'Model: "{analysis.model.name}"', line]
    for index, row in enumerate(rows):
        out.append(f"{row[0].ljust(widths[0])}   {row[1].ljust(widths[1])}   {row[2].rjust(widths[2])}")
        if index == 0:
            out.append("=" * len(line))
    out += [line, f"Total params: {report.total:,}", f"Trainable params: {report.trainable:,}",
            f"Non-trainable params: {report.non_trainable:,}"]
    return "\n".join(out)


def _report_failures(failures: list[tuple[str, Any]]) -> None:
    for _, problems in failures:
        for problem in problems:
            print(problem if isinstance(problem, str) else problem.render(), file=sys.stderr)


def _cmd_summary(args: argparse.Namespace) -> int:
    results = list(_analyses(args))
    good = [(p, a) for p, a in results if not isinstance(a, list)]
    failures = [(p, a) for p, a in results if isinstance(a, list)]
    if args.format == "json":
        print(json.dumps([_summary_json(p, a) for p, a in good], indent=2))
    else:
        print("\n\n".join(f"{p}\n{_summary_text(a)}" for p, a in good))
    _report_failures(failures)
    return EXIT_PROBLEMS if failures else EXIT_OK


def _cmd_explain(args: argparse.Namespace) -> int:
    from .explain import explain_model, explain_model_markdown

    results = list(_analyses(args))
    failures = [(p, a) for p, a in results if isinstance(a, list)]
    for path, analysis in results:
        if isinstance(analysis, list):
            continue
        if args.layer is not None and analysis.report.find(args.layer) is None:
            raise UsageError(f"{path}: no layer named {args.layer!r}")
        if args.format == "markdown":
            print(explain_model_markdown(analysis.report, f"{path}", args.layer))
        else:
            print(f"{path}")
            print(explain_model(analysis.report, args.layer))
    _report_failures(failures)
    return EXIT_PROBLEMS if failures else EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    from .schema import schema_text

    sys.stdout.write(schema_text())
    return EXIT_OK


def _cmd_update(args: argparse.Namespace) -> int:
    from .check import check_model_file
    from .update import update_summary

    options = _options(args)
    status = EXIT_OK
    for path in _iter_models(args.paths, DEFAULT_PATTERNS):
        check = check_model_file(path, options, display=path)
        if check.analysis is None:
            _report_failures([(path, check.problems or [check.skipped or "skipped"])])
            status = EXIT_PROBLEMS
            continue
        written = update_summary(check, Path(path))
        if written is not None:
            print(f"wrote {written}")
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kerasparams", description=(
        "Check Keras model configs: recompute every layer's output shape and parameter count "
        "without TensorFlow, and compare with stored summaries, weight files and documents."))
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("paths", nargs="+", metavar="PATH", help="model files or folders to search")
        sub.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                         help="import MODULE as a rule plugin (repeatable)")

    check = commands.add_parser("check", help="check models; exit 1 if anything disagrees")
    common(check)
    check.add_argument("--format", choices=("text", "json", "github"), default="text")
    check.add_argument("--max-params", type=int, default=None, metavar="N",
                       help="fail any model with more than N parameters")
    check.add_argument("--pattern", action="append", metavar="GLOB",
                       help="file names to collect in folders (default: model.json)")
    check.add_argument("--strict", action="store_true",
                       help="fail, rather than skip, JSON files that are not Keras models")
    check.set_defaults(func=_cmd_check)

    summary = commands.add_parser("summary", help="print a Keras-style summary computed without TensorFlow")
    common(summary)
    summary.add_argument("--format", choices=("text", "json"), default="text")
    summary.set_defaults(func=_cmd_summary)

    explain = commands.add_parser("explain", help="print every layer's derivation, gate by gate")
    common(explain)
    explain.add_argument("--layer", metavar="NAME", help="only this layer")
    explain.add_argument("--format", choices=("text", "markdown"), default="text")
    explain.set_defaults(func=_cmd_explain)

    update = commands.add_parser("update", help="write or refresh summary.txt beside each model")
    common(update)
    update.set_defaults(func=_cmd_update)

    schema = commands.add_parser("schema", help="print the JSON Schema for Keras model configs")
    schema.set_defaults(func=_cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0) if exit_.code in (0, None) else EXIT_USAGE
    try:
        return int(args.func(args))
    except UsageError as error:
        print(f"kerasparams: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
