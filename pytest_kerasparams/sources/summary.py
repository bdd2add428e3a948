"""Reading ``model.summary()`` text of every Keras era back into figures.

Handles the Keras 2.0-2.6 fixed-width table (names cut at the column), the
tf.keras 2.7+ table (names wrapped onto continuation lines, totals with a
size), the Keras 3 box table, tab-separated tables pasted from notebooks,
and the functional layout with "Connected to".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOTAL = re.compile(r"^\s*(Total|Trainable|Non-trainable|Optimizer) params:\s*([\d,]+)")
_HEADER = re.compile(r"Layer \(type\)\s*[│|\t ]\s*Output Shape", re.IGNORECASE)
_SHAPE = r"\((?:None|\d+|[, ])*\)"
_ROW = re.compile(
    rf"^(?P<layer>\S.*?)\s+(?P<shape>\[?{_SHAPE}(?:,\s*{_SHAPE})*\]?|multiple|\?)\s+(?P<params>[\d,]+)"
    r"(?:\s+\(unbuilt\))?"
    r"(?:\s+(?P<connected>.*?))?\s*$")
_BOX_CHARS = "│┃|"
_RULE_LINE = re.compile(r"^[\s_=─━┏┓┗┛┡┩└┘┌┐├┤┬┴┼╇╈┳┻╋│┃+-]*$")


@dataclass
class SummaryRow:
    """One layer row as printed; ``name`` and ``class_name`` may be cut short."""

    name: str
    class_name: str
    output_shape: str
    params: int
    line: int
    class_complete: bool = True

    def matches(self, name: str, class_name: str) -> bool:
        """Whether this row prints the layer ``name (class_name)``, allowing Keras's cut-off."""
        full = f"{name} ({class_name})"
        printed = f"{self.name} ({self.class_name})" if self.class_complete else f"{self.name} ({self.class_name}"
        if printed == full:
            return True
        return not self.class_complete and len(printed) >= 10 and full.startswith(printed.rstrip())


@dataclass
class StoredSummary:
    """One summary table found in a file, with its totals and where each was read."""

    path: str
    line: int
    rows: list[SummaryRow] = field(default_factory=list)
    totals: dict[str, tuple[int, int]] = field(default_factory=dict)
    """``{"total"|"trainable"|"non_trainable"|"optimizer": (value, line)}``."""
    style: str = "keras2"


def _split_layer(text: str) -> tuple[str, str, bool]:
    text = text.strip()
    match = re.match(r"^(?P<name>\S+)\s*\((?P<cls>[^)]*)(?P<close>\))?\s*$", text)
    if match:
        return match["name"], match["cls"].strip(), bool(match["close"])
    return text, "", False


def _parse_int(text: str) -> int:
    return int(text.replace(",", ""))


def parse_summaries(text: str, path: str, first_line: int = 1) -> list[StoredSummary]:
    """Every summary table in ``text``; line numbers are offset by ``first_line``."""
    summaries: list[StoredSummary] = []
    current: StoredSummary | None = None
    in_body = False
    for offset, raw in enumerate(text.splitlines()):
        number = first_line + offset
        line = raw.rstrip()
        if _HEADER.search(line):
            current = StoredSummary(path, number, style="keras3" if any(c in line for c in "│┃") else "keras2")
            summaries.append(current)
            in_body = True
            continue
        if current is None:
            continue
        total = _TOTAL.match(line.strip(" │┃"))
        if total:
            key = {"Total": "total", "Trainable": "trainable", "Non-trainable": "non_trainable",
                   "Optimizer": "optimizer"}[total[1]]
            current.totals[key] = (_parse_int(total[2]), number)
            in_body = False
            if "(" in line and key == "total" and current.style == "keras2":
                current.style = "tf-keras"
            continue
        if not in_body or not line.strip() or _RULE_LINE.match(line):
            continue
        if any(c in line for c in _BOX_CHARS):
            cells = [c.strip() for c in re.split(r"[│┃|]", line)[1:-1]]
            if len(cells) < 3:
                continue
            layer, shape, params = cells[0], cells[1], cells[2]
            params = params.replace("(unbuilt)", "").strip()
            if not params and current.rows:  # a wrapped continuation line
                _merge_continuation(current.rows[-1], layer, shape)
                continue
            if not re.fullmatch(r"[\d,]+", params):
                continue
            name, class_name, complete = _split_layer(layer)
            current.rows.append(SummaryRow(name, class_name, shape, _parse_int(params), number, complete))
            continue
        cells = [c.strip() for c in line.split("\t") if c.strip()] if "\t" in line else []
        if len(cells) >= 3 and re.fullmatch(r"[\d,]+", cells[2]):
            name, class_name, complete = _split_layer(cells[0])
            current.rows.append(SummaryRow(name, class_name, cells[1], _parse_int(cells[2]), number, complete))
            continue
        match = _ROW.match(line)
        if match:
            name, class_name, complete = _split_layer(match["layer"])
            current.rows.append(SummaryRow(name, class_name, match["shape"], _parse_int(match["params"]),
                                           number, complete))
        elif current.rows and not line.startswith(" "):
            _merge_continuation(current.rows[-1], line.split("  ")[0], "")
    return [s for s in summaries if s.rows or s.totals]


def _merge_continuation(row: SummaryRow, layer_part: str, shape_part: str) -> None:
    """tf.keras 2.7+ and Keras 3 wrap long names and shapes onto the next line."""
    layer_part = layer_part.strip()
    if layer_part:
        printed = row.name
        if row.class_name or not row.class_complete and "(" in row.name:
            printed = f"{row.name} ({row.class_name}" + (")" if row.class_complete else "")
        separator = " " if layer_part.startswith("(") else ""
        row.name, row.class_name, row.class_complete = _split_layer(printed + separator + layer_part)
    if shape_part.strip() and not row.output_shape.endswith(")"):
        row.output_shape += " " + shape_part.strip()


def parse_shape_text(text: str) -> tuple[int | None, ...] | list[tuple[int | None, ...]] | None:
    """``(None, 48, 50)`` -> a shape; ``[(None, 3), (None, 4)]`` -> several; ``multiple`` -> None."""
    text = text.strip()
    if not text or text in ("multiple", "?"):
        return None
    groups = re.findall(r"\(([^()]*)\)", text)
    if not groups:
        return None
    shapes: list[tuple[int | None, ...]] = []
    for group in groups:
        dims: list[int | None] = []
        for part in group.split(","):
            part = part.strip()
            if not part:
                continue
            if part == "None":
                dims.append(None)
            elif part.isdigit():
                dims.append(int(part))
            else:
                return None
        shapes.append(tuple(dims))
    if text.startswith("[") and len(shapes) == 1:
        return shapes[0]
    return shapes[0] if len(shapes) == 1 else shapes
