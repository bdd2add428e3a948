"""The prose-formula parser and its bounded evaluator: notations, non-claims and hostile input."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

from pytest_kerasparams import formulas
from pytest_kerasparams.formulas import FormulaError, evaluate, find_claims, format_value, normalize


def claims_of(line: str) -> list[tuple[str, list[str], bool]]:
    """(text, side values, arithmetic wrong?) for each claim in a line."""
    return [(c.text, [format_value(s.value) if s.value is not None else f"error: {s.error}" for s in c.sides],
             c.mismatch() is not None) for c in find_claims(line)]


def only_claim(line: str):
    found = find_claims(line)
    assert len(found) == 1, (line, claims_of(line))
    return found[0]


# --- notations -----------------------------------------------------------------------------

@pytest.mark.parametrize("line, left, stated", [
    ("(100 + 1) * 48 = 4848", 4848, 4848),
    ("Four gates: 10200 \\* 4 = 40800.", 40800, 40800),
    ("$(50 + 1) \\times 1 = 51$ (shared by every step)", 51, 51),
    ("$$(1 \\text{ feature} + 100 \\text{ units} + 1) \\cdot 100 \\cdot 4 = 40\\,800$$", 40800, 40800),
    ("\\[ (200 + 200 + 1) \\times 200 \\times 4 = 320800 \\]", 320800, 320800),
    ("(8 features + 200 states + 1 bias) x 200 x 4 = 167,200", 167200, 167200),
    ("(8 features + 200 states + 1 bias) × 200 × 4 = 167,200", 167200, 167200),
    ("per unit: (200 prev + 1 bias) · 100 = 20100", 20100, 20100),
    ("each kernel needs 3 \\* 8 inputs + 1 bias to learn = 25 weights", 25, 25),
    ("(64 units + 1 bias) \\* (1\\_output) = 65 weights", 65, 65),
    ("{1024 + 200 + 1} * 200 * 4 = 980,000 shared over the steps", 980000, 980000),
    ("[1 * 3 * (8 + 64) + 1] * 64 * 4 = 55552", 55552, 55552),
    ("**(3*64+1)*64 = 12352**", 12352, 12352),
    ("*(100+1)*4 = 404*", 404, 404),
    ("2^10 = 1024", 1024, 1024),
    ("\\frac{70}{2} = 35", 35, 35),
    ("(72 - 3) / 1 + 1 = 70 steps", 70, 70),
    ("1. 16 \\* 64 = 1024", 1024, 1024),
    ("- 4 gates × 64 filters × (1 × 3 × (8 + 64) + 1) = 55,552", 55552, 55552),
    ("0.5 * 70 = 35", 35, 35),
    ("100 - 3 − 1 = 96", 96, 96),
])
def test_notations(line: str, left: int, stated: int) -> None:
    claim = only_claim(line)
    assert claim.computed.value == left
    assert claim.stated.value == stated
    assert claim.mismatch() is None


def test_words_between_numbers_and_results_in_words() -> None:
    claim = only_claim("So for one gate we learn (100 memory cells-previous + 1 feature + 1 bias) \\* 100 "
                       "memory cells-to next. Which is 10200.")
    assert claim.computed.value == 10200 and claim.stated.value == 10200
    assert claim.computed.node.render() == "(100 + 1 + 1) * 100"
    claim = only_claim("(100 states + 1 input + 1 bias) * 100 units, which is 10201 weights")
    assert claim.mismatch() is not None and claim.stated.value == 10201


def test_tuples() -> None:
    claim = only_claim("So, output will be (70/2, 64) = (35,64).")
    assert claim.stated.value == (35, 64) and claim.mismatch() is None
    assert only_claim("(70/2, 64) = (36, 64)").mismatch() is not None


def test_chains_check_every_link() -> None:
    claim = only_claim("Flat shape = 24 * 64 = 1536")
    assert [s.value for s in claim.sides] == [1536, 1536]
    claim = only_claim("(3 * 64 + 1) * 64 = 193 * 64 = 12352")
    assert claim.mismatch() is None and claim.stated.value == 12352
    claim = only_claim("(3 * 64 + 1) * 64 = 193 * 64 = 12342")
    left, right = claim.mismatch()
    assert left.value == 12352 and right.value == 12342
    claim = only_claim("72 hourly steps = 3 days * 24 hours")
    assert claim.computed.value == 72 and claim.mismatch() is None


def test_thousands_separators_and_tuples_are_told_apart() -> None:
    assert only_claim("1,014,153 = 1,000,000 + 14,153").mismatch() is None
    assert only_claim("(35,64) = (70/2, 64)").sides[0].value == (35, 64)


def test_division_results_may_be_floored_as_keras_does() -> None:
    assert only_claim("33 / 2 = 16").mismatch() is None
    assert only_claim("33 / 2 = 17").mismatch() is None
    assert only_claim("33 / 2 = 15").mismatch() is not None
    assert only_claim("32 * 2 = 65").mismatch() is not None


def test_arithmetic_errors_are_found() -> None:
    claim = only_claim("1 filter needs, ( 3 kernel \\* 64 input channels + 1 bias) = 68 param.")
    assert claim.computed.value == 193 and claim.stated.value == 68 and claim.mismatch() is not None
    assert claim.text == "(3 kernel * 64 input channels + 1 bias) = 68"


@pytest.mark.parametrize("line", [
    "number of parameters = 4 * output channels * (filter-row * filter-column * (in + out) + 1)",
    "params = 4 * filters * (k * (c_in + c_out) + 1)",
    "Input shape is [batch_size=None, n_timesteps=48, n_features=1]",
    "n_steps=48",
    "model_json = json_file.read()",
    "Kernel size 1 * 3 and input (1 row, 24 columns, 8 features)",
    "Total params: 45,648",
    "Stride is default to pool_size, that is 2.",
    "roughly (100 + 1) * 48 ≈ 4850",
    "x = y + 1",
    "",
    "= = = 5",
    "1 = 1",
    "channels * 64 = 128 * 64",
])
def test_not_claims(line: str) -> None:
    assert find_claims(line) == [], claims_of(line)


def test_several_claims_on_one_line() -> None:
    found = claims_of("2^10 = 1024, and 9**2=81; also (1 + 1) * 2 = 5")
    assert [f[1] for f in found] == [["1,024", "1,024"], ["81", "81"], ["4", "5"]]
    assert [f[2] for f in found] == [False, False, True]


def test_normalize_keeps_power_and_drops_emphasis() -> None:
    assert "**" in normalize("9**2")
    assert "*" not in normalize("**Layer 1: LSTM**")
    assert normalize("$3 \\times 8$").split() == ["3", "*", "8"]


# --- the evaluator -------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("2 ^ 3 ^ 2", 512), ("2 ** 3 ** 2", 512), ("-3 + 5", 2),
    ("7 / 2", Fraction(7, 2)), ("[1 + {2 * (3 + 4)}]", 15), ("100 units + 1 bias", 101),
    ("1,536 + 1", 1537), ("2^-1", Fraction(1, 2)),
])
def test_evaluate(text: str, value: Fraction) -> None:
    assert evaluate(text) == value


@pytest.mark.parametrize("text, message", [
    ("9**9**9", "exponent"),
    ("9^9^9^9", "exponent"),
    ("2 ** 64 ** 1 * 2 ** 64 ** 1 * 2 ** 64 * 2 ** 64 * 2 ** 64", "limit"),
    ("(" * 60 + "1" + ")" * 60, "nested"),
    ("-" * 100 + "1", "nested"),
    ("1" * 10_000, "10,000 characters long"),
    ("1" * 10_000 + " + 1", "over the limit"),
    ("1" * 3_000 + " + 1", "3,000 digits"),
    ("1" * 31 + " + 1", "31 digits"),
    ("((1 + 2)", "unbalanced"),
    ("(1 + 2))", "unbalanced"),
    ("1 / 0", "division by zero"),
    ("5 / (3 - 3)", "division by zero"),
    ("0 ^ -1", "division by zero"),
    ("2 ^ 0.5", "not a whole number"),
    ("1 +", "not a formula"),
    ("hello world", "not a formula"),
    ("", "not a formula"),
    ("1 = 1", "="),
    ("(1, 2) * 3", "tuple"),
    ("1 + " * 2000 + "1", "characters"),
], ids=lambda value: value[:40] if isinstance(value, str) else None)
def test_hostile_expressions_give_a_clear_message(text: str, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(FormulaError) as error:
        evaluate(text)
    assert message in str(error.value)
    assert time.perf_counter() - started < 5.0  # generous: the machine may be busy


@pytest.mark.parametrize("line", [
    "9**9**9 = 5",
    "9^9^9 = 1",
    "1" * 3_000 + " * 2 = 5",
    "100 / (3 - 3) = 7",
], ids=lambda value: value[:30])
def test_hostile_claims_carry_an_error_not_an_exception(line: str) -> None:
    started = time.perf_counter()
    found = find_claims(line)
    assert time.perf_counter() - started < 5.0  # generous: the machine may be busy
    assert len(found) == 1 and found[0].error
    assert found[0].mismatch() is None


@pytest.mark.parametrize("line", [
    "(" * 5000 + "1 = 1",
    "(" * 300 + "1 = 1",
    "(" * 100 + "1" + ")" * 100 + " = 1",
    "-" * 300 + "1 = 1",
    "2^" * 300 + "1 = 2",
    "1 + 2 ) = 3 " * 300,
    "cells + 1 " * 300 + "= 5",
    ("1 + " * 150 + "1 ) = ") * 5,
    "((1 + 2) = 3",
    "1 + 2) = 3) = (",
    "=" * 3000,
    "1 = " * 1000,
    "(1 " * 1000 + "= 2",
    "x" * (formulas.MAX_LINE_CHARS + 1) + " 1 + 1 = 2",
    "1" * 10_000 + " * 2 = 5",
], ids=lambda value: value[:30])
def test_hostile_lines_are_not_formulas_or_are_bounded(line: str) -> None:
    started = time.perf_counter()
    for claim in find_claims(line):
        assert claim.error or claim.stated.value is not None
    assert time.perf_counter() - started < 5.0


def test_ten_thousand_digit_line_is_not_a_formula() -> None:
    assert find_claims("1" * 10_000 + " * 2 = 5") == []


def test_unbalanced_bracket_in_prose_is_not_a_claim_but_the_balanced_tail_is() -> None:
    assert claims_of("((1 + 2) = 3") == [("(1 + 2) = 3", ["3", "3"], False)]


# --- properties: our exact evaluation against Python's integers ------------------------------

_leaf = st.integers(min_value=0, max_value=10_000).map(lambda n: (str(n), n))


def _combine(children: st.SearchStrategy) -> st.SearchStrategy:
    def build(parts):
        (left_text, left), op, (right_text, right) = parts
        value = {"+": left + right, "-": left - right, "*": left * right}[op]
        return f"({left_text} {op} {right_text})", value
    return st.tuples(children, st.sampled_from("+-*"), children).map(build)


_expression = st.recursive(_leaf, _combine, max_leaves=12).filter(
    lambda e: not e[0].isdigit())  # a bare number is not a computation


@settings(max_examples=150, deadline=None, database=None)
@given(_expression, st.sampled_from(["*", "\\*", "\\times", "×", "x"]),
       st.booleans())
def test_evaluation_matches_python_integers(expression, times: str, latex: bool) -> None:
    text, value = expression
    if times != "*":
        text = text.replace("*", f" {times} ")
    if latex:
        text = f"${text}$"
    claim = only_claim(f"{text} = {value}")
    assert claim.computed.value == value and claim.mismatch() is None
    wrong = only_claim(f"{text} = {value + 1}")
    assert wrong.mismatch() is not None


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(alphabet="0123456789+-*/^()[]{}=., x×$\\abc", max_size=120))
def test_arbitrary_text_never_raises(text: str) -> None:
    for claim in find_claims(text):
        assert claim.sides
    try:
        evaluate(text)
    except FormulaError as error:
        assert str(error)
