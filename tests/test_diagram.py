"""Diagrams: rendered by Graphviz and parsed from Mermaid, checked against the model files themselves."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from pytest_kerasparams.analysis import analyze_file, analyze_text
from pytest_kerasparams.diagram import build_diagram, render_with_graphviz, to_dot, to_mermaid

ROOT = Path(__file__).resolve().parent.parent
HOURLY = sorted((ROOT / "hourly_models").glob("*/model.json"))

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


def _expected_sequential(path: Path) -> tuple[list[str], set[tuple[str, str]]]:
    """Layer names and chain edges read straight from a Sequential file, with Keras's implied input."""
    layers = json.loads(path.read_text())["config"]["layers"]
    names = [f"{layers[0]['config']['name']}_input"] + [layer["config"]["name"] for layer in layers]
    return names, set(zip(names, names[1:]))


def _graphviz_graph(dot_source: str) -> tuple[list[str], set[tuple[str, str]]]:
    rendered = json.loads(render_with_graphviz(dot_source, "json"))
    names = {obj["_gvid"]: obj["label"].split("\\n")[0] for obj in rendered["objects"] if "label" in obj}
    edges = {(names[e["tail"]], names[e["head"]]) for e in rendered.get("edges", [])}
    return list(names.values()), edges


def _mermaid_graph(text: str) -> tuple[list[str], set[tuple[str, str]]]:
    labels = dict(re.findall(r'^\s*(n\d+)\["([^"<]*)<br/>', text, re.MULTILINE))
    edges = {(labels[a], labels[b]) for a, b in re.findall(r"^\s*(n\d+) --> (n\d+)$", text, re.MULTILINE)}
    return list(labels.values()), edges


@needs_dot
@pytest.mark.parametrize("path", HOURLY, ids=lambda p: p.parent.name)
def test_hourly_model_dot_renders_with_every_layer_and_edge(path):
    expected_names, expected_edges = _expected_sequential(path)
    analysis = analyze_file(path)
    names, edges = _graphviz_graph(to_dot(build_diagram(analysis.report, "m")))
    assert names == expected_names
    assert edges == expected_edges


@pytest.mark.parametrize("path", HOURLY, ids=lambda p: p.parent.name)
def test_hourly_model_mermaid_has_every_layer_and_edge(path):
    expected_names, expected_edges = _expected_sequential(path)
    names, edges = _mermaid_graph(to_mermaid(build_diagram(analyze_file(path).report, "m")))
    assert names == expected_names
    assert edges == expected_edges


MULTI_INPUT = {
    "class_name": "Functional", "keras_version": "2.13.1", "config": {
        "name": "two_towers",
        "layers": [
            {"class_name": "InputLayer", "name": "text", "inbound_nodes": [],
             "config": {"name": "text", "batch_input_shape": [None, 20]}},
            {"class_name": "InputLayer", "name": "image", "inbound_nodes": [],
             "config": {"name": "image", "batch_input_shape": [None, 8]}},
            {"class_name": "Dense", "name": "text_dense", "config": {"name": "text_dense", "units": 4},
             "inbound_nodes": [[["text", 0, 0, {}]]]},
            {"class_name": "Dense", "name": "image_dense", "config": {"name": "image_dense", "units": 4},
             "inbound_nodes": [[["image", 0, 0, {}]]]},
            {"class_name": "Concatenate", "name": "joined", "config": {"name": "joined", "axis": -1},
             "inbound_nodes": [[["text_dense", 0, 0, {}], ["image_dense", 0, 0, {}]]]},
            {"class_name": "Dense", "name": "score", "config": {"name": "score", "units": 1},
             "inbound_nodes": [[["joined", 0, 0, {}]]]},
            {"class_name": "Dense", "name": "aux", "config": {"name": "aux", "units": 2},
             "inbound_nodes": [[["image_dense", 0, 0, {}]]]},
        ],
        "input_layers": [["text", 0, 0], ["image", 0, 0]],
        "output_layers": [["score", 0, 0], ["aux", 0, 0]],
    }}


def _expected_functional(config: dict) -> tuple[list[str], set[tuple[str, str]]]:
    layers = config["config"]["layers"]
    edges = {(ref[0], layer["name"]) for layer in layers for node in layer["inbound_nodes"] for ref in node}
    return [layer["name"] for layer in layers], edges


@needs_dot
def test_multi_input_functional_model_renders_its_real_graph():
    expected = _expected_functional(MULTI_INPUT)
    report = analyze_text(json.dumps(MULTI_INPUT)).report
    names, edges = _graphviz_graph(to_dot(build_diagram(report, "two_towers")))
    assert (names, edges) == expected
    assert _mermaid_graph(to_mermaid(build_diagram(report, "two_towers"))) == expected


def test_wrapper_shows_its_inner_layer():
    text = to_mermaid(build_diagram(analyze_file(HOURLY[1]).report, "m"))
    assert "TimeDistributed(Dense)" in text


def test_nested_model_as_cluster_or_collapsed():
    inner = {"class_name": "Sequential", "config": {"name": "block", "layers": [
        {"class_name": "InputLayer", "config": {"name": "block_in", "batch_input_shape": [None, 6]}},
        {"class_name": "Dense", "config": {"name": "inner_a", "units": 5}},
        {"class_name": "Dense", "config": {"name": "inner_b", "units": 3}}]}}
    outer = {"class_name": "Functional", "keras_version": "2.13.1", "config": {
        "name": "outer", "layers": [
            {"class_name": "InputLayer", "name": "x", "inbound_nodes": [],
             "config": {"name": "x", "batch_input_shape": [None, 6]}},
            dict(inner, name="block", inbound_nodes=[[["x", 0, 0, {}]]]),
            {"class_name": "Dense", "name": "head", "config": {"name": "head", "units": 1},
             "inbound_nodes": [[["block", 1, 0, {}]]]}],
        "input_layers": [["x", 0, 0]], "output_layers": [["head", 0, 0]]}}
    report = analyze_text(json.dumps(outer)).report
    collapsed = _mermaid_graph(to_mermaid(build_diagram(report, "outer")))
    assert collapsed == (["x", "block", "head"], {("x", "block"), ("block", "head")})
    clustered_text = to_mermaid(build_diagram(report, "outer", nested="cluster"))
    names, edges = _mermaid_graph(clustered_text)
    assert names == ["x", "head", "block_in", "inner_a", "inner_b"]
    assert edges == {("x", "block_in"), ("block_in", "inner_a"), ("inner_a", "inner_b"), ("inner_b", "head")}
    assert "subgraph" in clustered_text
