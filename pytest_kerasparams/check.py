"""Checking one model file against everything stored about it.

The pytest plugin and the CLI are both thin layers over :func:`check_model_file`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .analysis import Analysis, SchemaErrors, analyze_document, looks_like_keras
from .engine import LayerReport
from .explain import fmt_shape, fmt_shapes, layer_derivation, layer_heading
from .jsonfile import DEFAULT_MAX_FILE_BYTES, read_json
from .problems import InputError, Problem
from .registry import RuleTable
from .sources.summary import StoredSummary, SummaryRow, parse_shape_text, parse_summaries

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


@dataclass
class ModelCheck:
    """The outcome for one model file: problems, or a reason it was skipped."""

    path: str
    analysis: Analysis | None = None
    problems: list[Problem] = field(default_factory=list)
    skipped: str | None = None
    summaries: list[StoredSummary] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

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
    for key in document.duplicate_keys:
        result.problems.append(Problem("invalid-json", shown, f"repeats the key {key!r} in one object; "
                                       "Keras would silently keep only the last value"))
    try:
        result.analysis = analyze_document(document, options.rules)
    except SchemaErrors as error:
        result.problems.extend(error.problems)
        return result
    except InputError as error:
        result.problems.append(error.problem)
        return result
    result.problems.extend(check_stored(result, Path(path), options))
    return result


def check_stored(result: ModelCheck, path: Path, options: CheckOptions) -> list[Problem]:
    """Compare the recomputed figures with every stored source beside the model."""
    assert result.analysis is not None
    problems: list[Problem] = []
    summary_path = path.parent / SUMMARY_FILE
    if summary_path.is_file():
        shown = _display(Path(result.path).parent / SUMMARY_FILE)
        try:
            text = summary_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(Problem("summary", shown, f"cannot be read as UTF-8 text: {error}"))
        else:
            result.summaries = parse_summaries(text, shown)
            if not result.summaries:
                problems.append(Problem("summary", shown, "holds no model.summary() table "
                                        "(no 'Layer (type) ... Output Shape ... Param #' header)"))
            for stored in result.summaries:
                problems.extend(compare_summary(stored, result.analysis))
    if options.max_params is not None and result.analysis.report.total > options.max_params:
        report = result.analysis.report
        problems.append(Problem("budget", result.path,
                                f"has {report.total:,} parameters, over the budget of {options.max_params:,}",
                                explanation=_largest_layers(report.rows)))
    return problems


def _largest_layers(rows: list[LayerReport]) -> str:
    top = sorted(rows, key=lambda r: r.params, reverse=True)[:5]
    return "\n".join(["  largest layers:"] + [f"    {r.name} ({r.class_name}): {r.params:,}" for r in top if r.params])


def _layer_line(analysis: Analysis, report: LayerReport) -> str:
    line = analysis.document.line_of(report.spec.json_path)
    return f"{analysis.path}:{line}" if line else analysis.path


def _match_rows(stored: StoredSummary, rows: list[LayerReport]) -> tuple[list[tuple[SummaryRow, LayerReport]],
                                                                      list[SummaryRow], list[LayerReport]]:
    """Pair printed rows with layers: in order when names agree, else by name."""
    pairs: list[tuple[SummaryRow, LayerReport]] = []
    unmatched: list[SummaryRow] = []
    remaining = list(rows)
    for row in stored.rows:
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
        problems.append(Problem("summary", stored.path,
                                f"row {row.name} ({row.class_name}{')' if row.class_complete else ''} "
                                "names no layer of the model", row.line,
                                explanation="  layers of the model: " + ", ".join(
                                    f"{r.name} ({r.class_name})" for r in report.rows)))
    if unmatched or missing:
        for layer in missing:
            problems.append(Problem("summary", stored.path, f"has no row for layer {layer.name} "
                                    f"({layer.class_name}) of {analysis.path}", stored.line, layer=layer.name))
    for row, layer in pairs:
        problems.extend(_compare_row(stored, row, layer, analysis))
    labels = {"total": ("Total params", report.total), "trainable": ("Trainable params", report.trainable),
              "non_trainable": ("Non-trainable params", report.non_trainable)}
    for key, (label, expected) in labels.items():
        if key not in stored.totals:
            continue
        value, line = stored.totals[key]
        if key == "total" and "optimizer" in stored.totals:
            value -= stored.totals["optimizer"][0]
        if value != expected:
            problems.append(Problem("summary", stored.path, f"{label}: stored {value:,}, recomputed {expected:,}",
                                    line, explanation=_total_explanation(report.rows, key, expected)))
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
    if row.params != layer.params:
        difference = row.params - layer.params
        lines = [
            f"  layer       {layer_heading(layer)}",
            f"  defined at  {_layer_line(analysis, layer)}",
            f"  stored      Param # {row.params:,} ({where})",
            f"  recomputed  {layer.params:,} (stored is {difference:+,})",
            "  derivation:",
            *layer_derivation(layer, "    "),
        ]
        problems.append(Problem("summary", stored.path,
                                f"layer {layer.name} ({layer.class_name}): Param # is {row.params:,} in the "
                                f"summary, but the config gives {layer.params:,}", row.line, layer=layer.name,
                                explanation="\n".join(lines)))
    expected_shape = layer.summary_output()
    printed = parse_shape_text(row.output_shape)
    if printed is not None and expected_shape is not None and printed != expected_shape:
        shown_expected = fmt_shapes(expected_shape) if isinstance(expected_shape, list) else fmt_shape(expected_shape)
        notes = layer.result.shape_notes if layer.result else ()
        lines = [f"  layer       {layer_heading(layer)}",
                 f"  defined at  {_layer_line(analysis, layer)}",
                 f"  stored      Output Shape {row.output_shape} ({where})",
                 f"  recomputed  {shown_expected}"]
        if notes:
            lines.append("  derivation: " + "; ".join(notes))
        problems.append(Problem("summary", stored.path,
                                f"layer {layer.name} ({layer.class_name}): Output Shape is {row.output_shape} in "
                                f"the summary, but the config gives {shown_expected}", row.line,
                                layer=layer.name, explanation="\n".join(lines)))
    return problems
