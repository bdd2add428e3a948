"""The shipped JSON Schema: valid files of every era pass, and every error of an invalid one is
reported as ``FILE:LINE:COL: JSON-PATH: message``, from the branch the author meant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_kerasparams.analysis import SchemaErrors, analyze_text
from pytest_kerasparams.jsonfile import decode_json
from pytest_kerasparams.schema import validate

FORMATS = Path(__file__).parent / "fixtures" / "formats"


def _headlines(text: str, name: str = "m.json") -> list[str]:
    return [problem.headline() for problem in validate(decode_json(text.encode("utf-8"), name))]


@pytest.mark.parametrize("path", sorted(FORMATS.glob("*.json")), ids=lambda p: p.name)
def test_every_format_fixture_is_valid(path):
    assert _headlines(path.read_text(encoding="utf-8")) == []


KERAS2_SEQUENTIAL = """{"class_name": "Sequential", "keras_version": "2.1.6", "backend": "tensorflow",
 "config": [
  {"class_name": "Dense", "config": {"name": "d1", "units": 4, "batch_input_shape": [null, 3]}},
  {"class_name": "Dropout", "config": {"name": "drop", "rate": 0.5, "trainable": "yes"}},
  {"class_name": "Dense", "config": {"name": "d2", "units": -3}},
  {"class_name": "Conv1D", "config": {"name": "c", "filters": 0, "kernel_size": [0]}}
 ]}
"""


def test_every_error_is_reported_with_its_location():
    assert _headlines(KERAS2_SEQUENTIAL, "seq.json") == [
        "seq.json:4:82: $.config[1].config.trainable: 'yes' is not of type 'boolean'",
        "seq.json:5:61: $.config[2].config.units: -3 is less than the minimum of 1",
        "seq.json:6:63: $.config[3].config.filters: 0 is less than the minimum of 1",
        "seq.json:6:82: $.config[3].config.kernel_size[0]: 0 is less than the minimum of 1",
    ]


def test_functional_layer_error_has_the_documented_shape():
    layers = [{"name": n, "class_name": "Dense", "config": {"name": n, "units": u}, "inbound_nodes": []}
              for n, u in (("a", 1), ("b", 2), ("c", -3))]
    text = json.dumps({"class_name": "Functional", "config": {
        "name": "m", "layers": layers, "input_layers": [["a", 0, 0]], "output_layers": [["c", 0, 0]]}}, indent=1)
    line = next(i for i, l in enumerate(text.splitlines(), 1) if '"units": -3' in l)
    assert _headlines(text, "FILE") == [
        f"FILE:{line}:15: $.config.layers[2].config.units: -3 is less than the minimum of 1"]


def test_analysis_raises_all_schema_errors():
    with pytest.raises(SchemaErrors) as caught:
        analyze_text(KERAS2_SEQUENTIAL, "seq.json")
    assert len(caught.value.problems) == 4
    assert caught.value.problem.kind == "schema"


def test_keras1_list_config_with_null_input_dim_is_valid():
    """Keras 1 writes ``"input_dim": null`` on later Dense layers; the model branch must be judged."""
    text = json.dumps({"class_name": "Sequential", "keras_version": "1.1.1", "config": [
        {"class_name": "Dense", "config": {"name": "d1", "output_dim": 4, "input_dim": 3,
                                           "batch_input_shape": [None, 3]}},
        {"class_name": "Dense", "config": {"name": "d2", "output_dim": 2, "input_dim": None}}]})
    assert _headlines(text) == []


def test_invalid_list_config_reports_the_model_branch_not_tfjs():
    text = json.dumps({"class_name": "Sequential", "keras_version": "2.0.8", "config": [
        {"class_name": "Dense", "config": {"name": "d1", "units": 0, "batch_input_shape": [None, 3]}}]})
    column = text.index('"units": 0') + len('"units": ') + 1
    assert _headlines(text) == [f"m.json:1:{column}: $.config[0].config.units: 0 is less than the minimum of 1"]


def test_tfjs_errors_point_inside_model_config():
    text = json.dumps({"modelTopology": {"keras_version": "2.12.0", "model_config": {
        "class_name": "Sequential", "config": {"name": "s", "layers": [
            {"class_name": "Dense", "config": {"name": "d", "units": "8", "batch_input_shape": [None, 3]}}]}}},
        "weightsManifest": [{"paths": ["a.bin"], "weights": [{"name": "d/kernel", "shape": [3, -8]}]}]})
    assert [h.split(": ", 1)[1] for h in _headlines(text)] == [
        "$.modelTopology.model_config.config.layers[0].config.units: '8' is not of type 'integer'",
        "$.weightsManifest[0].weights[0].shape[1]: -8 is less than the minimum of 0",
    ]


def test_tfjs_config_directly_in_model_topology():
    text = json.dumps({"modelTopology": {"class_name": "Sequential", "keras_version": "tfjs-layers 4.0.0",
                                         "config": {"name": "s", "layers": []}}})
    assert [h.split(": ", 1)[1] for h in _headlines(text)] == [
        "$.modelTopology.config.layers: [] should be non-empty"]


@pytest.mark.parametrize("endpoints, message", [
    ([["a", -1, 0]], "$.config.output_layers[0][1]: -1 is less than the minimum of 0"),
    (["a", 0, "0"], "$.config.output_layers[2]: '0' is not of type 'integer'"),
    ({"out": ["a", 0]}, "$.config.output_layers.out: ['a', 0] is too short"),
])
def test_endpoint_errors(endpoints, message):
    text = json.dumps({"class_name": "Functional", "config": {
        "name": "m", "layers": [{"name": "a", "class_name": "InputLayer", "inbound_nodes": [],
                                 "config": {"name": "a", "batch_shape": [None, 2]}}],
        "input_layers": [["a", 0, 0]], "output_layers": endpoints}})
    assert [h.split(": ", 1)[1] for h in _headlines(text)] == [message]


@pytest.mark.parametrize("text, message", [
    ("[1]", "$: [1] is not of type 'object'"),
    ('{"class_name": "Conv2D", "config": {}}',
     "$.class_name: 'Conv2D' is not one of ['Sequential', 'Functional', 'Model']"),
])
def test_top_level_errors(text, message):
    assert [h.split(": ", 1)[1] for h in _headlines(text)] == [message]
