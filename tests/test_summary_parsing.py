"""Summaries of every Keras era, read back and compared with the recomputation.

Expected figures come from real Keras (Keras 3 and tf-keras print the
summaries; the Keras 2.2.4 layout is re-created from tf-keras's figures by
tests.summary_helpers), never from the engine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_kerasparams.check import check_model_file, check_document_summaries, ModelCheck
from pytest_kerasparams.analysis import analyze_file
from pytest_kerasparams.sources.summary import (extract_summaries, find_summaries, parse_shape_text,
                                                parse_summaries)
from tests.keras_oracle import FLAVORS, keras_module
from tests.summary_helpers import (capture_summary, conv_model, functional_model, keras2_print_summary,
                                   sequential_model, write_model)

BUILDS = {"sequential": sequential_model, "functional": functional_model, "conv": conv_model}


def _problems(path: Path) -> list[str]:
    check = check_model_file(path)
    assert check.analysis is not None, [p.render() for p in check.problems]
    return [p.render() for p in check.problems]


def _assert_rows_match_keras(text: str, model) -> None:
    """Every parsed row carries the count Keras gives the layer; totals match Keras's."""
    (summary,) = parse_summaries(text, "summary.txt")
    by_name = {layer.name: layer for layer in model.layers}
    assert len(summary.rows) == len(model.layers)
    for row, layer in zip(summary.rows, model.layers):
        assert row.matches(layer.name, layer.__class__.__name__), (row, layer.name)
        assert row.params == by_name[layer.name].count_params()
    assert summary.totals["total"][0] == model.count_params()


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("build", sorted(BUILDS))
def test_default_summary_reads_back_clean(tmp_path: Path, flavor: str, build: str) -> None:
    keras = keras_module(flavor)
    model, path = write_model(keras, BUILDS[build], tmp_path)
    text = (tmp_path / "summary.txt").read_text()
    _assert_rows_match_keras(text, model)
    assert _problems(path) == []


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("line_length", [50, 70, 120])
def test_wrapped_and_wide_summaries(tmp_path: Path, flavor: str, line_length: int) -> None:
    keras = keras_module(flavor)
    if flavor == "keras3" and line_length > 76:  # cut at the console's edge (80 columns off a terminal)
        model, path = write_model(keras, functional_model, tmp_path, line_length=line_length)
        (summary,) = parse_summaries((tmp_path / "summary.txt").read_text(), "summary.txt")
        assert summary.clipped and summary.rows == []
        assert summary.totals["total"][0] == model.count_params()
        assert _problems(path) == []
        return
    for attempt in range(3):  # names grow a counter (dense_3, concatenate_12 ...) and wrap differently
        folder = tmp_path / str(attempt)
        model, path = write_model(keras, functional_model, folder, line_length=line_length)
        _assert_rows_match_keras((folder / "summary.txt").read_text(), model)
        assert _problems(path) == []


@pytest.mark.parametrize("flavor", FLAVORS)
def test_expand_nested_rows_are_left_to_the_nested_model(tmp_path: Path, flavor: str) -> None:
    keras = keras_module(flavor)
    _, path = write_model(keras, functional_model, tmp_path, expand_nested=True)
    assert _problems(path) == []


def test_tf_keras_show_trainable_column(tmp_path: Path) -> None:
    keras = keras_module("tf_keras")
    _, path = write_model(keras, sequential_model, tmp_path, show_trainable=True)
    assert _problems(path) == []


def test_keras3_optimizer_params_are_not_model_params(tmp_path: Path) -> None:
    keras = keras_module("keras3")
    model = conv_model(keras)
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    text = capture_summary(model)
    assert "Optimizer params" in text
    (summary,) = parse_summaries(text, "summary.txt")
    assert summary.totals["total"][0] - summary.totals["optimizer"][0] == model.count_params()
    (tmp_path / "model.json").write_text(model.to_json())
    (tmp_path / "summary.txt").write_text(text)
    assert _problems(tmp_path / "model.json") == []


def test_keras3_unbuilt_row_is_read_but_not_compared() -> None:
    keras = keras_module("keras3")
    model = keras.Sequential([keras.layers.Dense(3, name="head")], name="lazy")
    text = capture_summary(model)
    (summary,) = parse_summaries(text, "summary.txt")
    (row,) = summary.rows
    assert row.unbuilt and row.params == 0 and row.name == "head"


@pytest.mark.parametrize("flavor", FLAVORS)
def test_wrong_stored_count_is_reported_at_its_line(tmp_path: Path, flavor: str) -> None:
    keras = keras_module(flavor)
    model, path = write_model(keras, conv_model, tmp_path)
    text = (tmp_path / "summary.txt").read_text()
    dense = model.layers[-1]
    count = dense.count_params()
    printed = f"{count:,}" if flavor == "keras3" else str(count)
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.lstrip(" │").startswith(dense.name))
    lines[index] = lines[index].replace(printed, printed[:-1] + str((int(printed[-1]) + 1) % 10), 1)
    (tmp_path / "summary.txt").write_text("\n".join(lines) + "\n")
    problems = check_model_file(path).problems
    assert any(p.line == index + 1 and p.layer == dense.name and "Param #" in p.message for p in problems), \
        [p.render() for p in problems]


# --- Keras 2.0-2.6: fixed columns, names cut at the column ----------------------------------------------


def test_keras2_sequential_layout_cuts_names_at_28_characters(tmp_path: Path) -> None:
    keras = keras_module("tf_keras")
    model = conv_model(keras)
    text = keras2_print_summary(model, sequential=True)
    row_line = next(line for line in text.splitlines() if line.startswith("conv2d_with"))
    assert row_line[:29] == "conv2d_with_a_name_longer_th "  # 28 visible characters, then the overwrite
    (tmp_path / "model.json").write_text(model.to_json())
    (tmp_path / "summary.txt").write_text(text)
    (summary,) = parse_summaries(text, "summary.txt")
    assert summary.style == "keras2"
    assert not summary.rows[0].name_complete
    assert [r.params for r in summary.rows] == [layer.count_params() for layer in model.layers]
    assert _problems(tmp_path / "model.json") == []


def test_keras2_cut_class_names_still_match(tmp_path: Path) -> None:
    keras = keras_module("tf_keras")
    model = sequential_model(keras)
    text = keras2_print_summary(model, sequential=True)
    wrapper = model.layers[2]
    printed = f"{wrapper.name} (TimeDistributed)"[:28]
    assert printed + " " in text  # 28 visible characters, then the overwritten 29th
    (summary,) = parse_summaries(text, "summary.txt")
    cut = next(r for r in summary.rows if r.name == wrapper.name)
    assert "TimeDistributed".startswith(cut.class_name) and not cut.class_complete
    (tmp_path / "model.json").write_text(model.to_json())
    (tmp_path / "summary.txt").write_text(text)
    assert _problems(tmp_path / "model.json") == []


def test_keras2_functional_layout_with_connections(tmp_path: Path) -> None:
    keras = keras_module("tf_keras")
    model = functional_model(keras)
    text = keras2_print_summary(model, sequential=False)
    assert len(text.splitlines()[1]) == 98
    (summary,) = parse_summaries(text, "summary.txt")
    assert summary.connected
    assert [r.params for r in summary.rows] == [layer.count_params() for layer in model.layers]
    (tmp_path / "model.json").write_text(model.to_json())
    (tmp_path / "summary.txt").write_text(text)
    assert _problems(tmp_path / "model.json") == []


def test_keras2_shared_layer_prints_multiple(tmp_path: Path) -> None:
    keras = keras_module("tf_keras")
    layers = keras.layers
    first, second = keras.Input((4,), name="x"), keras.Input((6,), name="y")
    shared = layers.Dense(3, name="shared")
    encoder = layers.Dense(4, name="widen")
    model = keras.Model([first, second], layers.Concatenate()([shared(first), shared(encoder(second))]))
    text = keras2_print_summary(model, sequential=False)
    (summary,) = parse_summaries(text, "summary.txt")
    row = next(r for r in summary.rows if r.name == "shared")
    assert row.output_shape == "multiple" or parse_shape_text(row.output_shape) == (None, 3)
    (tmp_path / "model.json").write_text(model.to_json())
    (tmp_path / "summary.txt").write_text(text)
    assert _problems(tmp_path / "model.json") == []


def test_keras2_cut_shape_is_not_compared() -> None:
    text = ("_" * 98 + "\n" + "Layer (type)                    Output Shape         Param #     Connected to"
            + " " * 22 + "\n" + "=" * 98 + "\n"
            + "conv (Conv2D)                   (None, 224, 224, 128 3584        input[0][0]\n")
    (summary,) = parse_summaries(text, "s.txt")
    assert summary.rows[0].params == 3584
    assert parse_shape_text(summary.rows[0].output_shape) is None


# --- documents: Markdown and notebooks ------------------------------------------------------------------


def test_markdown_summary_found_fenced_and_other_models_ignored(tmp_path: Path) -> None:
    keras = keras_module("keras3")
    model, path = write_model(keras, conv_model, tmp_path / "m", summary=False)
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)], name="unrelated")
    readme = tmp_path / "README.md"
    readme.write_text("# Models\n\nThe conv model:\n\n```\n" + capture_summary(model) + "```\n\n"
                      "And another one:\n\n" + capture_summary(other) + "\nThe end.\n")
    analysis = analyze_file(path)
    found, failures = find_summaries("conv_model", analysis.report.rows, [(readme, "README.md")])
    assert failures == []
    assert [s.model_name for s in found] == ["conv_model"]
    assert readme.read_text().splitlines()[found[0].line - 1].lstrip("┃ ").startswith("Layer (type)")
    check = ModelCheck("m/model.json", analysis)
    assert check_document_summaries(check, [(readme, "README.md")]) == []


def test_markdown_summary_with_a_wrong_count_names_the_line(tmp_path: Path) -> None:
    keras = keras_module("tf_keras")
    model, path = write_model(keras, conv_model, tmp_path / "m", summary=False)
    text = capture_summary(model).replace("Total params: ", "Total params: 1")
    readme = tmp_path / "NOTES.md"
    readme.write_text("Intro\n\n" + text)
    check = ModelCheck("m/model.json", analyze_file(path))
    problems = check_document_summaries(check, [(readme, "NOTES.md")])
    assert len(problems) == 1
    assert readme.read_text().splitlines()[problems[0].line - 1].startswith("Total params: 1")


def _notebook(outputs: list[dict]) -> str:
    cells = [{"cell_type": "code", "execution_count": 1, "metadata": {}, "source": ["model.summary()\n"],
              "outputs": outputs}]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_notebook_stream_output_lines_point_into_the_ipynb(tmp_path: Path, flavor: str) -> None:
    keras = keras_module(flavor)
    model, path = write_model(keras, sequential_model, tmp_path / "m", summary=False)
    lines = capture_summary(model).splitlines(keepends=True)
    notebook = tmp_path / "train.ipynb"
    notebook.write_text(_notebook([{"output_type": "stream", "name": "stdout", "text": lines}]))
    (summary,) = extract_summaries(notebook, "train.ipynb")
    raw = notebook.read_text().splitlines()
    for row in summary.rows:
        assert row.name[:10] in raw[row.line - 1], (row, raw[row.line - 1])
    check = ModelCheck("m/model.json", analyze_file(path))
    assert check_document_summaries(check, [(notebook, "train.ipynb")]) == []


def test_notebook_text_plain_output_and_bad_json(tmp_path: Path) -> None:
    keras = keras_module("keras3")
    model = conv_model(keras)
    notebook = tmp_path / "nb.ipynb"
    notebook.write_text(_notebook([{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                                    "data": {"text/plain": capture_summary(model)}}]))
    (summary,) = extract_summaries(notebook, "nb.ipynb")
    assert [r.params for r in summary.rows] == [layer.count_params() for layer in model.layers]
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    found, failures = find_summaries("conv_model", [], [(broken, "broken.ipynb")])
    assert found == [] and failures and failures[0][0] == "broken.ipynb"


# --- bad input ------------------------------------------------------------------------------------------


def test_row_naming_no_layer_is_a_problem_with_file_and_line(tmp_path: Path) -> None:
    keras = keras_module("keras3")
    model, path = write_model(keras, conv_model, tmp_path)
    flatten = model.layers[3].name
    summary = tmp_path / "summary.txt"
    text = summary.read_text().replace(f"{flatten} (Flatten)", "ghost (Flatten)".ljust(len(flatten) + 10))
    summary.write_text(text)
    problems = check_model_file(path).problems
    ghost = [p for p in problems if "ghost" in p.message]
    assert len(ghost) == 1
    assert ghost[0].file.endswith("summary.txt")
    assert "ghost (Flatten)" in text.splitlines()[ghost[0].line - 1]
    assert any(f"has no row for layer {flatten}" in p.message for p in problems)


def test_summary_that_is_no_table_and_binary_summary(tmp_path: Path) -> None:
    keras = keras_module("keras3")
    _, path = write_model(keras, conv_model, tmp_path)
    (tmp_path / "summary.txt").write_text("just some notes\n")
    (problem,) = check_model_file(path).problems
    assert "holds no model.summary() table" in problem.message
    (tmp_path / "summary.txt").write_bytes(b"\xff\xfe\x00garbage")
    (problem,) = check_model_file(path).problems
    assert "cannot be read as UTF-8" in problem.message


@pytest.mark.parametrize("text", ["(None, 3)", "[(None, 3)]", "[(None, 3), (None, 4)]", "multiple", "?",
                                  "(None, 3", "(None, x)"])
def test_parse_shape_text(text: str) -> None:
    expected = {"(None, 3)": (None, 3), "[(None, 3)]": (None, 3), "[(None, 3), (None, 4)]": [(None, 3), (None, 4)]}
    assert parse_shape_text(text) == expected.get(text)


def test_markdown_table_summary(tmp_path: Path) -> None:
    keras = keras_module("tf_keras")
    model, path = write_model(keras, conv_model, tmp_path, summary=False)
    rows = [f"| {layer.name} ({layer.__class__.__name__}) | {layer.output_shape} | {layer.count_params():,} |"
            for layer in model.layers]
    table = ["| Layer (type) | Output Shape | Param # |", "|---|---|---:|", *rows, "",
             f"Total params: {model.count_params():,}"]
    (tmp_path / "summary.txt").write_text("\n".join(table) + "\n")
    (summary,) = parse_summaries((tmp_path / "summary.txt").read_text(), "summary.txt")
    assert [r.params for r in summary.rows] == [layer.count_params() for layer in model.layers]
    assert _problems(path) == []


def test_arbitrary_text_never_raises() -> None:
    hypothesis = pytest.importorskip("hypothesis")
    strategies = pytest.importorskip("hypothesis.strategies")
    header = "Layer (type)                Output Shape              Param #"
    pieces = strategies.sampled_from([header, " Layer (type)    Output Shape   Param #", "┏━━┳━━┓", "┃ Layer ┃ Param ┃",
                                      "┡━━╇━━┩", "│ a (B) │ (None, 3) │ 12 │", "│ … │ │ │", "x (Dense)   (None, 3)  12",
                                      "Total params: 1,2", "Model: \"m\"", "\t", "|", "___", "(", "…", "0 (unbuilt)"])
    lines = strategies.lists(strategies.one_of(pieces, strategies.text(max_size=40)), max_size=30)

    @hypothesis.given(lines)
    @hypothesis.settings(max_examples=300, deadline=None)
    def run(parts: list[str]) -> None:
        for summary in parse_summaries("\n".join(parts), "s.txt"):
            for row in summary.rows:
                row.matches("dense", "Dense")
                parse_shape_text(row.output_shape)

    run()


@pytest.mark.parametrize("flavor", FLAVORS)
def test_indented_markdown_code_block(tmp_path: Path, flavor: str) -> None:
    keras = keras_module(flavor)
    model, path = write_model(keras, functional_model, tmp_path / "m", summary=False)
    block = "".join("    " + line for line in capture_summary(model, line_length=50).splitlines(keepends=True))
    readme = tmp_path / "README.md"
    readme.write_text("A model:\n\n" + block + "\nDone.\n")
    (summary,) = extract_summaries(readme, "README.md")
    assert summary.style == ("keras3" if flavor == "keras3" else "tf-keras")
    assert [r.params for r in summary.rows] == [layer.count_params() for layer in model.layers]
    check = ModelCheck("m/model.json", analyze_file(path))
    assert check_document_summaries(check, [(readme, "README.md")]) == []


@pytest.mark.parametrize("flavor", FLAVORS)
def test_shared_layer_with_different_shapes_per_call(tmp_path: Path, flavor: str) -> None:
    keras = keras_module(flavor)
    layers = keras.layers
    first, second = keras.Input((5, 4), name="x"), keras.Input((7, 4), name="y")
    shared = layers.Dense(3, name="shared")
    model = keras.Model([first, second], [shared(first), shared(second)], name="shared_model")
    (tmp_path / "model.json").write_text(model.to_json())
    (tmp_path / "summary.txt").write_text(capture_summary(model))
    assert _problems(tmp_path / "model.json") == []
