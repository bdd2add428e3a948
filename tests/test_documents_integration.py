"""Documents through the front ends: pytest items and `explain --format markdown` output."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from pytest_kerasparams.analysis import analyze_text
from pytest_kerasparams.explain import explain_model_markdown
from pytest_kerasparams.sources.documents import audit_document

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT.parent / "shared" / "seed" / "000_8faed4c2a0b25f0c.txt"


def test_seed_notes_beside_hourly_models_fail_exactly_two_models(pytester):
    if not SEED.is_file():
        pytest.skip("the seed notebook export is not beside this checkout")
    shutil.copytree(ROOT / "hourly_models", pytester.path / "hourly_models")
    for readme in (pytester.path / "hourly_models").glob("*/README.md"):
        readme.unlink()  # only the seed's own formulas are under test here
    shutil.copy(SEED, pytester.path / "notes.md")
    result = pytester.runpytest("hourly_models", "-p", "no:cacheprovider", "-rf")
    result.assert_outcomes(passed=3, failed=2)
    text = result.stdout.str()
    # conv1d_1: 3 kernel x 64 channels + 1 bias is 193 per filter, not 68.
    assert "formula '(3 kernel * 64 input channels + 1 bias) = 68'" in text
    assert "the left side is 193, not 68" in text
    # conv_lstm2d_3: [1 x 3 x (8 + 64) + 1] x 64 x 4 is 55,552, not 5,552.
    assert "the left side is 55,552, not 5,552" in text
    assert len(re.findall(r"^notes\.md:\d+: formula", text, re.MULTILINE)) == 2


WRONG_LAYER_NOTES = """# Encoder-decoder notes

Loaded from `{path}`.

## LSTM Encoder

(100 + 1 + 1) * 100 * 4 = 40800
"""


def test_right_arithmetic_about_the_wrong_layer_fails_the_item(pytester):
    folder = pytester.path / "model_4"
    shutil.copytree(ROOT / "hourly_models" / "model_4", folder)
    (folder / "README.md").unlink()
    (pytester.path / "notes.md").write_text(WRONG_LAYER_NOTES.format(path="model_4/model.json"))
    result = pytester.runpytest("model_4", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    # model_4's encoder has 8 input features and 200 units: (8 + 200 + 1) x 200 x 4 = 167,200.
    result.stdout.fnmatch_lines(["*notes.md:7: formula*40800*lstm (LSTM)*",
                                 "*(8 input features + 200 recurrent units + 1 bias) × 200 units × 4 gates = 167,200*"])


def _functional(layers: list[dict], inputs: list[str], outputs: list[str]) -> str:
    return json.dumps({"class_name": "Functional", "keras_version": "2.13.1", "config": {
        "name": "documented", "layers": layers,
        "input_layers": [[n, 0, 0] for n in inputs], "output_layers": [[n, 0, 0] for n in outputs]}})


def _layer(class_name: str, name: str, inbound: list[str], **config) -> dict:
    return {"class_name": class_name, "name": name, "config": {"name": name, **config},
            "inbound_nodes": [[[source, 0, 0, {}] for source in inbound]] if inbound else []}


MIXED = _functional([
    _layer("InputLayer", "image", [], batch_input_shape=[None, 32, 32, 3]),
    _layer("Conv2D", "conv", ["image"], filters=16, kernel_size=[3, 3], strides=[2, 2], padding="valid"),
    _layer("BatchNormalization", "bn", ["conv"], axis=-1),
    _layer("Reshape", "seq", ["bn"], target_shape=[-1, 16]),
    _layer("GRU", "gru", ["seq"], units=8, reset_after=True),
    _layer("Dense", "head", ["gru"], units=3),
], ["image"], ["head"])


def test_explain_markdown_pasted_into_a_document_checks_clean(tmp_path):
    model = tmp_path / "model.json"
    model.write_text(MIXED)
    analysis = analyze_text(MIXED, str(model))
    document = tmp_path / "README.md"
    document.write_text(explain_model_markdown(analysis.report, "model.json"))
    checks, problems = audit_document(document, {str(model): analysis})
    assert problems == []
    attributed = {check.layer for check in checks if check.layer}
    assert {"conv", "gru", "head"} <= attributed
