"""The ``kerasparams`` command: the same checks as the pytest plugin, for pre-commit and CI."""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
DEFAULT_PATTERNS = ("model.json",)


class UsageError(Exception):
    """Bad arguments: exit status 2 with one line on stderr."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``kerasparams: error: ...``) and exit status 2."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        command = self.prog.partition(" ")[2]
        raise UsageError(f"{command}: {message}" if command else message)


SUMMARY_FILE = "summary.txt"
WEIGHT_SUFFIXES = (".h5", ".hdf5")
DOCUMENT_SUFFIXES = (".md", ".ipynb")


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(name, p) for p in patterns)


def _walk(folder: Path, patterns: Sequence[str]) -> Iterator[str]:
    """Matching files under a folder: sorted, hidden folders and symlinked folders skipped."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in sorted(files):
            if _matches(name, patterns):
                yield os.path.join(root, name).replace(os.sep, "/")


def _models_beside(path: Path, patterns: Sequence[str]) -> list[str]:
    """The model files in the folder of a summary, weight file or document."""
    folder = path.parent
    try:
        names = sorted(entry.name for entry in os.scandir(folder) if _matches(entry.name, patterns))
    except OSError:
        return []
    return [_shown(folder / name) for name in names if (folder / name).is_file()]


def _shown(path: Path | str) -> str:
    """A path as the user would type it: relative to the working folder when inside it, forward slashes."""
    text = os.path.normpath(os.fspath(path))
    if os.path.isabs(text):
        try:
            relative = os.path.relpath(text)
        except ValueError:
            relative = text
        if not relative.startswith(".."):
            text = relative
    return text.replace(os.sep, "/")


def _models_named_in(document: Path, patterns: Sequence[str]) -> list[str]:
    """Model files a Markdown file or notebook mentions (links or paths), relative to it or to the cwd."""
    try:
        text = document.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    literal = [re.escape(p) for p in patterns if not any(c in p for c in "*?[")]
    if not literal:
        return []
    mention = re.compile(r"[\w.\-/\\]*(?<![\w.\-])(?:" + "|".join(literal) + r")(?![\w.\-])|"
                         r"[\w.\-/\\]*/(?:" + "|".join(literal) + r")(?![\w.\-])")
    found: list[str] = []
    for match in mention.finditer(text):
        named = match.group(0).replace("\\\\", "/").replace("\\", "/")
        for base in (document.parent, Path(".")):
            candidate = base / named
            if candidate.is_file():
                found.append(_shown(candidate))
                break
    return found


def collect_models(paths: Sequence[str], patterns: Sequence[str]) -> dict[str, list[str]]:
    """Model files to check for the paths given, each with the documents that named it.

    A model file is itself; a folder is searched; a ``summary.txt`` or weight
    file stands for the model in its folder; a Markdown file or notebook for
    the model in its folder and every model it mentions. So pre-commit, which
    passes only the changed files, re-checks exactly the models they belong to.
    Any other file given by name is checked as a model config.
    """
    models: dict[str, list[str]] = {}

    def add(model: str, document: str | None = None) -> None:
        documents = models.setdefault(model, [])
        if document is not None and document not in documents:
            documents.append(document)

    for given in paths:
        path = Path(given)
        if path.is_dir():
            for model in _walk(path, patterns):
                add(model)
        elif not (path.exists() or path.is_symlink()):
            raise UsageError(f"{given}: no such file or directory")
        elif _matches(path.name, patterns):
            add(given.replace(os.sep, "/"))
        elif path.name == SUMMARY_FILE or path.suffix.lower() in WEIGHT_SUFFIXES:
            for model in _models_beside(path, patterns):
                add(model)
        elif path.suffix.lower() in DOCUMENT_SUFFIXES:
            shown = given.replace(os.sep, "/")
            for model in _models_beside(path, patterns) + _models_named_in(path, patterns):
                add(model, shown)
        else:
            add(given.replace(os.sep, "/"))
    return models


def _iter_models(paths: Sequence[str], patterns: Sequence[str]) -> Iterator[str]:
    yield from collect_models(paths, patterns)


def _rules(plugins: Sequence[str]) -> Any:
    """Built-in and installed rules, plus ``--plugin`` modules.

    A console script does not see the working folder on ``sys.path``, so it is
    added when ``--plugin`` names modules: a repository's own rules module
    (``--plugin tools.keras_rules``) then works from pre-commit as from a shell.
    """
    from .registry import default_rule_table

    if plugins and os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    return default_rule_table(tuple(plugins))


def _options(args: argparse.Namespace) -> Any:
    from .check import CheckOptions

    options = CheckOptions(rules=_rules(args.plugin), max_params=getattr(args, "max_params", None),
                           not_keras="error" if getattr(args, "strict", False) else "skip",
                           rootdir=os.getcwd(), unknown_layers=getattr(args, "unknown_layers", "fail"))
    if getattr(args, "max_file_bytes", None) is not None:
        options.max_file_bytes = args.max_file_bytes
    return options


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_text(checks: Sequence[Any]) -> str:
    out: list[str] = []
    for check in checks:
        if check.skipped and not check.problems:
            out.append(f"{check.path}: skipped: {check.skipped}")
        for problem in check.problems:
            out += [problem.render(), ""]
    ok = sum(1 for c in checks if not c.problems and not c.skipped)
    bad = sum(1 for c in checks if c.problems)
    skipped = sum(1 for c in checks if c.skipped and not c.problems)
    out.append(f"{ok} passed, {bad} failed" + (f", {skipped} skipped" if skipped else ""))
    return "\n".join(out)


def format_json(checks: Sequence[Any]) -> str:
    return json.dumps([c.as_json() for c in checks], indent=2)


def format_github(checks: Sequence[Any]) -> str:
    """GitHub Actions workflow commands: one ``::error`` annotation per problem."""
    out = []
    for check in checks:
        for problem in check.problems:
            where = f"file={_escape_property(problem.file)}"
            if problem.line:
                where += f",line={problem.line}"
                if problem.column:
                    where += f",col={problem.column}"
            title = _escape_property(f"kerasparams {problem.kind}")
            text = problem.message + ("\n" + problem.explanation.rstrip("\n") if problem.explanation else "")
            out.append(f"::error {where},title={title}::{_escape_data(text)}")
    return "\n".join(out)


def format_markdown(checks: Sequence[Any]) -> str:
    """A review report for a CI job summary or a pull-request comment."""
    from .report import render_markdown

    return render_markdown(checks)


CHECK_FORMATS: dict[str, Callable[[Sequence[Any]], str]] = {
    "text": format_text,
    "json": format_json,
    "github": format_github,
    "markdown": format_markdown,
}
"""``kerasparams check --format NAME``: each formatter turns the list of ModelCheck into the output text.

Add an entry here (for example ``"markdown"``) and it becomes a ``--format`` choice.
"""


class _Progress:
    """``[3/120] path`` on stderr, only when stderr is a terminal, so logs stay clean."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.count = 0
        self.active = total > 1 and sys.stderr.isatty()

    def show(self, path: str) -> None:
        self.count += 1
        if self.active:
            from .problems import printable

            text = f"[{self.count}/{self.total}] {printable(path)}"
            sys.stderr.write("\r\x1b[K" + text[:200])
            sys.stderr.flush()

    def done(self) -> None:
        if self.active:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _cmd_check(args: argparse.Namespace) -> int:
    import dataclasses

    from .check import check_model_file
    from .problems import Problem

    models = collect_models(args.paths, args.pattern or DEFAULT_PATTERNS)
    options = _options(args) if models else None
    checks = []
    progress = _Progress(len(models))
    for path, documents in models.items():
        progress.show(path)
        model_options = options
        if documents and "extra_documents" in {f.name for f in dataclasses.fields(options)}:
            model_options = dataclasses.replace(options, extra_documents=tuple(documents))
        check = check_model_file(path, model_options, display=path)
        for message in options.rules.errors:
            check.problems.insert(0, Problem("plugin", path, message))
        if args.oracle and check.analysis is not None:
            from .oracle import cross_check

            check.problems.extend(cross_check(check.analysis, tuple(args.plugin)))
        checks.append(check)
    progress.done()
    output = CHECK_FORMATS[args.format](checks)
    if output:
        print(output)
    return EXIT_PROBLEMS if any(c.problems for c in checks) else EXIT_OK


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


PROTECTED_SUFFIXES = (".json", ".h5", ".hdf5", ".keras", ".md", ".ipynb")


def _write_output(target: Path, data: bytes) -> None:
    """Write a diagram, never over a model, weight or document file."""
    if target.exists() and (target.suffix.lower() in PROTECTED_SUFFIXES or target.name == "summary.txt"):
        raise UsageError(f"{target}: refusing to overwrite an existing model, weight or document file")
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)


def _cmd_plot(args: argparse.Namespace) -> int:
    from .diagram import diagram_for, render_with_graphviz, to_dot, to_mermaid

    results = list(_analyses(args))
    failures = [(p, a) for p, a in results if isinstance(a, list)]
    _report_failures(failures)
    if failures:
        return EXIT_PROBLEMS
    if len(results) != 1:
        raise UsageError("plot draws one model; give one model file")
    _, analysis = results[0]
    diagram = diagram_for(analysis, args.nested)
    if args.format == "mermaid":
        data = to_mermaid(diagram).encode("utf-8")
    elif args.format == "dot":
        data = to_dot(diagram).encode("utf-8")
    else:
        try:
            data = render_with_graphviz(to_dot(diagram), args.format)
        except RuntimeError as error:
            raise UsageError(str(error)) from None
    if args.output:
        _write_output(Path(args.output), data)
    elif args.format == "png":
        raise UsageError("--format png needs --output FILE")
    else:
        sys.stdout.write(data.decode("utf-8"))
    return EXIT_OK


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
    parser = _Parser(prog="kerasparams", description=(
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
    check.add_argument("paths", nargs="*", metavar="PATH",
                       help="model files or folders; a summary.txt, weight file, .md or .ipynb checks the "
                            "models it belongs to (no paths: nothing to check, exit 0)")
    check.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                       help="import MODULE as a rule plugin (repeatable)")
    check.add_argument("--format", choices=tuple(CHECK_FORMATS), default="text")
    check.add_argument("--max-file-bytes", type=int, default=None, metavar="N",
                       help="refuse model files larger than N bytes (default: 64 MiB)")
    check.add_argument("--max-params", type=int, default=None, metavar="N",
                       help="fail any model with more than N parameters")
    check.add_argument("--pattern", action="append", metavar="GLOB",
                       help="file names to collect in folders (default: model.json)")
    check.add_argument("--unknown-layers", choices=("fail", "skip", "opaque"), default="fail",
                       help="a layer with no rule: fail the model (default), skip it, or take the layer as "
                            "opaque (output shape from the file, weights unknown)")
    check.add_argument("--oracle", action="store_true",
                       help="also build each model with the installed Keras and compare layer by layer "
                            "(needs the oracle extra; imports TensorFlow)")
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

    plot = commands.add_parser("plot", help="draw the model as Mermaid or Graphviz DOT (or SVG/PNG via dot)")
    common(plot)
    plot.add_argument("--format", choices=("mermaid", "dot", "svg", "png"), default="mermaid")
    plot.add_argument("--output", metavar="FILE", help="write here instead of standard output")
    plot.add_argument("--nested", choices=("collapse", "cluster"), default="collapse",
                      help="draw nested models as one node or as a cluster of their layers")
    plot.set_defaults(func=_cmd_plot)

    schema = commands.add_parser("schema", help="print the JSON Schema for Keras model configs")
    schema.set_defaults(func=_cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exit_:  # --help and --version
            return int(exit_.code or 0) if exit_.code in (0, None) else EXIT_USAGE
        return int(args.func(args))
    except UsageError as error:
        print(f"kerasparams: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
