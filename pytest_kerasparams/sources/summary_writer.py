"""Rendering a recomputed model as ``model.summary()`` text, in each Keras era's layout.

The layouts follow Keras's own printers: Keras 2.0-2.6 ``print_summary``
(fields cut at the column, last character overwritten), tf.keras 2.7+
(fields wrapped onto continuation lines; totals with sizes from 2.13), and
Keras 3 (a rich box table; names wrapped at spaces, over-long words cut with
``…``). Sizes assume 4-byte (float32) weights, as Keras prints for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..api import Shape
from ..engine import LayerReport, ModelReport
from .summary import STYLE_KERAS2, STYLE_KERAS3, STYLE_TABS, STYLE_TF_KERAS

BYTES_PER_PARAM = 4


@dataclass
class Layout:
    """How to print: the era's style, and what the existing file showed."""

    style: str = STYLE_KERAS3
    line_length: int | None = None
    model_line: bool = True
    """Print ``Model: "name"`` above the table (all but Keras 2.0-2.2)."""
    has_size: bool = True
    thousands: bool = True


def _is_sequential_like(report: ModelReport) -> bool:
    """Keras prints a chain without the "Connected to" column."""
    spec = report.spec
    if spec.class_name == "Sequential":
        return True
    if len(spec.inputs) != 1:
        return False
    consumed: set[str] = set()
    for layer in spec.layers:
        if layer.is_input:
            continue
        if len(layer.calls) != 1 or len(layer.calls[0].inputs) != 1:
            return False
        source = layer.calls[0].inputs[0].layer
        if source in consumed:
            return False
        consumed.add(source)
    return True


def _connections(report: ModelReport, layer: LayerReport) -> list[str]:
    """``dense[0][0]``: node indices as Keras prints them (a nested model's internal node not counted)."""
    out = []
    for call in layer.spec.calls:
        for ref in call.inputs:
            source = report.spec.layer(ref.layer)
            node = ref.node
            if source is not None and source.model is not None and node - source.model.node_offset >= 0:
                node -= source.model.node_offset
            out.append(f"{ref.layer}[{node}][{ref.tensor}]")
    return out


def _shape_text(shape: Shape, keras3: bool) -> str:
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 and not keras3 else f"({inner})"


def _output_text(layer: LayerReport, style: str) -> str:
    keras3 = style == STYLE_KERAS3
    nodes = layer.output_shapes
    if not nodes:
        return "?"
    if len(nodes) > 1 and not keras3 and any(n != nodes[0] for n in nodes[1:]):
        return "multiple"
    shapes = nodes[-1] if keras3 else nodes[0]
    if len(shapes) == 1:
        text = _shape_text(shapes[0], keras3)
        if style == STYLE_TF_KERAS and layer.class_name == "InputLayer":
            return f"[{text}]"
        return text
    return "[" + ", ".join(_shape_text(s, keras3) for s in shapes) + "]"


def readable_size(size: float, small_unit: str) -> str:
    """Keras's ``readable_memory_size``: ``5.59 MB``; the smallest unit is "B" (Keras 3) or "Byte"."""
    for unit in [small_unit, "KB", "MB", "GB", "TB", "PB"]:
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def render_summary(report: ModelReport, layout: Layout | None = None) -> str:
    """The ``model.summary()`` text of a recomputed model, ending with a newline."""
    layout = layout or Layout()
    if layout.style == STYLE_KERAS3:
        lines = _render_keras3(report, layout)
    elif layout.style in (STYLE_TF_KERAS, STYLE_TABS):
        lines = _render_tf_keras(report, layout)
    else:
        lines = _render_keras2(report, layout)
    return "\n".join(lines) + "\n"


def _totals(report: ModelReport, layout: Layout, small_unit: str, indent: str) -> list[str]:
    out = []
    for label, count in (("Total", report.total), ("Trainable", report.trainable),
                         ("Non-trainable", report.non_trainable)):
        text = f"{count:,}" if layout.thousands else str(count)
        if layout.has_size:
            text += f" ({readable_size(count * BYTES_PER_PARAM, small_unit)})"
        out.append(f"{indent}{label} params: {text}")
    return out


# --- Keras 2.0-2.6 -------------------------------------------------------------------------------------


def _cut_row(fields: Sequence[str], positions: Sequence[int]) -> str:
    """Keras 2's ``print_row``: each field cut at its column, the last character overwritten."""
    line = ""
    for index, text in enumerate(fields):
        if index > 0:
            line = line[:-1] + " "
        line += str(text)
        line = line[:positions[index]]
        line += " " * (positions[index] - len(line))
    return line


def _render_keras2(report: ModelReport, layout: Layout) -> list[str]:
    sequential = _is_sequential_like(report)
    length = layout.line_length or (65 if sequential else 98)
    relative = [0.45, 0.85, 1.0] if sequential else [0.33, 0.55, 0.67, 1.0]
    positions = [int(length * p) for p in relative]
    header = ["Layer (type)", "Output Shape", "Param #"] + ([] if sequential else ["Connected to"])
    lines = [f'Model: "{report.spec.name}"'] if layout.model_line else []
    lines += ["_" * length, _cut_row(header, positions), "=" * length]
    rows = report.rows
    for index, layer in enumerate(rows):
        fields = [f"{layer.name} ({layer.class_name})", _output_text(layer, STYLE_KERAS2), str(layer.params)]
        if sequential:
            lines.append(_cut_row(fields, positions))
        else:
            connections = _connections(report, layer)
            lines.append(_cut_row(fields + [connections[0] if connections else ""], positions))
            lines += [_cut_row(["", "", "", c], positions) for c in connections[1:]]
        lines.append(("=" if index == len(rows) - 1 else "_") * length)
    if not rows:
        lines.append("=" * length)
    lines += _totals(report, Layout(thousands=True, has_size=False), "Byte", "")
    lines.append("_" * length)
    return lines


# --- tf.keras 2.7+ -------------------------------------------------------------------------------------


def _wrap_row(fields: Sequence[str], positions: Sequence[int]) -> list[str]:
    """tf.keras 2.7+'s ``print_row``: fields wrap onto further lines, breaking after ``),``."""
    left = [str(f) for f in fields]
    lines = []
    while any(left):
        line = ""
        for col in range(len(left)):
            start = positions[col - 1] if col > 0 else 0
            end = positions[col]
            space = 2 if col != len(positions) - 1 else 0
            cutoff = end - start - space
            if col != len(positions) - 1:
                cutoff -= 1
            fit = left[col][:cutoff]
            breaks = [fit.find(x) + len(x) for x in ("),", "},", "],", "',") if fit.find(x) >= 0]
            if breaks:
                cutoff = min(breaks)
                fit = fit[:cutoff]
            if col == 0:
                line += " "
            line += fit
            line += " " * space if space else ""
            left[col] = left[col][cutoff:]
            line += " " * (positions[col] - len(line))
        lines.append(line)
    return lines


def _render_tf_keras(report: ModelReport, layout: Layout) -> list[str]:
    sequential = _is_sequential_like(report)
    length = layout.line_length or (65 if sequential else 98)
    relative = [0.45, 0.85, 1.0] if sequential else [0.3, 0.6, 0.70, 1.0]
    positions = [int(length * p) for p in relative]
    header = ["Layer (type)", "Output Shape", "Param #"] + ([] if sequential else ["Connected to"])
    lines = [f'Model: "{report.spec.name}"'] if layout.model_line else []
    lines += ["_" * length] + _wrap_row(header, positions) + ["=" * length]
    for layer in report.rows:
        fields = [f"{layer.name} ({layer.class_name})", _output_text(layer, STYLE_TF_KERAS), str(layer.params)]
        if not sequential:
            fields.append(str(_connections(report, layer)))
        lines += _wrap_row(fields, positions)
        lines.append(" " * length)
    lines.append("=" * length)
    lines += _totals(report, layout, "Byte", "")
    lines.append("_" * length)
    return lines


# --- Keras 3 -------------------------------------------------------------------------------------------


def _ratio_reduce(total: int, ratios: list[int], maximums: list[int], values: list[int]) -> list[int]:
    """rich's ``ratio_reduce``, which shares out the width a table must lose."""
    ratios = [r if m else 0 for r, m in zip(ratios, maximums)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return values[:]
    remaining = total
    out = []
    for ratio, maximum, value in zip(ratios, maximums, values):
        if ratio and total_ratio > 0:
            distributed = min(maximum, round(ratio * remaining / total_ratio))
            out.append(value - distributed)
            remaining -= distributed
            total_ratio -= ratio
        else:
            out.append(value)
    return out


def _wrap_words(text: str, width: int) -> list[str]:
    """rich's word wrap with ``overflow="ellipsis"``: break at spaces, cut over-long words with ``…``."""
    words = text.split(" ")
    lines: list[str] = []
    current = ""
    for word in words:
        if not word:
            continue
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
    if current or not lines:
        lines.append(current)
    return [line if len(line) <= width else line[:width - 1] + "…" for line in lines]


def _render_keras3(report: ModelReport, layout: Layout) -> list[str]:
    sequential = _is_sequential_like(report)
    length = layout.line_length or 76
    relative = [0.45, 0.80, 1.0] if sequential else [0.3, 0.56, 0.74, 1.0]
    widths, current = [], 0
    for position in relative:
        width = int(position * length) - current
        widths.append(width)
        current += width
    padded = [w + 2 for w in widths]
    excess = sum(padded) - (length - len(widths) - 1)
    if excess > 0:
        padded = _ratio_reduce(excess, [1] * len(padded), padded, padded)
    inner = [w - 2 for w in padded]
    header = ["Layer (type)", "Output Shape", "Param #"] + ([] if sequential else ["Connected to"])
    right = [False, False, True, False]

    def row(cells: Sequence[str], bar: str) -> list[str]:
        wrapped = [_wrap_words(cell, inner[i]) for i, cell in enumerate(cells)]
        height = max(len(w) for w in wrapped)
        out = []
        for index in range(height):
            parts = []
            for col, lines in enumerate(wrapped):
                text = lines[index] if index < len(lines) else ""
                parts.append(" " + (text.rjust(inner[col]) if right[col] else text.ljust(inner[col])) + " ")
            out.append(bar + bar.join(parts) + bar)
        return out

    def rule(left: str, middle: str, end: str, fill: str) -> str:
        return left + middle.join(fill * w for w in padded) + end

    lines = [f'Model: "{report.spec.name}"'] if layout.model_line else []
    lines.append(rule("┏", "┳", "┓", "━"))
    lines += row(header, "┃")
    lines.append(rule("┡", "╇", "┩", "━"))
    rows = report.rows
    for index, layer in enumerate(rows):
        cells = [f"{layer.name} ({layer.class_name})", _output_text(layer, STYLE_KERAS3), f"{layer.params:,}"]
        if not sequential:
            cells.append(", ".join(_connections(report, layer)) or "-")
        lines += row(cells, "│")
        if index != len(rows) - 1:
            lines.append(rule("├", "┼", "┤", "─"))
    lines.append(rule("└", "┴", "┘", "─"))
    lines += _totals(report, layout, "B", " ")
    return lines
