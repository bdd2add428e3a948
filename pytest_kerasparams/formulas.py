"""Formulas as people write them in prose, and a small safe evaluator for them.

Documents describe parameter counts in many notations: plain ``(100 + 1) * 48 = 4848``,
Markdown with escaped operators (``10200 \\* 4``), inline LaTeX (``$(50 + 1) \\times 1 = 51$``,
``\\text{bias}``), words between numbers (``(100 memory cells + 1 bias) * 50 units``),
tuples (``(70/2, 64) = (35,64)``), chains (``a = b = c``) and results in words
(``... Which is 10200``). This module finds such *claims* in one line of text and
evaluates them exactly (with :class:`fractions.Fraction`), never with ``eval``.

Everything is bounded so that hostile text cannot hang or exhaust memory: line
length, tokens per formula, digits per number, bracket depth, exponents and the
size of every intermediate result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from math import floor, ceil
from typing import Union

MAX_LINE_CHARS = 4000
"""Longer lines are not searched for formulas (no prose formula is that long)."""
MAX_FORMULA_TOKENS = 300
"""A side of a formula may hold at most this many tokens."""
MAX_NUMBER_DIGITS = 30
"""Numbers with more digits are refused: no parameter count has them."""
MAX_RESULT_BITS = 256
"""Every intermediate numerator and denominator must fit in this many bits (about 77 digits)."""
MAX_EXPONENT = 64
"""Largest exponent ``a ** b`` or ``a ^ b`` accepted."""
MAX_DEPTH = 40
"""Deepest bracket and unary-minus nesting accepted."""

Value = Union[Fraction, tuple[Fraction, ...]]


class FormulaError(ValueError):
    """A formula that cannot be evaluated, with one sentence saying why."""


# ---------------------------------------------------------------------------
# Normalising Markdown and LaTeX to plain operators

_LATEX_THOUSANDS = re.compile(r"(?<=[0-9])(?:\\,|\{,\}|\u2009|\u202f)(?=[0-9]{3}(?![0-9]))")
_LATEX_TEXT = re.compile(r"\\(?:text|textrm|textit|textbf|mathrm|mathit|mathbf|mbox|operatorname)\s*\{([^{}]*)\}")
_LATEX_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_LATEX_TIMES = re.compile(r"\\(?:times|cdot|ast|cross)(?![A-Za-z])")
_LATEX_DIV = re.compile(r"\\div(?![A-Za-z])")
_LATEX_SPACE = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg|quad|qquad|displaystyle)(?![A-Za-z])|\\[,;:! ]")
_LATEX_DELIMITERS = re.compile(r"\$+|\\[()\[\]]")
_MARKDOWN_ESCAPE = re.compile(r"\\([*_\-+#.!`<>|~{}=^])")
_TIMES_CHARS = str.maketrans({"×": "*", "·": "*", "⋅": "*", "∗": "*", "✕": "*", "✖": "*", "÷": "/",
                              "−": "-", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "（": "(", "）": ")"})
_LETTER_X = re.compile(r"(?<=[0-9)])\s*[xX]\s*(?=[0-9(])")
_EMPHASIS_RUN = re.compile(r"\*+|_{2,}")


def _is_operand_end(char: str) -> bool:
    return char.isalnum() or char in ")]}"


def _is_operand_start(char: str) -> bool:
    return char.isalnum() or char in "([{-."


def _strip_emphasis(text: str) -> str:
    """Drop Markdown ``*``/``**``/``__`` emphasis, keeping ``*`` and ``**`` used as operators."""
    out: list[str] = []
    last = 0
    for match in _EMPHASIS_RUN.finditer(text):
        before = match.start() - 1
        while before >= 0 and text[before].isspace():
            before -= 1
        after = match.end()
        while after < len(text) and text[after].isspace():
            after += 1
        run = match.group()
        operator = (run in ("*", "**") and before >= 0 and after < len(text)
                    and _is_operand_end(text[before]) and _is_operand_start(text[after]))
        out.append(text[last:match.start()])
        out.append(run if operator else " ")
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def normalize(text: str) -> str:
    """Markdown and LaTeX notation to plain ``+ - * / ^ ( )`` text, keeping words as they are."""
    text = _LATEX_THOUSANDS.sub("", text)
    text = text.translate(_TIMES_CHARS)
    for _ in range(4):  # nested \frac / \text, bounded
        changed = _LATEX_TEXT.sub(r" \1 ", text)
        changed = _LATEX_FRAC.sub(r"((\1)/(\2))", changed)
        if changed == text:
            break
        text = changed
    text = _LATEX_TIMES.sub("*", text)
    text = _LATEX_DIV.sub("/", text)
    text = _LATEX_SPACE.sub(" ", text)
    text = _LATEX_DELIMITERS.sub(" ", text)
    text = _MARKDOWN_ESCAPE.sub(r"\1", text)
    text = text.replace("`", " ")
    text = _LETTER_X.sub(" * ", text)
    return _strip_emphasis(text)


# ---------------------------------------------------------------------------
# Tokens

@dataclass(frozen=True)
class Token:
    kind: str
    """``num``, ``word``, ``op``, ``open``, ``close``, ``comma``, ``rel`` or ``stop``."""
    text: str
    start: int
    end: int


_TOKEN = re.compile(r"""
    (?P<num>[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?)
  | (?P<rel>==?|≈|(?:[Ww]hich|[Tt]hat)\s+(?:is|gives|makes|equals)\b|\bequals\b|\bis\s+equal\s+to\b)
  | (?P<word>[^\W\d][\w']*(?:[-.][^\W\d][\w']*)*)
  | (?P<op>\*\*|[-+*/^])
  | (?P<open>[(\[{])
  | (?P<close>[)\]}])
  | (?P<comma>,)
  | (?P<space>\s+)
  | (?P<stop>.)
""", re.VERBOSE)

_PAIRS = {"(": ")", "[": "]", "{": "}"}


def tokenize(text: str) -> list[Token]:
    """Split normalised text into tokens; anything unknown becomes a ``stop``."""
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "stop"
        if kind == "space":
            continue
        tokens.append(Token(kind, match.group(), match.start(), match.end()))
    return tokens


# ---------------------------------------------------------------------------
# Expression trees

@dataclass(frozen=True)
class Node:
    """An expression: a number, a bracket, a tuple, a unary minus or a binary operation."""

    kind: str
    """``num``, ``group``, ``tuple``, ``neg`` or one of ``+ - * / ^``."""
    children: tuple[Node, ...] = ()
    text: str = ""
    bracket: str = "("

    def has_operator(self) -> bool:
        if self.kind in ("+", "-", "*", "/", "^", "neg"):
            return True
        return any(child.has_operator() for child in self.children)

    def has_division(self) -> bool:
        return self.kind == "/" or any(child.has_division() for child in self.children)

    def numbers(self) -> list[Fraction]:
        if self.kind == "num":
            return [_number(self.text)]
        return [n for child in self.children for n in child.numbers()]

    def render(self) -> str:
        """The expression with annotations dropped: ``(3 * 64 + 1) * 64``."""
        if self.kind == "num":
            return self.text
        if self.kind == "group":
            return f"{self.bracket}{self.children[0].render()}{_PAIRS[self.bracket]}"
        if self.kind == "tuple":
            return f"{self.bracket}{', '.join(c.render() for c in self.children)}{_PAIRS[self.bracket]}"
        if self.kind == "neg":
            return f"-{self.children[0].render()}"
        left, right = self.children
        return f"{left.render()} {self.kind} {right.render()}"


def _number(text: str) -> Fraction:
    digits = text.replace(",", "")
    count = sum(ch.isdigit() for ch in digits)
    if count > MAX_NUMBER_DIGITS:
        raise FormulaError(f"a number with {count:,} digits is longer than the {MAX_NUMBER_DIGITS} digits "
                           "a formula may use")
    return Fraction(digits)


class _Fail(Exception):
    """Internal: the tokens are not an expression here."""


class _Parser:
    """Recursive descent over tokens ``[start, end)`` where words are annotations of the numbers."""

    def __init__(self, tokens: list[Token], start: int, end: int) -> None:
        self.tokens = tokens
        self.pos = start
        self.end = end
        self.depth = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < self.end else None

    def take(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError(f"brackets are nested more than {MAX_DEPTH} deep")

    def expression(self) -> Node:
        node = self.term()
        while (token := self.peek()) is not None and token.kind == "op" and token.text in "+-":
            self.take()
            node = Node(token.text, (node, self.term()))
        return node

    def term(self) -> Node:
        node = self.power()
        while (token := self.peek()) is not None and token.kind == "op" and token.text in ("*", "/"):
            self.take()
            node = Node(token.text, (node, self.power()))
        return node

    def power(self) -> Node:
        base = self.unary()
        token = self.peek()
        if token is not None and token.kind == "op" and token.text in ("^", "**"):
            self.take()
            self._enter()
            exponent = self.power()
            self.depth -= 1
            return Node("^", (base, exponent))
        return base

    def unary(self) -> Node:
        token = self.peek()
        if token is not None and token.kind == "op" and token.text in "+-":
            self.take()
            self._enter()
            inner = self.unary()
            self.depth -= 1
            return Node("neg", (inner,)) if token.text == "-" else inner
        return self.atom()

    def _prefix_words(self) -> None:
        """Allow ``(input 200 + 1)``: words directly before a number inside a formula."""
        start = self.pos
        while (token := self.peek()) is not None and token.kind == "word":
            self.take()
        if self.pos != start:
            following = self.peek()
            if following is None or following.kind != "num":
                raise _Fail()

    def _annotations(self) -> None:
        """Skip words after a number (``100 memory cells``) and bracketed words (``4 (gates)``)."""
        while (token := self.peek()) is not None:
            if token.kind == "word":
                self.take()
            elif token.kind == "open" and self._bracketed_words():
                continue
            else:
                return

    def _bracketed_words(self) -> bool:
        index = self.pos + 1
        while index < self.end and self.tokens[index].kind == "word":
            index += 1
        if index > self.pos + 1 and index < self.end and self.tokens[index].kind == "close":
            self.pos = index + 1
            return True
        return False

    def atom(self) -> Node:
        self._prefix_words()
        token = self.peek()
        if token is None:
            raise _Fail()
        if token.kind == "num":
            self.take()
            self._annotations()
            return Node("num", text=token.text)
        if token.kind == "open":
            self.take()
            self._enter()
            items = [self.expression()]
            while (sep := self.peek()) is not None and sep.kind == "comma":
                self.take()
                items.append(self.expression())
            closing = self.peek()
            if closing is None or closing.kind != "close":
                raise _Fail()
            if closing.text != _PAIRS[token.text] and not {token.text, closing.text} <= {"(", ")", "[", "]"}:
                raise _Fail()
            self.take()
            self.depth -= 1
            self._annotations()
            if len(items) > 1:
                return Node("tuple", tuple(items), bracket=token.text)
            return Node("group", (items[0],), bracket=token.text)
        raise _Fail()


def _parse_exact(tokens: list[Token], start: int, end: int) -> Node | None:
    """The expression spanning exactly ``tokens[start:end]``, or None."""
    if end - start > MAX_FORMULA_TOKENS:
        return None
    parser = _Parser(tokens, start, end)
    try:
        node = parser.expression()
    except (_Fail, FormulaError):  # in prose, over-deep brackets are simply not a formula
        return None
    return node if parser.pos == end else None


def _parse_prefix(tokens: list[Token], start: int, end: int) -> tuple[Node, int] | None:
    """The longest expression starting at ``start``; None when it runs into a symbolic term."""
    parser = _Parser(tokens, start, min(end, start + MAX_FORMULA_TOKENS))
    try:
        node = parser.expression()
    except (_Fail, FormulaError):
        return None
    following = tokens[parser.pos] if parser.pos < end else None
    if following is not None and following.kind == "op" or parser.pos == start:
        return None  # "= 4 * output channels": symbolic, not a stated result
    return node, parser.pos


# ---------------------------------------------------------------------------
# Exact, bounded evaluation

def _bounded(value: Fraction) -> Fraction:
    if value.numerator.bit_length() > MAX_RESULT_BITS or value.denominator.bit_length() > MAX_RESULT_BITS:
        raise FormulaError(f"an intermediate result is larger than the {MAX_RESULT_BITS}-bit limit")
    return value


def evaluate_node(node: Node) -> Value:
    """Evaluate exactly; raises :class:`FormulaError` for division by zero and results too large."""
    if node.kind == "num":
        return _number(node.text)
    if node.kind == "group":
        return evaluate_node(node.children[0])
    if node.kind == "tuple":
        values = []
        for child in node.children:
            value = evaluate_node(child)
            if isinstance(value, tuple):
                raise FormulaError("tuples inside tuples are not evaluated")
            values.append(value)
        return tuple(values)
    operands = [evaluate_node(child) for child in node.children]
    if any(isinstance(v, tuple) for v in operands):
        raise FormulaError(f"cannot apply {node.kind!r} to a tuple")
    numbers: list[Fraction] = operands  # type: ignore[assignment]
    if node.kind == "neg":
        return -numbers[0]
    left, right = numbers
    if node.kind == "+":
        return _bounded(left + right)
    if node.kind == "-":
        return _bounded(left - right)
    if node.kind == "*":
        if left.numerator.bit_length() + right.numerator.bit_length() > MAX_RESULT_BITS + 1:
            raise FormulaError(f"an intermediate result is larger than the {MAX_RESULT_BITS}-bit limit")
        return _bounded(left * right)
    if node.kind == "/":
        if right == 0:
            raise FormulaError("division by zero")
        return _bounded(left / right)
    if node.kind == "^":
        if right.denominator != 1:
            raise FormulaError(f"the exponent {format_value(right)} is not a whole number")
        if abs(right) > MAX_EXPONENT:
            raise FormulaError(f"the exponent {format_value(right)} is over the limit of {MAX_EXPONENT}")
        if left == 0 and right < 0:
            raise FormulaError("division by zero (zero to a negative power)")
        size = max(left.numerator.bit_length(), left.denominator.bit_length())
        if size * abs(int(right)) > MAX_RESULT_BITS + 1:
            raise FormulaError(f"{format_value(left)} ** {format_value(right)} is larger than the "
                               f"{MAX_RESULT_BITS}-bit limit")
        return _bounded(left ** int(right))
    raise FormulaError(f"unknown operator {node.kind!r}")


def format_value(value: Value) -> str:
    """``12,352``, ``35.5``, ``(35, 64)``, or ``1/3`` for fractions without a short decimal."""
    if isinstance(value, tuple):
        return "(" + ", ".join(format_value(v) for v in value) + ")"
    if value.denominator == 1:
        return f"{value.numerator:,}"
    decimal = value.numerator / value.denominator
    if Fraction(str(round(decimal, 6))) == value:
        return f"{round(decimal, 6):,}"
    return f"{value.numerator}/{value.denominator}"


def evaluate(text: str) -> Value:
    """Evaluate one expression written in any supported notation (no ``=``)."""
    if len(text) > MAX_LINE_CHARS:
        raise FormulaError(f"the formula is {len(text):,} characters long, over the limit of {MAX_LINE_CHARS:,}")
    tokens = tokenize(normalize(text))
    _check_brackets(tokens)
    if not tokens:
        raise FormulaError("not a formula: there is nothing to evaluate")
    if any(t.kind == "rel" for t in tokens):
        raise FormulaError("not a single expression: it contains '=' (use find_claims for formulas)")
    if len(tokens) > MAX_FORMULA_TOKENS:
        raise FormulaError(f"not a formula: more than {MAX_FORMULA_TOKENS} tokens")
    parser = _Parser(tokens, 0, len(tokens))
    try:
        node = parser.expression()
    except _Fail:
        node = None
    if node is None or parser.pos != len(tokens):
        raise FormulaError("not a formula: expected numbers joined by + - * / ^ and brackets")
    return evaluate_node(node)


def _check_brackets(tokens: list[Token]) -> None:
    stack: list[Token] = []
    for token in tokens:
        if token.kind == "open":
            stack.append(token)
        elif token.kind == "close":
            if not stack:
                raise FormulaError(f"unbalanced brackets: {token.text!r} at column {token.start + 1} closes nothing")
            stack.pop()
    if stack:
        raise FormulaError(f"unbalanced brackets: {stack[-1].text!r} at column {stack[-1].start + 1} "
                           "is never closed")


# ---------------------------------------------------------------------------
# Claims: "left = result" found in a line of prose

@dataclass
class Side:
    """One side of a claim as written, its expression and value."""

    text: str
    node: Node
    value: Value | None = None
    error: str | None = None


@dataclass
class Claim:
    """A chain ``side = side [= side ...]`` in which at least one side is a computation."""

    text: str
    """The chain as written (normalised notation)."""
    sides: list[Side] = field(default_factory=list)
    relation: str = "="

    @property
    def error(self) -> str | None:
        """Why the claim cannot be evaluated, if it cannot."""
        for side in self.sides:
            if side.error:
                return side.error
        return None

    @property
    def computed(self) -> Side:
        """The first side that computes something (has an operator)."""
        for side in self.sides:
            if side.node.has_operator():
                return side
        return self.sides[0]

    @property
    def stated(self) -> Side:
        """The result the author states: the last side."""
        return self.sides[-1]

    def mismatch(self) -> tuple[Side, Side] | None:
        """The first pair of adjacent sides whose values differ, or None when the arithmetic holds."""
        for left, right in zip(self.sides, self.sides[1:]):
            if left.value is None or right.value is None:
                continue
            if not values_agree(left.value, right.value, left.node.has_division()):
                return left, right
        return None


def values_agree(computed: Value, stated: Value, allow_rounding: bool = False) -> bool:
    """Equal, elementwise for tuples; a stated whole number may round a computed fraction (Keras floors)."""
    if isinstance(computed, tuple) or isinstance(stated, tuple):
        if not (isinstance(computed, tuple) and isinstance(stated, tuple)) or len(computed) != len(stated):
            return False
        return all(values_agree(c, s, allow_rounding) for c, s in zip(computed, stated))
    if computed == stated:
        return True
    return (allow_rounding and computed.denominator != 1 and stated.denominator == 1
            and stated in (floor(computed), ceil(computed)))


def _side_text(text: str, tokens: list[Token], start: int, end: int) -> str:
    """The span as written, without trailing annotation words and with spaces tidied."""
    while end - 1 > start and tokens[end - 1].kind == "word":
        end -= 1
    span = " ".join(text[tokens[start].start:tokens[end - 1].end].split())
    return re.sub(r"([(\[{]) | ([)\]}])", lambda m: m.group(1) or m.group(2), span)


def _left_side(tokens: list[Token], boundary: int, rel: int) -> int | None:
    """Start of the longest expression ending exactly at token ``rel``, not before ``boundary``."""
    first = max(boundary, rel - MAX_FORMULA_TOKENS)
    for start in range(first, rel):
        token = tokens[start]
        if token.kind not in ("num", "open") and not (token.kind == "op" and token.text == "-"):
            continue
        if start > boundary and tokens[start - 1].kind == "op":
            continue  # "channels * 64 = ...": the formula began with a symbol
        if token.kind == "op" and start > boundary and tokens[start - 1].kind in ("word", "num", "close"):
            continue  # "cells - 3 = ...": a dash between words, not a negative number
        if _parse_exact(tokens, start, rel) is not None:
            return start
    return None


def find_claims(line: str) -> list[Claim]:
    """Every numeric claim in one line of prose, Markdown or LaTeX.

    A claim needs at least two numeric sides joined by ``=`` (or "which is",
    "equals", ...) and at least one side with an operator: ``n_steps=48`` and
    ``number of parameters = 4 * output channels * ...`` are not claims.
    """
    if len(line) > MAX_LINE_CHARS or ("=" not in line and not _RESULT_WORDS.search(line)):
        return []
    text = normalize(_BLOCK_MARKER.sub(" ", line, count=1))
    tokens = tokenize(text)
    claims: list[Claim] = []
    boundary = 0
    index = 0
    while index < len(tokens):
        if tokens[index].kind != "rel":
            if tokens[index].kind == "stop":
                boundary = index + 1
            index += 1
            continue
        rel = index
        left_end = rel
        if tokens[rel].text[0].isalpha() and rel >= 1 and tokens[rel - 1].kind in ("stop", "comma") \
                and (rel > boundary or tokens[rel - 1].kind == "stop"):
            left_end = rel - 1  # "... * 100 units. Which is 10200." / "... * 100 units, which is 10200"
        left_boundary = boundary if left_end == rel or tokens[rel - 1].kind == "comma" \
            else _sentence_start(tokens, left_end)
        start = _left_side(tokens, left_boundary, left_end)
        sides_spans: list[tuple[int, int]] = []
        relation = tokens[rel].text
        if start is not None:
            sides_spans.append((start, left_end))
        cursor = rel
        while cursor < len(tokens) and tokens[cursor].kind == "rel":
            if tokens[cursor].text == "≈":
                relation = "≈"
            found = _parse_prefix(tokens, cursor + 1, len(tokens))
            if found is None:
                break
            _, after = found
            sides_spans.append((cursor + 1, after))
            cursor = after
        if relation != "≈" and len(sides_spans) >= 2:
            sides = []
            for a, b in sides_spans:
                node = _parse_exact(tokens, a, b)
                if node is None:  # cannot happen: spans come from the parser
                    break
                sides.append(Side(_side_text(text, tokens, a, b), node))
            if len(sides) == len(sides_spans) and any(s.node.has_operator() for s in sides):
                for side in sides:
                    try:
                        side.value = evaluate_node(side.node)
                    except FormulaError as error:
                        side.error = str(error)
                a, b = sides_spans[0][0], sides_spans[-1][1]
                claims.append(Claim(_side_text(text, tokens, a, b), sides, relation))
        index = max(cursor, rel + 1)
        boundary = index
    return claims


_BLOCK_MARKER = re.compile(r"^\s*(?:>\s*)*(?:#{1,6}|[-*+•]|[0-9]{1,3}[.)])(?=\s)")
"""A Markdown list bullet, numbered item, quote or heading marker at the start of a line."""

_RESULT_WORDS = re.compile(r"\b(?:which|that)\s+(?:is|gives|makes|equals)\b|\bequals\b|\bis\s+equal\s+to\b",
                           re.IGNORECASE)


def _sentence_start(tokens: list[Token], end: int) -> int:
    index = end - 1
    while index >= 0 and tokens[index].kind != "stop":
        index -= 1
    return index + 1
