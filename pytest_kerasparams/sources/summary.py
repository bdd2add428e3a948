"""Reading ``model.summary()`` text of every Keras era back into figures.

Handles the Keras 2.0-2.6 fixed-width table (names cut at the column, the
last character overwritten by a space), the tf.keras 2.7+ table (names and
shapes wrapped onto continuation lines, totals with a size), the Keras 3 box
table (wrapped names, ``…`` for cut names, ``0 (unbuilt)``, ``Optimizer
params``), tab-separated tables pasted from notebooks, and the functional
layout with "Connected to". Tables pasted into Markdown files and notebook
outputs are found by :func:`extract_summaries`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Protocol, Sequence

_TOTAL = re.compile(r"^\s*(Total|Trainable|Non-trainable|Optimizer) params:\s*([\d,]+)")
_HEADER = re.compile(r"Layer \(type\)\s*[│┃|\t ]\s*Output Shape", re.IGNORECASE)
_MODEL_NAME = re.compile(r'^\s*(?:Model|Sequential):\s*"(?P<name>[^"]*)"')
_SHAPE = r"\((?:None|\d+|[, ])*\)"
_ROW = re.compile(
    rf"^(?P<layer>\S.*?)\s+(?P<shape>\[?{_SHAPE}(?:,\s*{_SHAPE})*\]?|multiple|\?)\s+(?P<params>[\d,]+)"
    r"(?:\s+\(unbuilt\))?"
    r"(?:\s+(?P<connected>.*?))?\s*$")
_BOX_CHARS = "│┃"
_RULE_LINE = re.compile(r"^[\s_=─━┏┓┗┛┡┩└┘┌┐├┤┬┴┼╇╈┳┻╋│┃|+:¯-]*$")
_PARAMS = re.compile(r"^(?P<n>[\d,]+)(?P<unbuilt>\s*\(unbuilt\))?$")
_ELLIPSIS = "…"

STYLE_KERAS2 = "keras2"
"""Keras 2.0-2.6: fixed width, fields cut at the column."""
STYLE_TF_KERAS = "tf-keras"
"""tf.keras 2.7+: fixed width, fields wrapped onto continuation lines."""
STYLE_KERAS3 = "keras3"
"""Keras 3: a box table drawn by rich."""
STYLE_TABS = "tabs"
"""A table whose columns were pasted as tab-separated cells."""


@dataclass
class SummaryRow:
    """One layer row as printed; ``name`` and ``class_name`` may be cut short."""

    name: str
    class_name: str
    output_shape: str
    params: int
    line: int
    class_complete: bool = True
    name_complete: bool = True
    """False when the printed name stops early (Keras 2 cut, Keras 3 ``…``)."""
    unbuilt: bool = False
    """Keras 3 prints ``0 (unbuilt)`` for layers it never built: the count says nothing."""
    nested_level: int = 0
    """Rows of an expanded nested model (``expand_nested=True``) are indented under it."""
    text: str = ""
    """The layer cell as printed, continuation lines joined."""

    def matches(self, name: str, class_name: str) -> bool:
        """Whether this row prints the layer ``name (class_name)``, allowing Keras's cut-offs."""
        if self.name_complete:
            if self.name != name:
                return False
        elif len(self.name) < 4 or not name.startswith(self.name):
            return False
        if not self.class_name:
            return not self.class_complete or not self.name_complete
        if self.class_complete:
            return self.class_name == class_name
        return class_name.startswith(self.class_name)

    @property
    def shape_complete(self) -> bool:
        """False when a cut-off (Keras 2) left the shape without its closing bracket."""
        text = self.output_shape.strip()
        return text.count("(") == text.count(")") and text.count("[") == text.count("]")

    def label(self) -> str:
        """The row's layer as printed, continuation lines joined."""
        return self.text or f"{self.name} ({self.class_name})"


@dataclass
class StoredSummary:
    """One summary table found in a file, with its totals and where each was read."""

    path: str
    line: int
    rows: list[SummaryRow] = field(default_factory=list)
    totals: dict[str, tuple[int, int]] = field(default_factory=dict)
    """``{"total"|"trainable"|"non_trainable"|"optimizer": (value, line)}``."""
    style: str = STYLE_KERAS2
    model_name: str | None = None
    """The name in the ``Model: "..."`` line above the table, when there is one."""
    connected: bool = False
    """Whether the table has the functional layout's "Connected to" column."""
    line_length: int | None = None
    """Width of the printed table, so a rewrite can keep it."""
    has_size: bool = False
    """Whether totals carry a size such as ``(5.59 MB)`` (tf.keras 2.13+, Keras 3)."""
    thousands: bool = True
    """Whether totals use thousands separators (all but tf.keras 2.13+)."""
    end_line: int = 0
    clipped: bool = False
    """Keras 3 cut the table at the console's right edge (line_length wider than the console): no counts."""
    row_open: bool = field(default=False, repr=False, compare=False)
    """While reading: the last row may still continue on the next line (tf.keras 2.7+)."""


def _split_layer(text: str) -> tuple[str, str, bool]:
    """``name (Class)`` -> ``(name, Class, True)``; a cut ``name (Cla`` -> ``(name, Cla, False)``."""
    text = text.strip()
    match = re.match(r"^(?P<name>[^\s(]+?)\s*\((?P<cls>[^)]*)(?P<close>\))?\s*$", text)
    if match:
        return match["name"], match["cls"].strip(), bool(match["close"])
    return text, "", False


def _make_row(layer_text: str, shape: str, params: str, line: int, *, cut: bool = False) -> SummaryRow | None:
    """A row from its three cells, or None when the params cell is not a count."""
    match = _PARAMS.match(params.strip())
    if not match:
        return None
    row = SummaryRow("", "", shape.strip(), int(match["n"].replace(",", "")), line,
                     unbuilt=bool(match["unbuilt"]))
    _set_layer_text(row, layer_text.strip(), cut)
    return row


def _set_layer_text(row: SummaryRow, text: str, cut: bool) -> None:
    """Read ``name (Class)`` from the printed cell, with every way Keras cuts it short."""
    row.text = text
    nested = 0
    while text.startswith(("└", "|")):
        nested += 1
        text = text[1:].strip()
    row.nested_level = nested
    if _ELLIPSIS in text:
        before, _, after = text.partition(_ELLIPSIS)
        if "(" in before:  # the name is whole; the class was cut: ``concatenate (Concatenat…``
            row.name, row.class_name, _ = _split_layer(before)
            row.class_complete, row.name_complete = False, True
            return
        row.name, row.name_complete = before.strip(), False
        klass = re.match(r"^\s*\((?P<cls>[^)…]*)(?P<cut>…)?(?P<close>\))?", after)
        row.class_name = klass["cls"].strip() if klass else ""
        row.class_complete = bool(klass and klass["close"] and not klass["cut"])
        return
    row.name, row.class_name, row.class_complete = _split_layer(text)
    row.name_complete = not (cut and not row.class_name and "(" not in text)


def _append_layer_text(row: SummaryRow, fragment: str, joiner: str) -> None:
    """Continuation lines (tf.keras 2.7+, Keras 3) carry the rest of a wrapped name."""
    fragment = fragment.strip()
    if fragment:
        _set_layer_text(row, row.text + joiner + fragment, False)


def _append_shape(row: SummaryRow, fragment: str, joiner: str) -> None:
    fragment = fragment.strip()
    if fragment and not row.shape_complete:
        row.output_shape = (row.output_shape + joiner + fragment).strip()


class _Columns:
    """Column starts of a fixed-width table, read off its header line."""

    def __init__(self, header: str) -> None:
        self.starts = [header.index("Layer (type)")]
        for title in ("Output Shape", "Param #", "Connected to", "Trainable"):
            index = self._find_title(header, title, self.starts[-1] + 1)
            if index >= 0:
                self.starts.append(index)
        if self.starts[0] > 0 and not header[:self.starts[0]].strip():
            self.starts[0] -= 1  # tf.keras 2.7+ prints one space before each row's first cell

    @staticmethod
    def _find_title(header: str, title: str, after: int) -> int:
        """Where a column title starts; a narrow table wraps it (``Para`` / ``m #``), so a prefix will do."""
        for length in range(len(title), 1, -1):
            match = re.search(r"(?<!\S)" + re.escape(title[:length]) + r"(?!\S)" if length < len(title)
                              else re.escape(title), header[after:])
            if match:
                return after + match.start()
        return -1

    def cells(self, line: str) -> list[str]:
        bounds = self.starts + [max(len(line), self.starts[-1])]
        return [line[bounds[i]:bounds[i + 1]] for i in range(len(self.starts))]


def parse_summaries(text: str, path: str, first_line: int = 1) -> list[StoredSummary]:
    """Every summary table in ``text``; line numbers are offset by ``first_line``."""
    lines = [(first_line + offset, raw) for offset, raw in enumerate(text.splitlines())]
    return parse_summary_lines(lines, path)


def parse_summary_lines(lines: Sequence[tuple[int, str]], path: str) -> list[StoredSummary]:
    """Every summary table in numbered lines (lines of a notebook output need not be consecutive)."""
    summaries: list[StoredSummary] = []
    current: StoredSummary | None = None
    columns: _Columns | None = None
    in_body = False
    pending_name: tuple[str, int] | None = None
    box_header: list[tuple[int, str]] | None = None
    previous_line = ""
    for number, raw in lines:
        line, previous = raw.rstrip("\r\n").rstrip(), previous_line
        previous_line = line
        named = _MODEL_NAME.match(line.strip(" │┃*"))
        if named:
            pending_name = (named["name"], number)
            continue
        stripped = line.strip()
        if stripped.startswith("┏"):
            box_header = []  # a Keras 3 header, possibly wrapped over several lines when narrow
            continue
        if box_header is not None and stripped.startswith("┃"):
            box_header.append((number, line))
            continue
        if box_header is not None and stripped.startswith("┡"):
            text = " ".join(l for _, l in box_header)
            if box_header and "Layer" in text and ("Param" in text or "Output" in text):
                current = StoredSummary(path, box_header[0][0], style=STYLE_KERAS3)
                if pending_name is not None and box_header[0][0] - pending_name[1] <= 3:
                    current.model_name = pending_name[0]
                current.connected = "Connected" in text
                current.line_length = len(box_header[0][1].strip())
                current.clipped = not all(l.rstrip().endswith("┃") for _, l in box_header)
                summaries.append(current)
                in_body = True
                pending_name = None
            box_header = None
            continue
        box_header = None
        if _HEADER.search(line):
            style = STYLE_KERAS3 if any(c in line for c in _BOX_CHARS) else \
                STYLE_TABS if "\t" in line else _fixed_style(line, previous)
            current = StoredSummary(path, number, style=style)
            if line.lstrip(" │┃|").startswith("Layer") and line.lstrip().startswith("|"):
                current.style = STYLE_KERAS3  # a Markdown table, read like the box table
            if pending_name is not None and number - pending_name[1] <= 3:
                current.model_name = pending_name[0]
            current.connected = "Connected to" in line
            current.line_length = len(line)
            columns = _Columns(line) if style in (STYLE_KERAS2, STYLE_TF_KERAS) else None
            summaries.append(current)
            in_body = True
            pending_name = None
            continue
        if current is None:
            continue
        total = _TOTAL.match(line.strip(" │┃*"))
        if total:
            key = {"Total": "total", "Trainable": "trainable", "Non-trainable": "non_trainable",
                   "Optimizer": "optimizer"}[total[1]]
            current.totals[key] = (int(total[2].replace(",", "")), number)
            current.end_line = number
            if "(" in line:
                current.has_size = True
            if "," not in total[2] and len(total[2]) > 3:
                current.thousands = False
            if key == "total" and current.style == STYLE_KERAS2 and ("(" in line or "," not in total[2]
                                                                      and len(total[2]) > 3):
                current.style = STYLE_TF_KERAS
            in_body = False
            continue
        if not in_body or not line.strip() or _RULE_LINE.match(line):
            current.row_open = False
            continue
        current.end_line = number
        if current.style == STYLE_KERAS3:
            _box_line(current, line, number)
        elif "\t" in line:
            _tab_line(current, line, number)
        else:
            _fixed_line(current, columns, line, number)
    return [s for s in summaries if s.rows or s.totals]


def _fixed_style(header: str, rule: str) -> str:
    """tf.keras 2.7+ prints one space before "Layer (type)"; Keras 2.0-2.6 starts it at the rule's edge.

    Measured against the rule line above, so an indented (Markdown code block) table reads the same.
    """
    edge = len(rule) - len(rule.lstrip()) if rule.strip() and set(rule.strip()) == {"_"} else 0
    return STYLE_TF_KERAS if header.index("Layer") == edge + 1 else STYLE_KERAS2


def _box_line(current: StoredSummary, line: str, number: int) -> None:
    if current.clipped:
        return  # the Param # column is cut off: only the totals below the table can be read
    separators = "│┃" if any(c in line for c in _BOX_CHARS) else "|"
    cells = [c.strip() for c in re.split(f"[{separators}]", line)]
    if line.strip().startswith(tuple(separators)):
        cells = cells[1:]
    if line.strip().endswith(tuple(separators)):
        cells = cells[:-1]
    if len(cells) < 3:
        return
    layer, shape, params = cells[0], cells[1], cells[2]
    if not params and current.rows:  # a wrapped continuation line
        _append_layer_text(current.rows[-1], layer, " ")
        _append_shape(current.rows[-1], shape, " ")
        return
    row = _make_row(layer, shape, params, number)
    if row is not None:
        current.rows.append(row)


def _tab_line(current: StoredSummary, line: str, number: int) -> None:
    cells = [c.strip() for c in line.split("\t") if c.strip()]
    if len(cells) >= 3:
        row = _make_row(cells[0], cells[1], cells[2], number)
        if row is not None:
            current.rows.append(row)
            return
    if current.rows and len(cells) >= 1 and not _PARAMS.match(cells[-1]):
        _append_layer_text(current.rows[-1], cells[0], "")


def _fixed_line(current: StoredSummary, columns: _Columns | None, line: str, number: int) -> None:
    """Keras 2 (cut) and tf.keras 2.7+ (wrapped) rows, sliced at the header's column starts."""
    cut = current.style == STYLE_KERAS2
    if line.lstrip().startswith("|") and current.style == STYLE_TF_KERAS:
        return  # a row of an expanded nested model (tf.keras expand_nested=True)
    if columns is not None and len(columns.starts) >= 3:
        cells = columns.cells(line)
        layer, shape, params = cells[0], cells[1], cells[2]
        if current.style == STYLE_TF_KERAS and current.rows and current.row_open and (
                _continues(current.rows[-1]) or not layer.strip() and not shape.strip()):
            row = current.rows[-1]  # tf.keras 2.7+ wraps every column, even the count, in narrow tables
            _append_layer_text(row, layer, "")
            _append_shape(row, shape, "")
            digits = params.strip()
            if digits.isdigit():
                row.params = int(f"{row.params}{digits}")
            return
        if params.strip():
            row = _make_row(layer, shape, params, number, cut=cut)
            if row is not None:
                current.rows.append(row)
                current.row_open = True
                return
        elif current.rows and (layer.strip() or shape.strip()):
            _append_layer_text(current.rows[-1], layer, "")
            _append_shape(current.rows[-1], shape, "")
            return
        elif current.rows:
            return  # a further "Connected to" entry
    match = _ROW.match(line.strip())
    if match:
        row = _make_row(match["layer"], match["shape"], match["params"], number, cut=cut)
        if row is not None:
            current.rows.append(row)


def _continues(row: SummaryRow) -> bool:
    """Whether a tf.keras 2.7+ row was cut short, so the next line (before a blank one) carries its rest."""
    return not row.class_complete or not row.shape_complete or not row.name_complete


def parse_shape_text(text: str) -> tuple[int | None, ...] | list[tuple[int | None, ...]] | None:
    """``(None, 48, 50)`` -> a shape; ``[(None, 3), (None, 4)]`` -> several; ``multiple`` -> None.

    A shape cut short by Keras 2's fixed columns (no closing bracket) gives None: nothing to compare.
    """
    text = text.strip()
    if not text or text in ("multiple", "?") or text.count("(") != text.count(")") \
            or text.count("[") != text.count("]"):
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


# --- summaries inside documents -------------------------------------------------------------------------

DOCUMENT_SUFFIXES = (".md", ".markdown", ".txt", ".rst", ".ipynb")
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
"""Documents larger than this are not searched for summaries (the same cap as for formulas)."""


class SourceProblem(Exception):
    """A document that cannot be read for summaries; the message names why."""


def extract_summaries(path: Path, shown: str) -> list[StoredSummary]:
    """Every summary table in a text, Markdown or notebook file (fenced or not).

    Notebooks are read as JSON: only cell outputs (``stream`` text and
    ``text/plain`` results) are searched, each line keeping its line number in
    the ``.ipynb`` file. Raises :class:`SourceProblem` for unreadable files.
    """
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            raise SourceProblem(f"is {size:,} bytes, over the {MAX_DOCUMENT_BYTES:,} read for summaries")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SourceProblem(f"cannot be read as UTF-8 text: {error}") from None
    if path.suffix.lower() == ".ipynb":
        return parse_summary_lines(notebook_output_lines(text), shown)
    return parse_summaries(text, shown)


def notebook_output_lines(text: str) -> list[tuple[int, str]]:
    """The numbered lines of every text output of a notebook, in cell order."""
    try:
        notebook = json.loads(text)
    except ValueError as error:
        raise SourceProblem(f"is not valid notebook JSON: {error}") from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        worksheets = notebook.get("worksheets") if isinstance(notebook, dict) else None
        cells = [c for w in worksheets or [] if isinstance(w, dict) for c in w.get("cells", [])] \
            if isinstance(worksheets, list) else []
    locator = _LineLocator(text)
    numbered: list[tuple[int, str]] = []
    for cell in cells:
        if not isinstance(cell, dict) or not isinstance(cell.get("outputs"), list):
            continue
        for output in cell["outputs"]:
            for chunk in _output_texts(output):
                for piece in chunk.splitlines():
                    numbered.append((locator.line_of(piece), piece))
                numbered.append((locator.last, ""))  # outputs never continue one another
    return numbered


def _output_texts(output: Any) -> list[str]:
    if not isinstance(output, dict):
        return []
    found: list[Any] = []
    if "text" in output:
        found.append(output["text"])
    data = output.get("data")
    if isinstance(data, dict) and "text/plain" in data:
        found.append(data["text/plain"])
    texts = []
    for value in found:
        if isinstance(value, list):
            texts.append("".join(v for v in value if isinstance(v, str)))
        elif isinstance(value, str):
            texts.append(value)
    return texts


class _LineLocator:
    """Finds the line of each output line in the notebook's JSON text, moving forward only."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.cursor = 0
        self.last = 1

    def line_of(self, piece: str) -> int:
        encoded = json.dumps(piece)[1:-1]
        if encoded.strip():
            index = self.text.find(encoded, self.cursor)
            if index < 0:
                index = self.text.find(json.dumps(piece, ensure_ascii=False)[1:-1], self.cursor)
            if index >= 0:
                self.last = self.text.count("\n", 0, index) + 1
                self.cursor = index + len(encoded)
        return self.last


class _Named(Protocol):
    name: str
    class_name: str


def summary_refers_to(summary: StoredSummary, model_name: str | None, layers: Iterable[_Named]) -> bool:
    """Whether a table found in a document is a summary of this model.

    A printed ``Model: "name"`` decides when both names are known; otherwise
    at least half of the printed rows must name layers of the model.
    """
    layers = list(layers)
    if summary.model_name and model_name:
        return summary.model_name == model_name
    if not summary.rows:
        return False
    hits = sum(1 for row in summary.rows if any(row.matches(l.name, l.class_name) for l in layers))
    return hits * 2 >= len(summary.rows)


def find_summaries(model_name: str | None, layers: Iterable[_Named], documents: Iterable[tuple[Path, str]],
                   ) -> tuple[list[StoredSummary], list[tuple[str, str]]]:
    """Summaries of one model in the given ``(path, shown)`` documents, and unreadable documents.

    Returns ``(summaries, [(shown, reason)])``; tables of other models are left out.
    """
    layers = list(layers)
    found: list[StoredSummary] = []
    failures: list[tuple[str, str]] = []
    for path, shown in documents:
        try:
            summaries = extract_summaries(path, shown)
        except SourceProblem as error:
            failures.append((shown, str(error)))
            continue
        found.extend(s for s in summaries if summary_refers_to(s, model_name, layers))
    return found, failures
