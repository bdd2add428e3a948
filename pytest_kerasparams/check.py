"""Checking one model file against everything stored about it.

The pytest plugin and the CLI are both thin layers over :func:`check_model_file`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .analysis import Analysis, SchemaErrors, analyze_document, looks_like_keras
from .engine import LayerReport
from .explain import fmt_shape, fmt_shapes, layer_derivation, layer_heading
from .jsonfile import DEFAULT_MAX_FILE_BYTES, read_json
from .problems import InputError, Problem
from .registry import RuleTable
from .diagnosis import diagnose_count, diagnose_output_shape, diagnose_totals
from .sources.manifest import check_manifest
from .sources.summary import StoredSummary, SummaryRow, find_summaries, parse_shape_text, parse_summaries
from .sources.weights import check_weight_files

SUMMARY_FILE = "summary.txt"


@dataclass
class CheckOptions:
    """Everything a front end can set; the defaults are what a plain ``pytest`` run uses."""

    rules: RuleTable | None = None
    not_keras: str = "skip"
    """``skip`` (a plainly non-Keras JSON is skipped with a reason) or ``error``."""
    max_params: int | None = None
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    check_documents: bool = True
    extra_documents: tuple[str, ...] = ()
    rootdir: str | None = None
    unknown_layers: str = "fail"
    """A layer with no rule: ``fail`` the model, ``skip`` it, or take the layer as ``opaque``
    (output shape from the file where Keras recorded one, weights unknown)."""


@dataclass
class ModelCheck:
    """The outcome for one model file: problems, or a reason it was skipped."""

    path: str
    analysis: Analysis | None = None
    problems: list[Problem] = field(default_factory=list)
    skipped: str | None = None
    summaries: list[StoredSummary] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Stored sources that could not be checked, and why (e.g. h5py is not installed)."""
    budget: int | None = None
    """The parameter budget in force (the smallest of --max-params and kerasparams.toml)."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def stored_total(self) -> int | None:
        """The first stored ``Total params`` figure, without optimizer parameters, as compared."""
        for stored in self.summaries:
            if "total" in stored.totals:
                value = stored.totals["total"][0]
                if "optimizer" in stored.totals:
                    value -= stored.totals["optimizer"][0]
                return value
        return None

    def as_json(self) -> dict[str, Any]:
        report = self.analysis.report if self.analysis else None
        return {
            "path": self.path,
            "ok": self.ok and self.skipped is None,
            "skipped": self.skipped,
            "total": report.total if report else None,
            "trainable": report.trainable if report else None,
            "non_trainable": report.non_trainable if report else None,
            "problems": [p.as_json() for p in self.problems],
            "notes": list(self.notes),
            "budget": self.budget,
        }


def _display(path: str | os.PathLike[str]) -> str:
    """Paths as given, with forward slashes on every platform."""
    return os.fspath(path).replace(os.sep, "/")


def check_model_file(path: str | os.PathLike[str], options: CheckOptions | None = None,
                     display: str | None = None) -> ModelCheck:
    """Check one model file; never raises for bad input."""
    options = options or CheckOptions()
    shown = display if display is not None else _display(path)
    result = ModelCheck(shown)
    try:
        document = read_json(path, shown, max_bytes=options.max_file_bytes)
    except InputError as error:
        result.problems.append(error.problem)
        return result
    if not looks_like_keras(document.data):
        if options.not_keras == "skip":
            result.skipped = f"{shown} is not a Keras model config (no class_name/config or modelTopology)"
            return result
        result.problems.append(Problem("not-keras", shown, "is not a Keras model config "
                                       "(no class_name and config, and no TensorFlow.js modelTopology)", 1, 1))
        return result
    for key, line, column in document.duplicate_locations():
        result.problems.append(Problem("invalid-json", shown, f"repeats the key {key!r} in one object; "
                                       "Keras would silently keep only the last value", line, column))
    try:
        result.analysis = analyze_document(document, options.rules,
                                           opaque_unknown=options.unknown_layers == "opaque")
    except SchemaErrors as error:
        result.problems.extend(error.problems)
        return result
    except InputError as error:
        if error.problem.kind == "no-rule" and options.unknown_layers == "skip":
            result.skipped = error.problem.headline()
            return result
        result.problems.append(error.problem)
        return result
    opaque = [row.name for row in result.analysis.report.rows if row.opaque]
    if opaque:
        result.notes.append("taken as opaque (output shape from the file, weights unknown): " + ", ".join(opaque))
    result.problems.extend(check_stored(result, Path(path), options))
    return result


def check_stored(result: ModelCheck, path: Path, options: CheckOptions) -> list[Problem]:
    """Compare the recomputed figures with every stored source beside the model.

    Sources: ``summary.txt`` beside the model, documents given in
    ``options.extra_documents`` (only tables that are summaries of this model),
    HDF5 weight files beside the model, the TF.js ``weightsManifest`` in the
    file itself, and the parameter budget.
    """
    assert result.analysis is not None
    problems: list[Problem] = []
    shown_dir = _display(Path(result.path).parent)
    shown_dir = "" if shown_dir == "." else shown_dir
    summary_path = path.parent / SUMMARY_FILE
    if summary_path.is_file():
        problems.extend(_check_summary_file(result, summary_path, _join(shown_dir, SUMMARY_FILE)))
    if options.check_documents:
        documents = model_documents(path, options)
        if documents:
            problems.extend(check_document_summaries(result, [(Path(d), d) for d in documents], os.fspath(path)))
            from .sources.documents import check_documents

            problems.extend(check_documents(documents, {os.fspath(path): result.analysis}))
    report = result.analysis.report
    weight_problems, notes = check_weight_files(path, report, shown_dir)
    problems.extend(weight_problems)
    result.notes.extend(notes)
    problems.extend(check_manifest(result.analysis))
    problems.extend(_check_budget(result, path, options))
    return problems


def _shown_document(path: str) -> str:
    """A document as the user would name it: relative to the working folder when inside it."""
    relative = os.path.relpath(path)
    return _display(path if relative.startswith("..") else relative)


def model_documents(path: Path, options: CheckOptions) -> list[str]:
    """Markdown files and notebooks that may describe this model: beside it, in parent folders up to
    the rootdir, and any named explicitly."""
    root = options.rootdir or os.fspath(path.parent)
    found = [_shown_document(d) for d in _cached_documents(os.path.abspath(path.parent), os.path.abspath(root))]
    for extra in options.extra_documents:
        shown = _display(extra)
        if shown not in found:
            found.append(shown)
    return found


@lru_cache(maxsize=1024)
def _cached_documents(folder: str, root: str) -> tuple[str, ...]:
    """Folder listings are shared by every model in a folder; list each folder once per process."""
    from .sources.documents import find_documents

    return tuple(find_documents(os.path.join(folder, "model.json"), root))


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _check_summary_file(result: ModelCheck, summary_path: Path, shown: str) -> list[Problem]:
    assert result.analysis is not None
    from .limits import current_limits, limit_message

    try:
        size = summary_path.stat().st_size
        if size > current_limits().max_file_bytes:
            return [Problem("limit", shown, limit_message(f"is {size:,} bytes", "max_file_bytes"))]
        text = summary_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [Problem("summary", shown, f"cannot be read as UTF-8 text: {error}")]
    summaries = parse_summaries(text, shown)
    result.summaries.extend(summaries)
    if not summaries:
        return [Problem("summary", shown, "holds no model.summary() table "
                        "(no 'Layer (type) ... Output Shape ... Param #' header)")]
    problems: list[Problem] = []
    for stored in summaries:
        problems.extend(compare_summary(stored, result.analysis))
    return problems


def check_document_summaries(result: ModelCheck, documents: list[tuple[Path, str]],
                             model_path: str | None = None) -> list[Problem]:
    """Summaries of this model pasted into Markdown, text or notebook files, compared like summary.txt.

    Tables of other models (another ``Model: "name"``, or rows naming other
    layers) are left alone.
    """
    assert result.analysis is not None
    from .sources.documents import attributed_lines

    report = result.analysis.report
    found, failures = find_summaries(report.spec.name if report.spec.name else None, report.rows, documents)
    about = {shown: attributed_lines(path, model_path) for path, shown in documents} if model_path else {}
    if model_path:
        found = [stored for stored in found if stored.line in about.get(stored.path, set())]
    problems = [Problem("summary", shown, reason) for shown, reason in failures]
    result.summaries.extend(found)
    for stored in found:
        problems.extend(compare_summary(stored, result.analysis))
    return problems


BUDGET_FILE = "kerasparams.toml"


def read_budget(model_path: Path) -> tuple[int | None, str | None, list[Problem]]:
    """The parameter budget for one model from ``kerasparams.toml`` in its folder.

    ``max_params = 1_000_000`` applies to every model in the folder; a table
    named after the file (``["model.json"] max_params = ...``) overrides it.
    Returns ``(budget, where it was read, problems)``.
    """
    config_path = model_path.parent / BUDGET_FILE
    if not config_path.is_file():
        return None, None, []
    shown = _display(config_path)
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            return None, shown, [Problem("budget", shown, "cannot be read: reading TOML needs Python 3.11+ "
                                         "or the tomli package")]
    try:
        data = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        return None, shown, [Problem("budget", shown, f"cannot be read: {error}")]
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+)", str(error))
        return None, shown, [Problem("budget", shown, f"is not valid TOML: {error}",
                                     int(match[1]) if match else None)]
    value = data.get("max_params")
    specific = data.get(model_path.name)
    if isinstance(specific, dict) and "max_params" in specific:
        value = specific["max_params"]
    if value is None:
        return None, shown, []
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return None, shown, [Problem("budget", shown, f"max_params must be a non-negative integer, not {value!r}")]
    return value, shown, []


def _check_budget(result: ModelCheck, path: Path, options: CheckOptions) -> list[Problem]:
    assert result.analysis is not None
    report = result.analysis.report
    budget, where, problems = read_budget(path)
    limits = [(options.max_params, "the budget")] if options.max_params is not None else []
    if budget is not None:
        limits.append((budget, f"the budget of {where}"))
        result.budget = budget if result.budget is None else min(result.budget, budget)
    if options.max_params is not None:
        result.budget = options.max_params if result.budget is None else min(result.budget, options.max_params)
    for limit, label in limits:
        if report.total > limit:
            problems.append(Problem("budget", result.path,
                                    f"has {report.total:,} parameters, over {label} of {limit:,}",
                                    explanation=_largest_layers(report.rows)))
            break
    return problems


def _largest_layers(rows: list[LayerReport]) -> str:
    top = sorted(rows, key=lambda r: r.params, reverse=True)[:5]
    return "\n".join(["  largest layers:"] + [f"    {r.name} ({r.class_name}): {r.params:,}" for r in top if r.params])


def _layer_line(analysis: Analysis, report: LayerReport) -> str:
    line = analysis.document.line_of(report.spec.json_path)
    return f"{analysis.path}:{line}" if line else analysis.path


def _match_rows(stored: StoredSummary, rows: list[LayerReport]) -> tuple[list[tuple[SummaryRow, LayerReport]],
                                                                      list[SummaryRow], list[LayerReport]]:
    """Pair printed rows with layers by name, allowing Keras's cut-off names; nested rows are left out."""
    pairs: list[tuple[SummaryRow, LayerReport]] = []
    unmatched: list[SummaryRow] = []
    remaining = list(rows)
    for row in stored.rows:
        if row.nested_level:
            continue  # a row of an expanded nested model: its figures are in the nested model's row
        found = next((layer for layer in remaining if row.matches(layer.name, layer.class_name)), None)
        if found is None:
            unmatched.append(row)
            continue
        remaining.remove(found)
        pairs.append((row, found))
    return pairs, unmatched, remaining


def compare_summary(stored: StoredSummary, analysis: Analysis) -> list[Problem]:
    """Every disagreement between one stored summary table and the recomputation."""
    report = analysis.report
    problems: list[Problem] = []
    pairs, unmatched, missing = _match_rows(stored, report.rows)
    for row in unmatched:
        problems.append(Problem("summary", stored.path, f"row {row.label()} names no layer of the model",
                                row.line, explanation="  layers of the model: " + ", ".join(
                                    f"{r.name} ({r.class_name})" for r in report.rows)))
    if unmatched or missing and stored.rows:  # a table of totals only (or a clipped one) lists no rows
        for layer in missing:
            problems.append(Problem("summary", stored.path, f"has no row for layer {layer.name} "
                                    f"({layer.class_name}) of {analysis.path}", stored.line, layer=layer.name))
    for row, layer in pairs:
        problems.extend(_compare_row(stored, row, layer, analysis))
    labels = {"total": ("Total params", report.total), "trainable": ("Trainable params", report.trainable),
              "non_trainable": ("Non-trainable params", report.non_trainable)}
    stored_total = stored.totals["total"][0] - stored.totals.get("optimizer", (0, 0))[0] \
        if "total" in stored.totals else None
    for key, (label, expected) in labels.items():
        if key not in stored.totals or any(r.opaque for r in report.rows):  # unknown with opaque layers
            continue
        value, line = stored.totals[key]
        if key == "total" and stored_total is not None:
            value = stored_total
        if value != expected:
            explanation = _total_explanation(report.rows, key, expected)
            causes = diagnose_totals(report, key, value, stored_total)
            if causes:
                explanation += "\n" + "\n".join(f"  likely cause: {cause}" for cause in causes)
            problems.append(Problem("summary", stored.path, f"{label}: stored {value:,}, recomputed {expected:,}",
                                    line, explanation=explanation))
    return problems


def _total_explanation(rows: list[LayerReport], key: str, expected: int) -> str:
    def figure(row: LayerReport) -> int:
        return {"total": row.params, "trainable": row.trainable_params,
                "non_trainable": row.non_trainable_params}[key]

    terms = [f"{figure(r):,} ({r.name})" for r in rows if figure(r)]
    return "  recomputed as the sum over layers:\n    " + (" + ".join(terms) or "0") + f" = {expected:,}"


def _compare_row(stored: StoredSummary, row: SummaryRow, layer: LayerReport, analysis: Analysis) -> list[Problem]:
    problems: list[Problem] = []
    where = f"{stored.path}:{row.line}"
    if row.params != layer.params and not row.unbuilt and not layer.opaque:  # an opaque layer's count is unknown
        difference = row.params - layer.params
        lines = [
            f"  layer       {layer_heading(layer)}",
            f"  defined at  {_layer_line(analysis, layer)}",
            f"  stored      Param # {row.params:,} ({where})",
            f"  recomputed  {layer.params:,} (stored is {difference:+,})",
            "  derivation:",
            *layer_derivation(layer, "    "),
        ]
        lines += [f"  likely cause: {cause}" for cause in diagnose_count(layer, row.params)]
        problems.append(Problem("summary", stored.path,
                                f"layer {layer.name} ({layer.class_name}): Param # is {row.params:,} in the "
                                f"summary, but the config gives {layer.params:,}", row.line, layer=layer.name,
                                explanation="\n".join(lines)))
    expected_shape = layer.summary_output()
    printed = parse_shape_text(row.output_shape)
    if printed is not None and expected_shape is not None and printed != expected_shape \
            and not _same_input_shape(layer, printed, expected_shape):
        shown_expected = fmt_shapes(expected_shape) if isinstance(expected_shape, list) else fmt_shape(expected_shape)
        notes = layer.result.shape_notes if layer.result else ()
        lines = [f"  layer       {layer_heading(layer)}",
                 f"  defined at  {_layer_line(analysis, layer)}",
                 f"  stored      Output Shape {row.output_shape} ({where})",
                 f"  recomputed  {shown_expected}"]
        if notes:
            lines.append("  derivation: " + "; ".join(notes))
        lines += [f"  likely cause: {cause}" for cause in diagnose_output_shape(layer, printed)]
        problems.append(Problem("summary", stored.path,
                                f"layer {layer.name} ({layer.class_name}): Output Shape is {row.output_shape} in "
                                f"the summary, but the config gives {shown_expected}", row.line,
                                layer=layer.name, explanation="\n".join(lines)))
    return problems


def _same_input_shape(layer: LayerReport, printed: object, expected: object) -> bool:
    """Printed shapes Keras writes differently from the first call's output, but that agree.

    tf.keras prints an InputLayer's shape as a one-element list (``[(None, 16)]``);
    Keras 3 prints a shared layer's last call, not its first.
    """
    if layer.class_name == "InputLayer" and printed == [expected]:
        return True
    calls = [node[0] if len(node) == 1 else list(node) for node in layer.output_shapes]
    return len(calls) > 1 and printed in calls
