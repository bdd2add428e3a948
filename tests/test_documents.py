"""Formulas in Markdown files and notebooks, checked against the models they describe.

The five hourly forecasting models are built with tf_keras and written with
``model.to_json()``; every figure the checker compares against is recomputed
from those configs (and the totals are cross-checked with Keras itself).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_kerasparams.analysis import analyze_file
from pytest_kerasparams.formulas import format_value
from pytest_kerasparams.sources import documents
from pytest_kerasparams.sources.documents import audit_document, check_documents, find_documents

REPO_ROOT = Path(__file__).resolve().parents[1]
SEED = REPO_ROOT.parent / "shared" / "seed" / "000_8faed4c2a0b25f0c.txt"


def _build(keras: Any) -> dict[str, Any]:
    layers = keras.layers

    def sequential(*stack: Any) -> Any:
        return keras.Sequential(list(stack))

    return {
        "model_1": sequential(layers.Input((48, 1)), layers.LSTM(100), layers.Dense(48)),
        "model_2": sequential(layers.Input((48, 1)), layers.LSTM(100), layers.RepeatVector(48),
                              layers.LSTM(100, return_sequences=True),
                              layers.TimeDistributed(layers.Dense(50)), layers.TimeDistributed(layers.Dense(1))),
        "model_4": sequential(layers.Input((72, 8)), layers.LSTM(200), layers.RepeatVector(48),
                              layers.LSTM(200, return_sequences=True),
                              layers.TimeDistributed(layers.Dense(100)), layers.TimeDistributed(layers.Dense(1))),
        "model_5": sequential(layers.Input((72, 8)), layers.Conv1D(64, 3), layers.MaxPooling1D(2),
                              layers.Conv1D(64, 3), layers.MaxPooling1D(2), layers.Flatten(),
                              layers.RepeatVector(48), layers.LSTM(200, return_sequences=True),
                              layers.TimeDistributed(layers.Dense(100)), layers.TimeDistributed(layers.Dense(1))),
        "model_6": sequential(layers.Input((3, 1, 24, 8)), layers.ConvLSTM2D(64, (1, 3), padding="same"),
                              layers.Flatten(), layers.RepeatVector(48), layers.LSTM(200, return_sequences=True),
                              layers.TimeDistributed(layers.Dense(100)), layers.TimeDistributed(layers.Dense(1))),
    }


@pytest.fixture(scope="module")
def hourly(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """``ROOT/hourly_models/model_N/model.json`` for the five models, and their analyses."""
    keras = pytest.importorskip("tf_keras")
    root = tmp_path_factory.mktemp("project")
    analyses: dict[str, Any] = {}
    for folder, model in _build(keras).items():
        path = root / "hourly_models" / folder / "model.json"
        path.parent.mkdir(parents=True)
        path.write_text(model.to_json(), encoding="utf-8")
        analysis = analyze_file(path)
        assert analysis.report.total == model.count_params()  # Keras is the oracle
        analyses[str(path)] = analysis
    return root, analyses


def _layer(analyses: dict[str, Any], folder: str, class_name: str, ordinal: int) -> str:
    """The name of the ``ordinal``-th layer of ``class_name`` in model ``folder``."""
    [report] = [a.report for p, a in analyses.items() if Path(p).parent.name == folder]
    return [r.name for r in report.layers if r.class_name == class_name][ordinal - 1]


# A document of our own, in the notations such notes use. Two formulas are wrong:
# the per-filter count of the second Conv1D (68, should be 193) and the ConvLSTM2D total
# (5,552, should be 55,552).
NOTES = r"""
# How many weights do the hourly forecasters learn?

All models live under `hourly_models/`; each section loads one and derives its counts by hand.
Symbolically, an LSTM learns params = 4 * units * (features + units + 1) weights; batch_size=None, n_steps=48.

```python
vanilla = load_model_json("hourly_models/model_1/model.json")
units = 100 * 4
```

## The vanilla LSTM

**Layer 1: LSTM**

- One gate sees the 100 previous states, the single input feature and a bias:
  (100 states-before + 1 feature + 1 bias) \* 100 units-after, which is 10200 weights per gate.
- Four gates: 10,200 × 4 = 40,800.

**Output Layer:**

- Per output: (100 states + 1 bias) \* (1\_output) = 101 weights.
- All 48 outputs: $101 \times 48 = 4848$.

## Encoder-decoder, one feature

```python
seq2seq = load_model_json("./hourly_models/model_2/model.json")
```

### LSTM Encoder

$$(1 \text{ feature} + 100 \text{ units} + 1) \cdot 100 \cdot 4 = 40\,800$$

### LSTM Decoder

The decoder reads 100 features from the repeated encoder state: $[100 + 100 + 1] * 100 * 4$ (gates) = 80400

### Time Distributed Layer1

(100 cells + 1 bias) × 50 = 5,050

### Time Distributed Layer2

$(50 + 1) \times 1 = 51$ → shared by all 48 steps

## Encoder-decoder, eight features (hourly_models/model_4)

##### Encoder:

(8 features + 200 states + 1 bias) x 200 x 4 = 167,200

##### Decoder:

\[ (200 \text{ prev} + 200 \text{ from encoder} + 1) \times 200 \times 4 = 320800 \]

#### Time Distributed Layer 1:

(200 + 1) * 100 = 20100

#### Time Distributed Layer 2:

(100 + 1) * 1 = 101

## CNN-LSTM

```python
cnn = load_model_json("hourly_models/model_5/model.json")
```

### Input

72 hourly steps = 3 days * 24 hours, with 8 features each.

### Conv1D Layer 1

- Each filter: 3 \* 8 channels + 1 bias = 25 weights, so 64 \* 25 = 1600 in all.
- Output steps: ((72 + 2\*0) - 3) / 1 + 1 = 70 steps, 64 channels.

### MaxPool1D

- Output: (70/2, 64) = (35, 64).

### Conv1D Layer 2

- One filter: (3 kernel \* 64 channels in + 1 bias) = 68 weights.
- All filters: (3 \* 64 + 1) \* 64 = 12352.
- Steps: 35 - 3 + 1 = 33

### MaxPool1D

- Steps: 33 / 2 = 16 (floored).

### Flatten

16 \* 64 = 1024

### Repeat Vecotor to 48 output steps

### LSTM Layer 1

{1024 inputs + 200 states + 1 bias} * 200 * 4 gates = 980,000

### Time distributed dense

(200 + 1) * 100 = 20100

### Time distributed dense

(100 + 1) * 1 = 101

## ConvLSTM

```python
conv_lstm = load_model_json("hourly_models/model_6/model.json")
```

### ConvLSTM2D: Encoder

- A 1 × 3 window over 8 input channels plus a bias: 1 × 3 × 8 + 1 = 25.
- number of parameters = 4 * output channels * (rows * columns * (in + out) + 1)
- 4 gates × 64 filters × (1 × 3 × (8 + 64) + 1) = 5,552
- Output shape: (1, 24, 64)

### Flatten

Flat size = $1 * 24 * 64 = 1536$

### Decoder LSTM

(1536 + 200 + 1) * 200 * 4 = 1,389,600

### Time distributed dense

(200 + 1) * 100 = 20100

### Time distributed dense

(100 + 1) * 1 = 101
"""

# (stated result, model folder, layer class, which one of that class) for every formula in NOTES.
EXPECTED = [
    ("10,200", "model_1", "LSTM", 1), ("40,800", "model_1", "LSTM", 1),
    ("101", "model_1", "Dense", 1), ("4,848", "model_1", "Dense", 1),
    ("40,800", "model_2", "LSTM", 1), ("80,400", "model_2", "LSTM", 2),
    ("5,050", "model_2", "TimeDistributed", 1), ("51", "model_2", "TimeDistributed", 2),
    ("167,200", "model_4", "LSTM", 1), ("320,800", "model_4", "LSTM", 2),
    ("20,100", "model_4", "TimeDistributed", 1), ("101", "model_4", "TimeDistributed", 2),
    ("72", "model_5", "InputLayer", 1),
    ("25", "model_5", "Conv1D", 1), ("1,600", "model_5", "Conv1D", 1), ("70", "model_5", "Conv1D", 1),
    ("(35, 64)", "model_5", "MaxPooling1D", 1),
    ("68", "model_5", "Conv1D", 2), ("12,352", "model_5", "Conv1D", 2), ("33", "model_5", "Conv1D", 2),
    ("16", "model_5", "MaxPooling1D", 2), ("1,024", "model_5", "Flatten", 1),
    ("980,000", "model_5", "LSTM", 1),
    ("20,100", "model_5", "TimeDistributed", 1), ("101", "model_5", "TimeDistributed", 2),
    ("25", "model_6", "ConvLSTM2D", 1), ("5,552", "model_6", "ConvLSTM2D", 1),
    ("1,536", "model_6", "Flatten", 1), ("1,389,600", "model_6", "LSTM", 1),
    ("20,100", "model_6", "TimeDistributed", 1), ("101", "model_6", "TimeDistributed", 2),
]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(text: str, fragment: str) -> int:
    [number] = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    return number


def _assert_the_two_known_errors(problems: list[Any], document: Path, text: str, analyses: dict[str, Any],
                                 per_filter_line: str, total_line: str) -> None:
    assert [p.kind for p in problems] == ["formula", "formula"], [p.render() for p in problems]
    per_filter, total = problems
    conv = _layer(analyses, "model_5", "Conv1D", 2)
    assert per_filter.headline().startswith(f"{document}:{_line_of(text, per_filter_line)}:")
    assert per_filter.layer == conv
    assert per_filter_line in per_filter.explanation  # the line as the author wrote it
    assert "the left side is 193, not 68" in per_filter.message
    assert "68" in per_filter.explanation and "= 193" in per_filter.explanation
    assert "(3 kernel × 64 input channels + 1 bias) × 64 filters = 12,352" in per_filter.explanation
    assert "per filter" in per_filter.explanation

    conv_lstm = _layer(analyses, "model_6", "ConvLSTM2D", 1)
    assert total.headline().startswith(f"{document}:{_line_of(text, total_line)}:")
    assert total.layer == conv_lstm
    assert "the left side is 55,552, not 5,552" in total.message
    assert "55,552" in total.explanation and "parameter count" in total.explanation
    assert "× 64 filters × 4 gates = 55,552" in total.explanation  # the layer's own derivation


def test_own_notes_find_exactly_the_two_wrong_formulas(hourly: tuple[Path, dict[str, Any]]) -> None:
    root, analyses = hourly
    document = _write(root / "NOTES.md", NOTES)
    problems = check_documents([document], analyses)
    _assert_the_two_known_errors(problems, document, NOTES, analyses,
                                 "(3 kernel \\* 64 channels in + 1 bias) = 68", "(8 + 64) + 1) = 5,552")


def test_every_formula_is_attributed_to_the_right_layer(hourly: tuple[Path, dict[str, Any]]) -> None:
    root, analyses = hourly
    document = _write(root / "NOTES.md", NOTES)
    checks, _ = audit_document(document, analyses)
    found = [(format_value(c.claim.stated.value), Path(c.model).parent.name if c.model else None, c.layer)
             for c in checks]
    expected = [(value, folder, _layer(analyses, folder, class_name, ordinal))
                for value, folder, class_name, ordinal in EXPECTED]
    assert found == expected


@pytest.mark.skipif(not SEED.exists(), reason=f"the seed notebook export {SEED} is not available")
def test_seed_notebook_export_has_exactly_two_disagreements(hourly: tuple[Path, dict[str, Any]]) -> None:
    root, analyses = hourly
    text = SEED.read_text(encoding="utf-8")
    document = _write(root / "parameter_calculation.md", text)
    checks, problems = audit_document(document, analyses)
    assert len(checks) >= 25  # every formula was found ...
    assert all(c.layer is not None for c in checks)  # ... and attributed to a layer
    _assert_the_two_known_errors(problems, document, text, analyses, "= 68 param", "= 5552$")


@pytest.mark.skipif(not SEED.exists() or not (REPO_ROOT / "hourly_models" / "model_6" / "model.json").exists(),
                    reason="needs the seed notebook export and the repository's hourly_models/ folder")
def test_seed_against_the_repository_models(tmp_path: Path) -> None:
    """The same two disagreements against the model files kept in the repository."""
    analyses = {str(path): analyze_file(path)
                for path in sorted((REPO_ROOT / "hourly_models").glob("model_*/model.json"))}
    document = _write(tmp_path / "parameter_calculation.md", SEED.read_text(encoding="utf-8"))
    checks, problems = audit_document(document, analyses)
    assert len(checks) >= 25 and all(c.layer is not None for c in checks)
    assert [(p.kind, p.data["stated"], p.data["evaluated"]) for p in problems] == [
        ("formula", "68", "193"), ("formula", "5,552", "55,552")]


def _notebook(cells: list[tuple[str, str]]) -> str:
    return json.dumps({
        "cells": [{"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True),
                   **({"outputs": [], "execution_count": None} if kind == "code" else {})}
                  for kind, source in cells],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }, indent=1)


def _notes_as_notebook() -> list[tuple[str, str]]:
    """NOTES split into cells: fenced code becomes code cells, the rest markdown cells."""
    cells: list[tuple[str, str]] = []
    markdown: list[str] = []
    code: list[str] | None = None
    for line in NOTES.splitlines():
        if line.startswith("```"):
            if code is None:
                if markdown:
                    cells.append(("markdown", "\n".join(markdown)))
                markdown, code = [], []
            else:
                cells.append(("code", "\n".join(code)))
                code = None
        elif code is not None:
            code.append(line)
        else:
            markdown.append(line)
    cells.append(("markdown", "\n".join(markdown)))
    return cells


def test_notebooks_are_checked_cell_by_cell(hourly: tuple[Path, dict[str, Any]]) -> None:
    root, analyses = hourly
    text = _notebook(_notes_as_notebook())
    document = _write(root / "analysis.ipynb", text)
    problems = check_documents([document], analyses)
    assert len(problems) == 2, [p.render() for p in problems]
    cells = _notes_as_notebook()
    for problem, fragment in zip(problems, ["= 68 weights", "= 5,552"]):
        [(cell, line)] = [(n, m) for n, (_, source) in enumerate(cells, start=1)
                          for m, row in enumerate(source.splitlines(), start=1) if fragment in row]
        assert f"(cell {cell}, line {line})" in problem.message
        file_line = _line_of(text, fragment)  # the JSON string holding that source line
        assert problem.headline().startswith(f"{document}:{file_line}:")
    checks, _ = audit_document(document, analyses)
    assert len(checks) == len(EXPECTED)


@pytest.mark.parametrize("content, message", [
    ("{not json", "is not a valid Jupyter notebook: is not valid JSON"),
    ('{"cells": 3}', "is not a Jupyter notebook"),
    ("[]", "is not a Jupyter notebook"),
    ("", "is not a valid Jupyter notebook"),
])
def test_a_broken_notebook_is_one_clear_problem(tmp_path: Path, content: str, message: str) -> None:
    document = _write(tmp_path / "broken.ipynb", content)
    problems = check_documents([document], {})
    assert len(problems) == 1
    assert message in problems[0].message and problems[0].file == str(document)


def test_odd_notebook_cells_are_skipped(hourly: tuple[Path, dict[str, Any]]) -> None:
    root, analyses = hourly
    content = json.dumps({"cells": [
        "not a cell", {"cell_type": "markdown"}, {"cell_type": "markdown", "source": 5},
        {"cell_type": "raw", "source": "hourly_models/model_5/model.json (3 * 64 + 1) = 68"},
        {"cell_type": "code", "source": "open('hourly_models/model_5/model.json')"},
        {"cell_type": "markdown", "source": "### Conv1D layer 2\n(3 * 64 + 1) = 68"},
    ]})
    document = _write(root / "odd.ipynb", content)
    [problem] = check_documents([document], analyses)
    assert "(cell 6, line 2)" in problem.message and problem.line == 1  # a one-line JSON file


def test_right_arithmetic_about_the_wrong_layer_fails(hourly: tuple[Path, dict[str, Any]]) -> None:
    """model_4's encoder documented with model_2's figures: 40,800 is right arithmetic, wrong model."""
    root, analyses = hourly
    text = ("# Encoder-decoder with eight features\n\n## Encoder\n\n"
            "(100 + 1 + 1) \\* 100 \\* 4 = 40800\n\n## Decoder\n\n(200 + 200 + 1) * 200 * 4 = 320800\n")
    document = _write(root / "hourly_models" / "model_4" / "README.md", text)
    [problem] = check_documents([document], analyses)
    encoder = _layer(analyses, "model_4", "LSTM", 1)
    assert problem.headline().startswith(f"{document}:5:")
    assert problem.layer == encoder
    assert f"about layer {encoder} (LSTM) of " in problem.message
    assert "40,800 is none of its figures" in problem.message
    assert "(8 input features + 200 recurrent units + 1 bias) × 200 units × 4 gates = 167,200" \
        in problem.explanation
    assert "does not have: 100" in problem.explanation  # the term that is wrong


def test_output_shapes_and_dimensions_are_meanings_too(hourly: tuple[Path, dict[str, Any]]) -> None:
    root, analyses = hourly
    text = ("### Conv1D layer 1\n(72 - 3) / 1 + 1 = 70\n(72 - 3) / 1 + 1, 64 = 70\n"
            "### MaxPool1D\n(70/2, 64) = (35, 64)\n(70/2, 32) = (35, 32)\n70 / 2 = 34 + 1\n"
            "### Conv1D layer 2\nits input: 70 / 2 = 35; (35 - 3) / 1 + 1 = 33 steps\n"
            "whole model: 1600 + 12352 + 980000 + 20100 + 101 = 1,014,153\n(35 - 3) / 1 + 1 = 32\n")
    document = _write(root / "hourly_models" / "model_5" / "shapes.md", text)
    problems = check_documents([document], analyses)
    assert [p.line for p in problems] == [6, 11], [p.render() for p in problems]
    assert "(35, 32) is none of its figures" in problems[0].message


def test_sentences_naming_class_and_position_switch_layers(hourly: tuple[Path, dict[str, Any]]) -> None:
    root, analyses = hourly
    text = ("Notes on hourly_models/model_5/model.json.\n\n"
            "The second Conv1D learns (3 * 64 + 1) * 64 = 12352 weights.\n"
            "Conv1D layer 1 learns (3 * 8 + 1) * 64 = 1600.\n"
            "The LSTM layer gets its input from the flatten layer: (1024 + 200 + 1) * 200 * 4 = 980000.\n")
    document = _write(root / "sentences.md", text)
    checks, problems = audit_document(document, analyses)
    assert [c.layer for c in checks] == [_layer(analyses, "model_5", "Conv1D", 2),
                                         _layer(analyses, "model_5", "Conv1D", 1),
                                         _layer(analyses, "model_5", "Conv1D", 1)]
    # a class named in passing, without a position, is not a new section: "the LSTM layer" is not enough
    assert [p.line for p in problems] == [5]


def test_setext_headings_and_table_rows_name_layers(hourly: tuple[Path, dict[str, Any]]) -> None:
    root, analyses = hourly
    text = ("Conv1D layer 2\n--------------\n\n(3 * 64 + 1) * 64 = 12352\n\n"
            "| layer | parameters |\n|---|---|\n| Conv1D 1 | (3 × 8 + 1) × 64 = 1,600 |\n"
            "| LSTM 1 | (1024 + 200 + 1) × 200 × 4 = 980,000 |\n| Conv1D 1 | (3 × 8 + 1) × 64 = 1,700 |\n")
    document = _write(root / "hourly_models" / "model_5" / "table.md", text)
    checks, problems = audit_document(document, analyses)
    assert [c.layer for c in checks] == [_layer(analyses, "model_5", *which) for which in
                                         [("Conv1D", 2), ("Conv1D", 1), ("LSTM", 1), ("Conv1D", 1)]]
    assert [p.line for p in problems] == [10] and "the left side is 1,600, not 1,700" in problems[0].message


def test_attribution_follows_model_mentions(hourly: tuple[Path, dict[str, Any]]) -> None:
    root, analyses = hourly
    text = ("# Scratch\n\n(1 + 1) * 2 = 5 is not about any model.\n\n"
            "See `model_1/model.json`:\n\n### Output layer\n\n(100 + 1) * 48 = 4848\n\n"
            "Now `hourly_models/model_2/`:\n\n(100 + 1) * 48 = 4847\n\n"
            "and model.json alone names nothing: (100 + 1) * 48 = 4849\n")
    document = _write(root / "docs" / "scratch.md", text)
    checks, problems = audit_document(document, analyses)
    assert [(c.model and Path(c.model).parent.name, c.layer) for c in checks] == [
        ("model_1", _layer(analyses, "model_1", "Dense", 1)), ("model_2", None), ("model_2", None)]
    assert [p.line for p in problems] == [13, 15]  # arithmetic only, no layer named
    assert all("not 4,84" in p.message for p in problems)


def test_find_documents_walks_up_to_rootdir(hourly: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    root = tmp_path
    model = _write(root / "a" / "b" / "model_1" / "model.json", "{}")
    wanted = [_write(root / "a" / "b" / "model_1" / "NOTES.md", ""),
              _write(root / "a" / "b" / "model_1" / "explore.ipynb", "{}"),
              _write(root / "a" / "overview.md", ""),
              _write(root / "README.md", "")]
    _write(root.parent / f"{root.name}-outside.md", "")
    _write(root / "a" / "b" / "model_1" / "sub" / "deeper.md", "")
    _write(root / "a" / "b" / "model_1" / "data.txt", "")
    _write(root / "a" / "sibling" / "other.md", "")
    assert sorted(find_documents(model, root)) == sorted(str(p) for p in wanted)
    assert find_documents(model, root / "a" / "b" / "model_1") == [str(p) for p in sorted(wanted[:2])]
    assert sorted(find_documents(model, root / "elsewhere")) == sorted(str(p) for p in wanted[:2])


def test_formula_that_cannot_be_evaluated_is_reported_clearly(hourly: tuple[Path, dict[str, Any]]) -> None:
    root, analyses = hourly
    text = "### Flatten\n9**9**9 = 1024\n16 / (4 - 4) = 1024\n16 * 64 = 1024\n"
    document = _write(root / "hourly_models" / "model_5" / "hostile.md", text)
    problems = check_documents([document], analyses)
    assert [p.line for p in problems] == [2, 3]
    assert "exponent" in problems[0].message and "division by zero" in problems[1].message


def test_huge_documents_are_bounded(hourly: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    root, analyses = hourly
    block = "### Conv1D layer 2\n(3 \\* 64 + 1) \\* 64 = 12352 and (3 * 64 + 1) = 68\n" + "filler text. " * 40 + "\n"
    document = _write(root / "hourly_models" / "model_5" / "huge.md", block * 1000)  # 0.6 MB, 2,000 formulas
    started = time.perf_counter()
    problems = check_documents([document], analyses)
    assert time.perf_counter() - started < 20
    assert len(problems) == documents.MAX_PROBLEMS_PER_DOCUMENT + 1
    assert problems[-1].kind == "limit" and "800 more" in problems[-1].message
    one_line = _write(root / "hourly_models" / "model_5" / "one_line.md",
                      "a" * 2_000_000 + " hourly_models/model_5/model.json (1 + 1) = 3\n"
                      + "**" + "x" * 100_000 + "\n" + "/a" * 100_000 + "\n`" + "b" * 100_000 + "\n")
    started = time.perf_counter()
    assert check_documents([one_line], analyses) == []
    assert time.perf_counter() - started < 10
    monkeypatch.setattr(documents, "MAX_DOCUMENT_BYTES", 1000)
    [problem] = check_documents([document], analyses)
    assert problem.kind == "limit" and "over the limit of 1,000 bytes" in problem.message


def test_documents_without_models_or_formulas_are_quiet(tmp_path: Path) -> None:
    document = _write(tmp_path / "README.md", "# Title\n\n(1 + 1) * 2 = 5\n")
    assert check_documents([document], {}) == []
    assert check_documents([tmp_path / "missing.md"], {})[0].message.startswith("cannot be read")
    binary = tmp_path / "binary.md"
    binary.write_bytes(os.urandom(2000) + b"\n(1 + 1) = 3\n")
    assert check_documents([binary], {}) == []
