"""Under pytest-xdist (``-n 2``) every model gets the same outcome, message and report row as in a serial run."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

pytest.importorskip("xdist")

HOURLY = Path(__file__).resolve().parent.parent / "hourly_models"

CONFTEST_RULE = """
from pytest_kerasparams import LayerResult, Variable, hookimpl


def my_layer(call):
    features, units = call.input_shape[-1], call.config["units"]
    return LayerResult(output_shapes=(call.input_shape[:-1] + (units,),),
                       variables=(Variable("kernel", (features, units)),))


@hookimpl
def kerasparams_layer_rules():
    return {"MyLayer": my_layer}
"""


@pytest.fixture
def corpus(pytester: pytest.Pytester) -> Path:
    """Passing, failing, skipped and conftest-ruled models side by side."""
    root = pytester.path
    shutil.copytree(HOURLY, root / "hourly_models", ignore=shutil.ignore_patterns("__pycache__"))
    summary = root / "hourly_models" / "model_4" / "summary.txt"
    summary.write_text(summary.read_text(encoding="utf-8").replace("Total params: 508,201", "Total params: 508,202"),
                       encoding="utf-8")
    (root / "bad").mkdir()
    (root / "bad" / "model.json").write_text("[", encoding="utf-8")
    (root / "web").mkdir()
    (root / "web" / "model.json").write_text(json.dumps({"format": "graph-model", "modelTopology": {"node": []}}),
                                             encoding="utf-8")
    custom = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "MyLayer", "config": {"name": "mine", "units": 3, "batch_input_shape": [None, 4]}}]}}
    for folder in ("custom", "plain"):
        (root / folder).mkdir()
        (root / folder / "model.json").write_text(json.dumps(custom), encoding="utf-8")
    (root / "custom" / "conftest.py").write_text(CONFTEST_RULE, encoding="utf-8")
    return root


def outcomes(pytester: pytest.Pytester, *args: str) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """``{node id: (outcome, first line of the message)}`` from JUnit XML, and the kerasparams report rows."""
    xml_path = pytester.path / f"junit{len(args)}.xml"
    result = pytester.runpytest_subprocess(f"--junitxml={xml_path}", "--kerasparams-report", "-p", "no:cacheprovider",
                                           *args)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    found = {}
    for case in ElementTree.parse(xml_path).getroot().iter("testcase"):
        node_id = case.get("classname", "").replace(".", "/")
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            element = case.find(tag)
            if element is not None:
                outcome, message = tag, (element.get("message") or "").splitlines()[0]
        found[node_id] = (outcome, message)
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if re.match(r"^=+ kerasparams =+$", line))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("====="))
    return found, [line for line in lines[start + 1:end] if line.strip()]


def test_xdist_matches_serial(pytester: pytest.Pytester, corpus: Path) -> None:
    serial, serial_report = outcomes(pytester)
    parallel, parallel_report = outcomes(pytester, "-n", "2")
    assert len(serial) == 9
    assert parallel == serial
    assert parallel_report == serial_report
    assert [outcome for outcome, _ in serial.values()].count("failure") == 3  # model_4 total, bad JSON, no rule
    assert sum(1 for outcome, _ in serial.values() if outcome == "skipped") == 1
    assert any("Total params: stored 508,202, recomputed 508,201" in message for _, message in serial.values())
    assert serial_report[-1].startswith("9 models, 6 computed")
    assert any(row.endswith("stored 508,202, -1, -<0.1%") for row in serial_report)
