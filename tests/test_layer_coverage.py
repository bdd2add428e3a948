"""Keep docs/layer-coverage.md honest: every rule is proven against Keras, and the table is current."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "layer_coverage.py"


def _load_script() -> ModuleType:
    """scripts/ is no package; load the file as a module (registered, so its dataclasses resolve)."""
    name = "kerasparams_layer_coverage_script"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


layer_coverage = _load_script()


@pytest.fixture(scope="module")
def coverage():
    pytest.importorskip("keras")
    pytest.importorskip("tf_keras")
    return layer_coverage.collect()


def test_every_rule_for_a_keras_class_is_exercised_by_a_differential_test(coverage):
    untested = coverage.untested()
    offenders = "\n".join(
        f"  {row.name} ({row.family}; in {', '.join(sorted(row.flavors))})" for row in untested)
    assert not untested, (
        f"{len(untested)} layer classes have a built-in rule but no test in tests/differential/ builds them "
        f"with real Keras (assert_agrees_with_keras in both flavors where they exist):\n{offenders}")


def test_layer_coverage_document_is_current(coverage):
    written = layer_coverage.DOC_PATH.read_text(encoding="utf-8") if layer_coverage.DOC_PATH.exists() else ""
    installed = layer_coverage.versions_text(coverage.versions)
    documented = layer_coverage.documented_versions(written)
    if documented is not None and documented != installed:
        pytest.skip(f"docs/layer-coverage.md was generated with {documented}, this environment has {installed}; "
                    "the class lists differ between Keras releases")
    problem = layer_coverage.check_document(coverage=coverage)
    assert problem is None, problem


def test_excluded_names_still_exist(coverage):
    """An exclusion for a class that no flavor exports any more is stale and should go."""
    found = {name for name, _, _ in coverage.excluded}
    assert set(layer_coverage.EXCLUDED) <= found, sorted(set(layer_coverage.EXCLUDED) - found)


# --- the static scan of the differential tests (no Keras needed) ---------------------------------

NAMES = {"Dense", "Average", "LSTM", "GRU", "MaxPooling2D", "GlobalMaxPooling1D", "GlobalAveragePooling3D",
         "AdaptiveMaxPooling1D", "InputLayer", "Conv2D"}


@pytest.mark.parametrize("source, expected", [
    ("keras.layers.Dense(3)", {"Dense"}),
    ("lambda L: L.MaxPooling2D()", {"MaxPooling2D"}),
    ("from keras.layers import Dense\nDense(2)", {"Dense"}),
    ("x = keras.Input((3,))", {"InputLayer"}),
    ('{"class_name": "Conv2D", "config": {}}', {"Conv2D"}),
    ('getattr(layers, "LSTM")(2)', {"LSTM"}),
    ('kind = rng.choice(["LSTM", "GRU"])', {"LSTM", "GRU"}),
    ('for kind in ("Max", "Average"): pass', set()),
    ('if row["class_name"] == "Dense": pass', set()),
    ('"a Dense layer"', set()),
    ('for kind in ("Max", "Average"):\n for rank in (1, 3):\n  getattr(L, f"Global{kind}Pooling{rank}D")',
     {"GlobalMaxPooling1D", "GlobalAveragePooling3D"}),
    ("f'Global{kind}Pooling{rank}D'", set()),
    ("def broken(:\n  Dense", {"Dense"}),
])
def test_references_found_in_differential_sources(source, expected):
    assert layer_coverage.referenced_names(source, NAMES) == expected


@pytest.mark.parametrize("module, package", [
    ("keras.src.layers.convolutional.conv2d", "convolutional"),
    ("tf_keras.src.layers.rnn.base_rnn", "rnn"),
    ("tf_keras.src.layers.kernelized", "kernelized"),
    ("tf_keras.src.engine.input_layer", "engine"),
])
def test_keras_package(module, package):
    assert layer_coverage.keras_package(module) == package


def test_meta_test_names_rules_without_tests(coverage, tmp_path):
    """Without differential tests, every class with a rule is an offender (the check can fail)."""
    bare = layer_coverage.collect(differential_dir=tmp_path)
    assert {row.name for row in bare.untested()} == {row.name for row in coverage.rows if row.has_rule}
    assert "Dense" in {row.name for row in bare.untested()}
