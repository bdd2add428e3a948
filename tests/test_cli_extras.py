"""CLI plot, Markdown report and the --oracle / --kerasparams-oracle cross-check."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_kerasparams.cli import main

ROOT = Path(__file__).resolve().parent.parent
MODEL_1 = ROOT / "hourly_models" / "model_1" / "model.json"


def test_plot_mermaid_names_every_layer(capsys):
    assert main(["plot", str(MODEL_1)]) == 0
    out = capsys.readouterr().out
    names = re.findall(r'\["([^"<]*)<br/>', out)
    # model_1: an implied input, then the LSTM and Dense layers the file lists.
    assert names == ["lstm_input", "lstm", "dense"]
    assert out.count("-->") == 2


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_plot_svg_to_file(tmp_path):
    target = tmp_path / "model.svg"
    assert main(["plot", str(MODEL_1), "--format", "svg", "--output", str(target)]) == 0
    assert target.read_text().lstrip().startswith(("<?xml", "<svg"))


def test_plot_never_overwrites_a_model_file(tmp_path, capsys):
    model = tmp_path / "model.json"
    original = MODEL_1.read_bytes()
    model.write_bytes(original)
    assert main(["plot", str(model), "--format", "dot", "--output", str(model)]) == 2
    assert model.read_bytes() == original
    assert "refusing to overwrite" in capsys.readouterr().err


def test_check_markdown_report(capsys):
    assert main(["check", "--format", "markdown", str(ROOT / "hourly_models")]) == 0
    out = capsys.readouterr().out
    assert "5 model(s) checked, 0 with problems." in out
    assert "| `" + str(ROOT / "hourly_models" / "model_1" / "model.json").replace("\\", "/") in out


WRONG_CONFTEST = '''
from pytest_kerasparams import LayerResult, Variable, hookimpl


def dense_without_bias(call):
    """Deliberately wrong: forgets the bias."""
    units = call.get("units")
    return LayerResult(((None, units),), (Variable("kernel", (call.input_shape[-1], units)),))


@hookimpl
def kerasparams_layer_rules():
    return {"Dense": dense_without_bias}
'''


def test_pytest_oracle_finds_a_wrong_conftest_rule(pytester):
    if importlib.util.find_spec("tf_keras") is None:  # checked without importing: the run is a subprocess
        pytest.skip("tf-keras is not installed")
    pytester.makeconftest(WRONG_CONFTEST)
    folder = pytester.mkdir("m")
    shutil.copy(MODEL_1, folder / "model.json")
    without = pytester.runpytest_subprocess("m", "-p", "no:cacheprovider")
    without.assert_outcomes(passed=1)  # the wrong rule agrees with itself: only Keras can tell
    result = pytester.runpytest_subprocess("m", "-p", "no:cacheprovider", "--kerasparams-oracle")
    result.assert_outcomes(failed=1)
    # Keras: 100 inputs x 48 units + 48 biases = 4,848; the wrong rule forgets the 48 biases.
    result.stdout.fnmatch_lines([
        "*the rule for Dense from plugin 'conftest:*conftest.py' disagrees with Keras on layer dense*",
        "*params: Keras 4,848, rule 4,800*",
    ])


def test_cli_oracle_agrees_on_hourly_models():
    if importlib.util.find_spec("tf_keras") is None:  # checked without importing: the run is a subprocess
        pytest.skip("tf-keras is not installed")
    run = subprocess.run([sys.executable, "-m", "pytest_kerasparams.cli", "check", "--oracle",
                          str(ROOT / "hourly_models")], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "5 passed, 0 failed" in run.stdout
