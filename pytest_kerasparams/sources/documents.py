"""Formulas in Markdown and notebooks, checked against the models they describe.

A document is read as a sequence of lines. A line mentioning a model's folder
or its ``model.json`` path (``open("./hourly_models/model_1/model.json")``)
attributes what follows to that model, until the next such mention; a
document inside a model's folder belongs to that model from its first line.
Within a model, a heading naming a layer ("Conv1D Layer 2", "LSTM Decoder",
"Output Layer", "MaxPool1D") attributes the formulas below it to that layer.

Each formula is then checked twice: its arithmetic (the left side evaluates to
the stated result) and its meaning (the result is one of the attributed
layer's figures: parameter count, per-gate/per-filter/per-unit count, a
variable's size, an output dimension or the output shape).
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from fractions import Fraction
from itertools import combinations
from math import prod
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..formulas import Claim, Value, find_claims, format_value, values_agree
from ..problems import Problem

MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
"""Documents larger than this are not read (one ``limit`` problem instead)."""
MAX_PROBLEMS_PER_DOCUMENT = 200
"""Past this many disagreements a document gets one summary problem."""
DOCUMENT_SUFFIXES = (".md", ".markdown", ".ipynb")

RECURRENT_CLASSES = frozenset({
    "LSTM", "GRU", "SimpleRNN", "RNN", "CuDNNLSTM", "CuDNNGRU", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D",
})
WRAPPER_CLASSES = frozenset({"TimeDistributed", "Bidirectional"})
ORDINAL_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
                 "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "1st": 1, "2nd": 2, "3rd": 3}


# ---------------------------------------------------------------------------
# Finding documents

def find_documents(model_path: str | os.PathLike[str], rootdir: str | os.PathLike[str]) -> list[str]:
    """Markdown files and notebooks in the model's folder and each parent up to ``rootdir``."""
    folder = Path(os.path.abspath(model_path)).parent
    root = Path(os.path.abspath(rootdir))
    folders = [folder]
    if folder == root or root in folder.parents:
        current = folder
        while current != root:
            current = current.parent
            folders.append(current)
    found: list[str] = []
    for directory in folders:
        try:
            entries = sorted(directory.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.suffix.lower() in DOCUMENT_SUFFIXES and not entry.name.startswith(".") and entry.is_file():
                found.append(str(entry))
    return found


# ---------------------------------------------------------------------------
# Reading documents into lines

@dataclass
class Line:
    """One line of a document: its text, what it is, and where it is."""

    text: str
    number: int | None
    """1-based line in the file (for notebooks: the line of the JSON string, when known)."""
    code: bool = False
    heading: bool = False
    cell: int | None = None
    """Notebook cell number (1-based) and line within the cell (1-based)."""
    cell_line: int | None = None
    locate: Callable[[], int | None] | None = field(default=None, repr=False, compare=False)
    """Finds ``number`` on demand (locating a notebook cell in its JSON costs a scan of the file)."""

    def file_line(self) -> int | None:
        if self.number is None and self.locate is not None:
            self.number = self.locate()
            self.locate = None
        return self.number

    def where(self) -> str:
        return f"cell {self.cell}, line {self.cell_line}" if self.cell is not None else f"line {self.number}"


_ATX_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_SETEXT_UNDERLINE = re.compile(r"^\s{0,3}(?:=+|-{2,})\s*$")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_BOLD_LINE = re.compile(r"^\s*(\*\*|__)(?P<inner>.+?)\1\s*:?\s*$")


def _is_heading(text: str) -> bool:
    """Markdown headings, and pseudo-headings: a short bold line, or a short line ending in a colon."""
    if _ATX_HEADING.match(text):
        return True
    if _LIST_MARKER.match(text):
        return False
    bold = _BOLD_LINE.match(text)
    if bold:
        return len(bold.group("inner").split()) <= 8
    stripped = text.strip()
    return stripped.endswith(":") and 0 < len(stripped.split()) <= 6


def _markdown_lines(text: str) -> list[Line]:
    lines = []
    fence: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        opener = _FENCE.match(raw)
        if opener:
            marker = opener.group(1)
            if fence is None:
                fence = marker
            elif fence == marker:
                fence = None
            lines.append(Line(raw, number, code=True))
            continue
        if fence is None and _SETEXT_UNDERLINE.match(raw) and lines and lines[-1].text.strip() and not lines[-1].code:
            lines[-1].heading = True  # "Conv1D layer 2\n--------------"
        lines.append(Line(raw, number, code=fence is not None, heading=fence is None and _is_heading(raw)))
    return lines


def _cell_source(cell: Any) -> list[str] | None:
    source = cell.get("source", "") if isinstance(cell, dict) else None
    if isinstance(source, str):
        return source.splitlines()
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source).splitlines()
    return None


def _notebook_lines(path: str, text: str) -> tuple[list[Line], list[Problem]]:
    """Markdown cells are read for formulas, code cells only for model references."""
    from ..jsonfile import decode_json
    from ..problems import InputError

    try:
        document = decode_json(text.encode("utf-8"), path)
    except InputError as error:
        problem = error.problem
        return [], [Problem("invalid-json", path, f"is not a valid Jupyter notebook: {problem.message}",
                            problem.line, problem.column)]
    cells = document.data.get("cells") if isinstance(document.data, dict) else None
    if not isinstance(cells, list):
        return [], [Problem("invalid-json", path, "is not a Jupyter notebook: it has no list of cells")]
    lines: list[Line] = []
    for index, cell in enumerate(cells):
        source = _cell_source(cell)
        if source is None:
            continue
        kind = cell.get("cell_type")
        if kind not in ("markdown", "code"):
            continue
        raw_source = cell.get("source")
        locate = _source_locator(document, index, raw_source, len(source))
        fence: str | None = None
        for offset, raw in enumerate(source):
            code = kind == "code" or fence is not None
            opener = _FENCE.match(raw) if kind == "markdown" else None
            if opener:
                fence = opener.group(1) if fence is None else (None if fence == opener.group(1) else fence)
                code = True
            lines.append(Line(raw, None, code=code, heading=not code and _is_heading(raw),
                              cell=index + 1, cell_line=offset + 1, locate=locate(offset)))
    return lines, []


def _source_locator(document: Any, index: int, raw_source: Any, count: int,
                    ) -> Callable[[int], Callable[[], int | None]]:
    """Line finders for a cell's source lines: nbformat writes one JSON string per line."""
    def line_of(offset: int) -> Callable[[], int | None]:
        def find() -> int | None:
            if isinstance(raw_source, list) and len(raw_source) == count and raw_source:
                first = document.line_of(("cells", index, "source", 0))
                last = document.line_of(("cells", index, "source", count - 1))
                if first is not None and last == first + count - 1:
                    return first + offset
                return first
            return document.line_of(("cells", index, "source"))
        return find
    return line_of


def read_document(path: str | os.PathLike[str]) -> tuple[list[Line], list[Problem]]:
    """The document's lines, or the problems that stop it being read.

    A document above several models is parsed once per process (per version of the file),
    not once for each model and again for its pasted summaries.
    """
    shown = os.fspath(path)
    try:
        stat = os.stat(path)
    except OSError as error:
        return [], [Problem("formula", shown, f"cannot be read: {error.strerror or error}")]
    if stat.st_size > MAX_DOCUMENT_BYTES:
        return [], [Problem("limit", shown, f"is {stat.st_size:,} bytes, over the limit of {MAX_DOCUMENT_BYTES:,} "
                            "bytes for documents; its formulas were not checked")]
    return _parse_document(shown, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=256)
def _parse_document(shown: str, mtime_ns: int, size: int) -> tuple[list[Line], list[Problem]]:
    """Read and split one version of a document (the cache key is its path, mtime and size)."""
    try:
        with open(shown, "rb") as handle:
            raw = handle.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as error:
        return [], [Problem("formula", shown, f"cannot be read: {error.strerror or error}")]
    text = raw.decode("utf-8", errors="replace")
    if shown.lower().endswith(".ipynb"):
        return _notebook_lines(shown, text)
    return _markdown_lines(text), []


# ---------------------------------------------------------------------------
# Which model a line is about

_PATH_TOKEN = re.compile(r"[\w.~:-]{0,255}(?:[/\\][\w.-]{1,255}){1,32}[/\\]?|[\w.-]{1,255}\.(?:json|h5|keras|hdf5)\b")
_QUOTED = re.compile(r"[`'\"]([\w./\\-]{1,1024})[`'\"]")
MAX_MENTION_LINE_CHARS = 20_000
"""Longer lines (embedded images, minified output) are not searched for model paths."""


def _components(path: str) -> list[str]:
    parts = re.split(r"[/\\]+", path.replace("\\_", "_"))
    return [p for p in parts if p not in ("", ".", "..")]


@dataclass
class _ModelRef:
    path: str
    """The key given in ``analyses``."""
    analysis: Any
    parts: list[str]
    """Components of the absolute model file path."""


def _suffix_length(a: Sequence[str], b: Sequence[str]) -> int:
    length = 0
    while length < min(len(a), len(b)) and a[-1 - length] == b[-1 - length]:
        length += 1
    return length


def _mentioned_model(text: str, models: list[_ModelRef], document_dir: str) -> _ModelRef | None:
    """The model whose folder or file path the line mentions, preferring the most specific match."""
    if len(text) > MAX_MENTION_LINE_CHARS:
        return None
    candidates = [m.group() for m in _PATH_TOKEN.finditer(text)] + [m.group(1) for m in _QUOTED.finditer(text)]
    best: tuple[int, _ModelRef] | None = None
    tie = False
    for token in candidates:
        parts = _components(token)
        if not parts:
            continue
        resolved = _components(os.path.abspath(os.path.join(document_dir, token.replace("\\_", "_"))))
        for model in models:
            folder = model.parts[:-1]
            if resolved == model.parts or resolved == folder:
                score = 1000  # resolves exactly from the document's folder
            else:
                as_file = _suffix_length(parts, model.parts)
                as_folder = _suffix_length(parts, folder)
                if as_folder == 0 and len(parts) >= 2 and "." in parts[-1]:
                    as_folder = _suffix_length(parts[:-1], folder)  # "model_1/weights.h5" names the folder
                score = as_file - 1 if as_file >= 2 else (as_folder if as_folder >= 1 and len(parts) >= 1 else 0)
                if as_file == 1 and as_folder == 0:
                    score = 0  # "model.json" alone names no particular model
            if score <= 0:
                continue
            if best is None or score > best[0]:
                best, tie = (score, model), False
            elif score == best[0] and best[1] is not model:
                tie = True
    if best is None or tie:
        return None
    return best[1]


def _names_a_model_on_disk(text: str, document_dir: str) -> bool:
    """Whether the line names a model file (or a folder holding ``model.json``) that exists.

    A section about a model that is not being checked must not be attributed to
    the one that is: the caller then forgets the current model.
    """
    if len(text) > MAX_MENTION_LINE_CHARS:
        return False
    candidates = [m.group() for m in _PATH_TOKEN.finditer(text)] + [m.group(1) for m in _QUOTED.finditer(text)]
    for token in candidates[:20]:
        candidate = os.path.join(document_dir, token.replace("\\_", "_"))
        try:
            if candidate.endswith(".json") and os.path.isfile(candidate):
                return True
            if os.path.isfile(os.path.join(candidate, "model.json")):
                return True
        except (OSError, ValueError):
            continue
    return False


# ---------------------------------------------------------------------------
# Which layer a heading is about

def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _aliases(class_name: str) -> set[str]:
    """``MaxPooling1D`` -> maxpooling1d, maxpool1d, maxpooling, maxpool."""
    base = _norm(class_name)
    names = {base, base.replace("pooling", "pool"), base.replace("convolution", "conv")}
    names |= {re.sub(r"[123]d$", "", n) for n in names}
    return {n for n in names if len(n) >= 3}


def _layer_class_names(report: Any) -> list[str]:
    names = [report.class_name]
    if report.class_name in WRAPPER_CLASSES:
        inner = report.spec.config.get("layer") if isinstance(report.spec.config, Mapping) else None
        if isinstance(inner, Mapping) and isinstance(inner.get("class_name"), str):
            names.append(inner["class_name"])
    return names


def _is_recurrent(report: Any) -> bool:
    return any(name in RECURRENT_CLASSES for name in _layer_class_names(report))


def _class_score(text_norm: str, report: Any) -> int:
    """How strongly a text names this layer's class: the length of the longest name of each class found."""
    score = 0
    for class_name in _layer_class_names(report):
        exact = [len(a) for a in _aliases(class_name) if a in text_norm]
        score += max(exact, default=0)
    return score


def _fuzzy_class_score(words: list[str], report: Any) -> int:
    """Typos in headings ("Repeat Vecotor"): a run of up to three words close to a class name."""
    windows = {"".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, min(i + 3, len(words)) + 1)}
    for class_name in _layer_class_names(report):
        for alias in _aliases(class_name):
            if len(alias) < 6:
                continue
            for window in windows:
                matcher = difflib.SequenceMatcher(None, window, alias)
                if matcher.real_quick_ratio() >= 0.85 and matcher.quick_ratio() >= 0.85 and matcher.ratio() >= 0.85:
                    return len(alias) - 1
    return 0


_LAYER_NUMBER = re.compile(r"\blayer\s*#?\s*(\d{1,3})\b", re.IGNORECASE)
_ROLE_ENCODER = re.compile(r"\bencoder\b", re.IGNORECASE)
_ROLE_DECODER = re.compile(r"\bdecoder\b", re.IGNORECASE)
_OUTPUT_LAYER = re.compile(r"\boutput\s+layer\b", re.IGNORECASE)
_INPUT_HEADING = re.compile(r"^\W*input\b", re.IGNORECASE)

_ORDINAL = re.compile(r"\b(" + "|".join(ORDINAL_WORDS) + r"|last)\b", re.IGNORECASE)
_GLUED_ORDINAL = re.compile(r"\b(lstm|gru|rnn|dense|conv1d|conv2d|conv3d|flatten|dropout)\s?(\d{1,2})\b",
                            re.IGNORECASE)

_NOT_NAMED = -1
"""Resolution result: the text names no layer."""


@dataclass
class _Model:
    """A model as the document checker sees it, with the lookups a long document repeats."""

    ref: _ModelRef
    layers: list[Any]
    rows: list[Any]
    scores: dict[tuple[str, bool], list[int]] = field(default_factory=dict)
    figures: dict[int, list[_Figure]] = field(default_factory=dict)
    recurrent: list[int] = field(init=False)
    """Indexes of the recurrent layers: "Encoder" is the first, "Decoder" the second."""
    names: re.Pattern[str] | None = field(init=False)
    """Matches the distinctive layer names (``conv1d_1``) in text."""
    index_by_name: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.recurrent = [i for i, layer in enumerate(self.layers) if _is_recurrent(layer)]
        distinctive = sorted((layer.name for layer in self.layers
                              if "_" in layer.name or any(ch.isdigit() for ch in layer.name)), key=len, reverse=True)
        self.names = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, distinctive)) + r")(?!\w)") \
            if distinctive else None
        self.index_by_name = {layer.name: i for i, layer in enumerate(self.layers)}

    def layer_figures(self, index: int) -> list[_Figure]:
        """The layer's figures, then the model's totals (a total may be stated in any section)."""
        if index not in self.figures:
            report = self.ref.analysis.report
            totals = [_Figure(Fraction(report.total), "the model's total parameter count")]
            if report.non_trainable:
                totals += [_Figure(Fraction(report.trainable), "the model's trainable parameter count"),
                           _Figure(Fraction(report.non_trainable), "the model's non-trainable parameter count")]
            self.figures[index] = layer_figures(self.layers[index]) + totals
        return self.figures[index]

    def class_scores(self, plain: str, heading: bool) -> list[int]:
        key = (plain, heading)
        if key not in self.scores:
            if len(self.scores) > 4096:
                self.scores.clear()
            text_norm = _norm(plain)
            scores = [0 if layer.class_name == "InputLayer" else _class_score(text_norm, layer)
                      for layer in self.layers]
            if heading and not any(scores):
                words = [_norm(w) for w in re.findall(r"[A-Za-z0-9]+", plain)][:30]
                scores = [0 if layer.class_name == "InputLayer" else _fuzzy_class_score(words, layer)
                          for layer in self.layers]
            self.scores[key] = scores
        return self.scores[key]


def _class_ordinal(text: str) -> tuple[int | None, bool]:
    """The position named with a class: ``(n, True)`` for "Layer n", ``(n, False)`` for "second", "LSTM1"."""
    match = _LAYER_NUMBER.search(text)
    if match:
        return int(match.group(1)), True
    word = _ORDINAL.search(text)
    if word:
        return ORDINAL_WORDS.get(word.group(1).lower(), 0), False
    glued = _GLUED_ORDINAL.search(text)
    if glued:
        return int(glued.group(2)), False
    return None, False


def _resolve_layer(text: str, model: _Model, cursor: int, heading: bool) -> int | None:
    """Index into ``model.layers`` of the layer the text names; None if ambiguous; ``_NOT_NAMED`` if none."""
    plain = re.sub(r"[*_`#]+", " ", text).strip()
    layers = model.layers
    named = {match.group(1) for match in model.names.finditer(text)} if model.names else set()
    if len(named) == 1:
        return model.index_by_name[named.pop()]
    if not heading and _class_ordinal(plain)[0] is None:
        return _NOT_NAMED  # a sentence must name the position too ("Conv1D layer 2", "LSTM1")
    if heading:
        if _OUTPUT_LAYER.search(plain):
            return layers.index(model.rows[-1]) if model.rows else None
        if _INPUT_HEADING.search(plain):
            inputs = [i for i, layer in enumerate(layers) if layer.class_name == "InputLayer"]
            return inputs[0] if len(inputs) == 1 else None
        encoder, decoder = _ROLE_ENCODER.search(plain), _ROLE_DECODER.search(plain)
        if encoder and decoder:
            return None
        if encoder or decoder:
            recurrent = model.recurrent
            wanted = 0 if encoder else 1
            return recurrent[wanted] if len(recurrent) > wanted else None
    scores = model.class_scores(plain, heading)
    top = max(scores, default=0)
    if top == 0:
        return _NOT_NAMED
    candidates = [i for i, s in enumerate(scores) if s == top]
    ordinal, is_layer_number = _class_ordinal(plain)
    if ordinal is not None:
        if is_layer_number and 1 <= ordinal <= len(model.rows):
            overall = layers.index(model.rows[ordinal - 1])
            if overall in candidates:
                return overall
        if ordinal == 0:
            return candidates[-1]
        return candidates[ordinal - 1] if ordinal <= len(candidates) else None
    if len(candidates) == 1:
        return candidates[0]
    later = [i for i in candidates if i > cursor]
    return later[0] if later else candidates[0]


# ---------------------------------------------------------------------------
# A layer's figures

@dataclass
class _Figure:
    value: Value
    description: str


def _shape_text(shape: Sequence[Any]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + (",)" if len(shape) == 1 else ")")


def layer_figures(layer: Any) -> list[_Figure]:
    """Every number a document may rightly state about a layer, with what it is."""
    figures: list[_Figure] = []

    def add(value: int | Fraction, description: str) -> None:
        figures.append(_Figure(Fraction(value), description))

    add(layer.params, "parameter count")
    if layer.non_trainable_params:
        add(layer.trainable_params, "trainable parameter count")
        add(layer.non_trainable_params, "non-trainable parameter count")
    result = layer.result
    for formula in (result.formulas if result is not None else ()):
        label = formula.label or "unit"
        label = label if label.startswith("per ") else f"per {label}"
        add(formula.value, f"{formula.label or 'formula'} total")
        running = formula.partial_products()
        add(running[0], f"{label} count")
        for factor, value in zip(formula.times, running[1:]):
            add(value, f"count × {factor.render()}")
        term_values = [prod(f.value for f in term) for term in formula.terms]
        for term, value in zip(formula.terms, term_values):
            add(value, " × ".join(f.render() for f in term))
        if len(term_values) <= 8:
            for size in range(2, len(term_values)):
                for chosen in combinations(range(len(term_values)), size):
                    add(sum(term_values[i] for i in chosen),
                        "part of the bracket: " + " + ".join(
                            " × ".join(f.render() for f in formula.terms[i]) for i in chosen))
    for variable in layer.variables:
        add(variable.size, f"size of {variable.name} {variable.shape}")
        if variable.blocks:
            add(variable.block_size(), f"one {variable.blocks[0]} block of {variable.name}")
    for kind, shapes in (("output", layer.output_shapes[:1]), ("input", layer.input_shapes[:1])):
        for shape in (s for group in shapes for s in group):
            dims = [d for d in shape[1:] if d is not None]
            shown = f"{kind} shape {_shape_text(shape)}"
            figures.append(_Figure(tuple(Fraction(d) for d in dims), shown))
            for start in range(1, len(dims)):
                figures.append(_Figure(tuple(Fraction(d) for d in dims[start:]), f"trailing dimensions of {shown}"))
            for dim in dims:
                add(dim, f"a dimension of {shown}")
            if len(dims) > 1:
                add(prod(dims), f"size of one sample of {shown}")
    return figures


def _matching(value: Value, figures: Iterable[_Figure], rounding: bool = False) -> _Figure | None:
    for figure in figures:
        if values_agree(value, figure.value, rounding) or values_agree(figure.value, value):
            return figure
    return None


def _derivation(layer: Any) -> str:
    result = layer.result
    if result is not None and result.formulas:
        return "; ".join(f.render() for f in result.formulas)
    if layer.params == 0:
        outputs = layer.output_shapes[0] if layer.output_shapes else ()
        notes = "; ".join(result.shape_notes) if result is not None and result.shape_notes else ""
        shape = ", ".join(_shape_text(s) for s in outputs)
        return f"no weights; output shape {shape}" + (f" ({notes})" if notes else "")
    return f"{layer.params:,} parameters"


# ---------------------------------------------------------------------------
# Checking

@dataclass
class _State:
    model: _Model | None = None
    layer: int | None = None
    """Index into the model's layers of the attributed layer; None for none or an ambiguous heading."""
    cursor: int = -1
    problems: list[Problem] = field(default_factory=list)
    checks: list[ClaimCheck] = field(default_factory=list)


@dataclass(frozen=True)
class ClaimCheck:
    """One formula found in a document and what it was checked against (for reports and tests)."""

    claim: Claim
    line: Line
    model: str
    """The ``analyses`` key of the attributed model (formulas outside any model are not checked)."""
    layer: str | None
    """The attributed layer's name, or None (the claim's arithmetic alone was checked)."""
    problem: Problem | None


def _model_view(ref: _ModelRef) -> _Model:
    report = ref.analysis.report
    return _Model(ref, list(report.layers), list(report.rows))


def _key_figures(layer: Any) -> str:
    """The figures a reader would check first: parameters, per-unit brackets, output shape."""
    parts = [f"{layer.params:,} parameters"]
    result = layer.result
    for formula in (result.formulas if result is not None else ()):
        if formula.times:
            label = formula.label if formula.label.startswith("per ") else f"per {formula.label or 'unit'}"
            parts.append(f"{formula.bracket:,} {label}")
    if layer.output_shapes:
        parts.append("output shape " + ", ".join(_shape_text(s) for s in layer.output_shapes[0]))
    return "; ".join(parts)


def _check_claim(claim: Claim, line: Line, document: str, state: _State) -> Problem | None:
    """None when the claim holds; otherwise a problem showing the formula, its value and the layer's derivation."""
    model = state.model
    assert model is not None
    index = state.layer
    layer = model.layers[index] if index is not None else None
    where = f" ({line.where()})" if line.cell is not None else ""
    about = f"layer {layer.name} ({layer.class_name}) of {model.ref.path}" if layer is not None else model.ref.path
    written = claim.text
    if claim.error:
        return Problem("formula", document, f"formula {written!r}{where} cannot be checked: {claim.error}",
                       line.file_line(), layer=layer.name if layer is not None else None,
                       explanation=f"  written:    {' '.join(line.text.split())[:200]}\n"
                                   f"  about:      {about}\n")
    computed, stated = claim.computed, claim.stated
    assert computed.value is not None and stated.value is not None
    mismatch = claim.mismatch()
    figures = model.layer_figures(index) if index is not None else []
    stated_figure = _matching(stated.value, figures, stated.node.has_division())
    wrong_meaning = layer is not None and stated_figure is None
    if mismatch is None and not wrong_meaning:
        return None
    left_figure = _matching(computed.value, figures, computed.node.has_division())
    stated_text, left_text = format_value(stated.value), format_value(computed.value)

    findings: list[str] = []
    if mismatch is not None:
        left, right = mismatch
        assert left.value is not None and right.value is not None
        side = "the left side" if left is claim.sides[0] else repr(left.text)
        findings.append(f"{side} is {format_value(left.value)}, not {format_value(right.value)}")
    if wrong_meaning and not (mismatch is not None and left_figure is not None):
        findings.append(f"{stated_text} is none of its figures")

    source = " ".join(line.text.split())
    lines = [f"  written:    {source[:197] + '...' if len(source) > 200 else source}",
             f"  formula:    {written}",
             f"  left side:  {computed.node.render()} = {left_text}",
             f"  stated:     {stated_text}"]
    if layer is not None:
        lines.append(f"  layer:      {layer.name} ({layer.class_name}) in {model.ref.path}")
        lines.append(f"  derivation: {_derivation(layer)}")
        if left_figure is not None and left_figure is not stated_figure:
            lines.append(f"  the left side, {left_text}, is the layer's {left_figure.description}"
                         + (f"; the stated {stated_text} is none of its figures" if wrong_meaning else ""))
        elif stated_figure is not None and mismatch is not None:
            lines.append(f"  the stated {stated_text} is the layer's {stated_figure.description}; "
                         "a term on the left side is wrong")
        elif wrong_meaning:
            subject = f"{stated_text} is" if mismatch is None else f"neither {left_text} nor {stated_text} is"
            lines.append(f"  {subject} one of its figures (it has {_key_figures(layer)})")
        if left_figure is None:
            extra = _unexplained_numbers(computed, layer)
            if extra:
                lines.append(f"  numbers written that the layer's derivation does not have: {extra}")
    message = f"formula {written!r}{where} about {about}: " + "; ".join(findings)
    return Problem("formula", document, message, line.file_line(), layer=layer.name if layer is not None else None,
                   explanation="\n".join(lines) + "\n",
                   data={"model": model.ref.path, "stated": stated_text, "evaluated": left_text,
                         "cell": line.cell, "cell_line": line.cell_line})


def _unexplained_numbers(side: Any, layer: Any) -> str:
    """Numbers in the written formula that appear nowhere in the layer's derivation or shapes."""
    known: set[int] = {1, layer.params}
    result = layer.result
    for formula in (result.formulas if result is not None else ()):
        known.update(f.value for term in formula.terms for f in term)
        known.update(f.value for f in formula.times)
        known.update(formula.partial_products())
        known.update(prod(f.value for f in term) for term in formula.terms)
    for outputs in list(layer.input_shapes[:1]) + list(layer.output_shapes[:1]):
        for shape in outputs:
            known.update(d for d in shape if d is not None)
    extra = []
    for number in side.node.numbers():
        if number.denominator == 1 and int(number) not in known and format_value(number) not in extra:
            extra.append(format_value(number))
    return ", ".join(extra)


def _model_refs(analyses: Mapping[str | os.PathLike[str], Any]) -> list[_ModelRef]:
    refs = []
    for path, analysis in analyses.items():
        absolute = os.path.abspath(os.fspath(path))
        refs.append(_ModelRef(os.fspath(path), analysis, _components(absolute)))
    return refs


def _home_model(document: str, refs: list[_ModelRef]) -> _ModelRef | None:
    """The model whose folder holds the document (the deepest one, if folders nest)."""
    folder = _components(os.path.dirname(os.path.abspath(document)))
    best: _ModelRef | None = None
    for ref in refs:
        model_folder = ref.parts[:-1]
        if folder[:len(model_folder)] == model_folder and (best is None or len(model_folder) > len(best.parts) - 1):
            best = ref
    return best


def attributed_lines(path: str | os.PathLike[str], model_path: str | os.PathLike[str]) -> set[int]:
    """File lines of a document that are about one model, by the same rules formulas follow.

    A document in the model's folder is about it until another model is named;
    elsewhere, from a mention of the model until another model is named.
    """
    document = os.fspath(path)
    lines, problems = read_document(document)
    if problems:
        return set()
    refs = _model_refs({os.fspath(model_path): None})
    current = _home_model(document, refs)
    document_dir = os.path.dirname(os.path.abspath(document))
    about: set[int] = set()
    for line in lines:
        mentioned = _mentioned_model(line.text, refs, document_dir)
        if mentioned is not None:
            current = mentioned
        elif current is not None and _names_a_model_on_disk(line.text, document_dir):
            current = None
        number = line.file_line()
        if current is not None and number is not None:
            about.add(number)
    return about


def check_document(path: str | os.PathLike[str], analyses: Mapping[str | os.PathLike[str], Any]) -> list[Problem]:
    """Problems with the formulas of one Markdown file or notebook."""
    return audit_document(path, analyses)[1]


def audit_document(path: str | os.PathLike[str], analyses: Mapping[str | os.PathLike[str], Any],
                   ) -> tuple[list[ClaimCheck], list[Problem]]:
    """Every formula of one document with its attribution, and the problems found."""
    document = os.fspath(path)
    lines, problems = read_document(document)
    if problems:
        return [], problems
    refs = _model_refs(analyses)
    views: dict[int, _Model] = {}

    def view(ref: _ModelRef) -> _Model:
        if id(ref) not in views:
            views[id(ref)] = _model_view(ref)
        return views[id(ref)]

    state = _State()
    home = _home_model(document, refs)
    if home is not None:
        state.model = view(home)
    document_dir = os.path.dirname(os.path.abspath(document))
    skipped = 0
    for line in lines:
        mentioned = _mentioned_model(line.text, refs, document_dir) if refs else None
        if mentioned is not None and (state.model is None or state.model.ref is not mentioned):
            state.model, state.layer, state.cursor = view(mentioned), None, -1
        elif mentioned is None and state.model is not None and _names_a_model_on_disk(line.text, document_dir):
            state.model, state.layer, state.cursor = None, None, -1  # a section about another model
        if line.code or state.model is None:
            continue
        resolved = _resolve_layer(line.text, state.model, state.cursor, line.heading)
        if resolved != _NOT_NAMED:
            state.layer = resolved
            if resolved is not None:
                state.cursor = resolved
        elif line.heading:
            state.layer = None  # a new section about something that is not a layer
        claims = find_claims(line.text)
        for claim in claims:
            problem = _check_claim(claim, line, document, state)
            layer = state.model.layers[state.layer] if state.layer is not None else None
            state.checks.append(ClaimCheck(claim, line, state.model.ref.path,
                                           layer.name if layer is not None else None, problem))
            if problem is None:
                continue
            if len(state.problems) < MAX_PROBLEMS_PER_DOCUMENT:
                state.problems.append(problem)
            else:
                skipped += 1
    if skipped:
        state.problems.append(Problem("limit", document, f"{skipped:,} more formula problems were not listed "
                                      f"(the limit is {MAX_PROBLEMS_PER_DOCUMENT} per document)"))
    return state.checks, state.problems


def check_documents(doc_paths: Iterable[str | os.PathLike[str]],
                    analyses: Mapping[str | os.PathLike[str], Any]) -> list[Problem]:
    """Check every formula in the documents against the models (``model.json`` path -> Analysis)."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for path in doc_paths:
        key = os.path.abspath(os.fspath(path))
        if key in seen:
            continue
        seen.add(key)
        problems.extend(check_document(path, analyses))
    return problems

