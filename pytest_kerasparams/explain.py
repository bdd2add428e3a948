"""Derivations as text: gate by gate, filter by filter, unit by unit.

Everything here renders plain text (or Markdown) from engine figures; it
computes nothing of its own, so explanations can never disagree with checks.
"""

from __future__ import annotations

import re
from typing import Iterable

from .api import Formula, Shape, Variable
from .engine import LayerReport, ModelReport


def fmt_shape(shape: Shape | None) -> str:
    if shape is None:
        return "?"
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def fmt_shapes(shapes: Iterable[Shape]) -> str:
    shapes = list(shapes)
    if len(shapes) == 1:
        return fmt_shape(shapes[0])
    return "[" + ", ".join(fmt_shape(s) for s in shapes) + "]"


def percent_change(difference: int, base: int) -> str:
    """``, +1.2%``; a change too small to show at one decimal reads ``, -<0.1%`` rather than ``-0.0%``."""
    if not base:
        return ""
    share = difference / base
    if abs(share) < 0.0005:
        return f", {'+' if difference > 0 else '-'}<0.1%"
    return f", {share:+.1%}"


def _dims(dims: Iterable[int]) -> str:
    dims = list(dims)
    return " × ".join(f"{d:,}" for d in dims) if dims else "1"


def _split_prefix(variable: Variable) -> tuple[str, str]:
    if "/" in variable.name:
        prefix, _, local = variable.name.rpartition("/")
        return prefix, local
    return "", variable.name


def _table(header: list[str], rows: list[list[str]], indent: str) -> list[str]:
    widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]
    out = []
    for row in [header] + rows:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(widths[i]) for i, cell in enumerate(row) if i]
        out.append(indent + "  ".join(cells).rstrip())
    return out


def gate_table(variables: Iterable[Variable], indent: str = "    ") -> list[str]:
    """One row per gate (or block): each variable's slice and the gate's total."""
    lines: list[str] = []
    groups: dict[str, list[Variable]] = {}
    for variable in variables:
        if variable.blocks:
            groups.setdefault(_split_prefix(variable)[0], []).append(variable)
    for prefix, group in groups.items():
        blocks = group[0].blocks
        if any(v.blocks != blocks for v in group):
            continue
        title = "gate" if prefix == "" or len(groups) == 1 else f"{prefix} gate"
        header = [title] + [_split_prefix(v)[1] for v in group] + ["params"]
        rows = []
        for block in blocks:
            cells = [block]
            total = 0
            for variable in group:
                dims = list(variable.shape[:-1]) + [variable.shape[-1] // len(blocks)]
                cells.append(_dims(dims))
                total += variable.block_size()
            cells.append(f"{total:,}")
            rows.append(cells)
        lines += _table(header, rows, indent)
    return lines


def variable_lines(variables: Iterable[Variable], indent: str = "    ") -> list[str]:
    lines = []
    for variable in variables:
        note = "" if variable.trainable else ", non-trainable"
        lines.append(f"{indent}{variable.name} {fmt_shape(variable.shape)}: "
                     f"{_dims(variable.shape)} = {variable.size:,}{note}")
    return lines


def formula_lines(formulas: Iterable[Formula], indent: str = "    ") -> list[str]:
    lines = []
    for item in formulas:
        label = f"{item.label}: " if item.label else ""
        lines.append(f"{indent}{label}{item.render()}")
    return lines


def layer_heading(report: LayerReport) -> str:
    inputs = fmt_shapes(report.input_shapes[0]) if report.input_shapes else "?"
    outputs = fmt_shapes(report.output_shapes[0]) if report.output_shapes else "?"
    return f"{report.name} ({report.class_name}): input {inputs} -> output {outputs}"


def layer_derivation(report: LayerReport, indent: str = "    ") -> list[str]:
    """The whole derivation of one layer's count, ready to print under a heading."""
    lines: list[str] = []
    if report.nested is not None:
        lines.append(f"{indent}nested model with {len(report.nested.rows)} layers; its parameters are the sum "
                     "of theirs:")
        for row in report.nested.rows:
            lines.append(f"{indent}  {row.name} ({row.class_name}): {row.params:,}")
    elif report.params == 0:
        lines.append(f"{indent}no weights: 0 parameters")
    else:
        table = gate_table(report.variables, indent)
        lines += table
        if not table:
            lines += variable_lines(report.variables, indent)
        if report.result is not None:
            lines += formula_lines(report.result.formulas, indent)
    if report.result is not None and report.result.shape_notes:
        lines.append(f"{indent}output shape: " + "; ".join(report.result.shape_notes))
    lines.append(f"{indent}total: {report.params:,} ({report.trainable_params:,} trainable, "
                 f"{report.non_trainable_params:,} non-trainable)")
    return lines


def explain_model(report: ModelReport, layer: str | None = None) -> str:
    """Plain-text derivation of every layer (or one), as a reviewer would write it by hand."""
    lines: list[str] = []
    for row in report.rows:
        if layer is not None and row.name != layer:
            continue
        lines.append(layer_heading(row))
        lines += layer_derivation(row)
        lines.append("")
    if layer is None:
        lines.append(f"Total params: {report.total:,}")
        lines.append(f"Trainable params: {report.trainable:,}")
        lines.append(f"Non-trainable params: {report.non_trainable:,}")
    return "\n".join(lines).rstrip() + "\n"


def _markdown_gate_table(variables: Iterable[Variable]) -> list[str]:
    rows = gate_table(variables, "")
    if not rows:
        return []
    cells = [re.split(r"\s{2,}", row.strip()) for row in rows]
    width = len(cells[0])
    out = ["| " + " | ".join(cells[0]) + " |", "|" + " --- |" * width]
    out += ["| " + " | ".join(row) + " |" for row in cells[1:] if len(row) == width]
    return out


def explain_model_markdown(report: ModelReport, title: str, layer: str | None = None) -> str:
    """Markdown for pasting into docs; its formulas check clean against the model."""
    lines = [f"## {title}: {report.spec.name} ({report.spec.class_name})", ""]
    if layer is None:
        lines += ["| layer | output shape | params |", "| --- | --- | ---: |"]
        for row in report.rows:
            output = row.summary_output()
            shown = "?" if output is None else fmt_shapes(output) if isinstance(output, list) else fmt_shape(output)
            lines.append(f"| {row.name} ({row.class_name}) | {shown} | {row.params:,} |")
        lines.append("")
    for row in report.rows:
        if layer is not None and row.name != layer:
            continue
        lines.append(f"### {row.name} ({row.class_name})")
        lines.append("")
        inputs = fmt_shapes(row.input_shapes[0]) if row.input_shapes else "?"
        outputs = fmt_shapes(row.output_shapes[0]) if row.output_shapes else "?"
        lines.append(f"- Input shape {inputs}, output shape {outputs}.")
        if row.result is not None:
            for note in row.result.shape_notes:
                lines.append(f"- Output {note}")
            for item in row.result.formulas:
                label = f"{item.label[0].upper()}{item.label[1:]}: " if item.label else ""
                lines.append(f"- {label}{item.render()}")
        lines.append(f"- Parameters: {row.params:,}")
        table = _markdown_gate_table(row.variables)
        if table:
            lines += ["", *table]
        lines.append("")
    if layer is None:
        lines.append(f"Total params: {report.total:,} ({report.trainable:,} trainable, "
                     f"{report.non_trainable:,} non-trainable)")
    return "\n".join(lines) + "\n"
