"""The pytest plugin, run through pytester on copies of the hourly models and small hand-made files.

Expected figures come from the committed ``summary.txt`` files (written from
what Keras reports) or are derived here from the model config by hand; never
from the package's own code.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pytest

HOURLY = Path(__file__).resolve().parent.parent / "hourly_models"
HOURLY_NAMES = ("model_1", "model_2", "model_4", "model_5", "model_6")
LSTM_GATES = ("input gate", "forget gate", "cell candidate", "output gate")

# pytest-benchmark (installed here, unrelated) warns in every in-process run inside an xdist worker.
pytestmark = pytest.mark.filterwarnings("ignore:Benchmarks are automatically disabled")


@pytest.fixture(scope="module", autouse=True)
def warm_imports() -> None:
    """Load the engine, jsonschema and the rule table once: pytester's in-process runs drop modules they import."""
    from pytest_kerasparams.check import check_model_file

    check_model_file(HOURLY / "model_1" / "model.json")


@pytest.fixture
def hourly(pytester: pytest.Pytester) -> Path:
    """A copy of the five hourly models (model.json and summary.txt) in the pytester folder."""
    target = pytester.path / "hourly_models"
    shutil.copytree(HOURLY, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def stored_totals(summary: Path) -> dict[str, int]:
    """``Total/Trainable/Non-trainable params`` as printed by Keras in a summary.txt."""
    found = {}
    for label, key in (("Total", "total"), ("Trainable", "trainable"), ("Non-trainable", "non_trainable")):
        match = re.search(rf"^{label} params: ([\d,]+)", summary.read_text(encoding="utf-8"), re.MULTILINE)
        assert match, f"{summary} has no {label} params line"
        found[key] = int(match.group(1).replace(",", ""))
    return found


def failure_sections(output: str) -> dict[str, str]:
    """The body under each ``____ kerasparams: PATH ____`` failure header."""
    sections: dict[str, str] = {}
    parts = re.split(r"^_{3,} kerasparams: (\S+) _{3,}$", output, flags=re.MULTILINE)
    for index in range(1, len(parts) - 1, 2):
        body = parts[index + 1]
        body = re.split(r"^(?:={3,}|_{3,} )", body, flags=re.MULTILINE)[0]
        sections[parts[index]] = body.strip("\n")
    return sections


def assert_clean(result: pytest.RunResult) -> None:
    text = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in text
    assert "Traceback" not in text


# --- collection ------------------------------------------------------------------------------------------------


def test_hourly_models_are_collected_as_one_item_each(pytester: pytest.Pytester, hourly: Path) -> None:
    result = pytester.runpytest("--collect-only", "-q")
    ids = [line for line in result.outlines if "::" in line]
    assert ids == [f"hourly_models/{name}/model.json::kerasparams" for name in HOURLY_NAMES]
    assert all("\\" not in node_id for node_id in ids)


def test_hourly_models_pass(pytester: pytest.Pytester, hourly: Path) -> None:
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=5)
    for name in HOURLY_NAMES:
        result.stdout.fnmatch_lines([f"hourly_models/{name}/model.json::kerasparams PASSED*"])


def test_collect_only_checks_and_reads_nothing(pytester: pytest.Pytester, hourly: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken model still collects; no model file is opened and the checker is never called."""
    (hourly / "model_1" / "model.json").write_text("{ this is not json", encoding="utf-8")
    import builtins

    import pytest_kerasparams.check

    checked: list[Any] = []
    opened: list[str] = []
    real_open = builtins.open

    def spy_check(*args: Any, **kwargs: Any) -> Any:
        checked.append(args)
        raise AssertionError("check_model_file called during --collect-only")

    def spy_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file).endswith(("model.json", "summary.txt")):
            opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(pytest_kerasparams.check, "check_model_file", spy_check)
    monkeypatch.setattr(builtins, "open", spy_open)
    result = pytester.runpytest("--collect-only", "-q")
    monkeypatch.undo()
    assert result.ret == pytest.ExitCode.OK
    assert "hourly_models/model_1/model.json::kerasparams" in result.stdout.str()
    assert checked == [] and opened == []


def test_collect_only_imports_no_engine_and_no_jsonschema(pytester: pytest.Pytester, hourly: Path) -> None:
    """In a fresh process: after collecting five models, neither the engine nor jsonschema is loaded."""
    pytester.makeconftest("""
        import sys

        def pytest_collection_finish(session):
            loaded = sorted(m for m in sys.modules
                            if m.split(".")[0] == "jsonschema" or m.startswith("pytest_kerasparams."))
            print("LOADED", " ".join(loaded))
    """)
    result = pytester.runpytest_subprocess("--collect-only", "-q", "-s")
    line = next(line for line in result.outlines if line.startswith("LOADED"))
    loaded = set(line.split()[1:])
    assert loaded <= {"pytest_kerasparams.plugin", "pytest_kerasparams.api", "pytest_kerasparams.hookspecs"}, loaded
    assert result.ret == pytest.ExitCode.OK


# --- failures with the gate-by-gate explanation ----------------------------------------------------------------


def lstm_figures(model: dict[str, Any], layer_name: str) -> tuple[int, int]:
    """(input features, units) of an LSTM in an hourly Sequential model, read from its config by hand."""
    layers = model["config"]["layers"]
    features = None
    for layer in layers:
        config = layer["config"]
        if "batch_input_shape" in config:
            features = config["batch_input_shape"][-1]
        if config["name"] == layer_name:
            return features, config["units"]
        if layer["class_name"] == "LSTM":
            features = config["units"]
        elif layer["class_name"] == "RepeatVector":
            pass  # keeps the feature axis
    raise AssertionError(f"no layer {layer_name}")


def test_editing_one_count_fails_exactly_that_model_gate_by_gate(pytester: pytest.Pytester, hourly: Path) -> None:
    model = json.loads((hourly / "model_2" / "model.json").read_text(encoding="utf-8"))
    features, units = lstm_figures(model, "lstm_1")
    per_gate = (features + units + 1) * units
    expected = per_gate * 4
    assert (features, units, expected) == (100, 100, 80_400)  # the figure Keras printed in summary.txt

    summary = hourly / "model_2" / "summary.txt"
    text = summary.read_text(encoding="utf-8")
    assert re.search(rf"^lstm_1 \(LSTM\) .* {expected}\s*$", text, re.MULTILINE)
    summary.write_text(re.sub(rf"(?m)^(lstm_1 \(LSTM\) .* ){expected}(\s*)$", rf"\g<1>{expected + 1}\g<2>", text),
                       encoding="utf-8")

    result = pytester.runpytest()
    result.assert_outcomes(passed=4, failed=1)
    assert_clean(result)
    sections = failure_sections(result.stdout.str())
    assert list(sections) == ["hourly_models/model_2/model.json"]
    body = sections["hourly_models/model_2/model.json"]
    assert (f"hourly_models/model_2/summary.txt:8: layer lstm_1 (LSTM): Param # is {expected + 1:,} in the "
            f"summary, but the config gives {expected:,}") in body
    for gate in LSTM_GATES:
        assert re.search(rf"^\s+{gate}\s+{features} × {units}\s+{units} × {units}\s+{units}\s+{per_gate:,}$",
                         body, re.MULTILINE), (gate, body)
    assert (f"({features} input features + {units} recurrent units + 1 bias) × {units} units × 4 gates "
            f"= {expected:,}") in body
    assert "(100 input features + 100 recurrent units + 1 bias) × 100 units × 4 gates = 80,400" in body
    result.stdout.fnmatch_lines(["FAILED hourly_models/model_2/model.json::kerasparams - *"])


# --- bad files -------------------------------------------------------------------------------------------------

BAD_FILES = {
    "not-json": (b'{"class_name": "Sequential", "config": ', "is not valid JSON"),
    "not-utf8": (b'{"class_name": "Seq\xff\xfeential"}', "is not UTF-8 text"),
    "empty": (b"", "is empty"),
    "whitespace": (b"  \n ", "is empty"),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_file_gives_one_clear_sentence(pytester: pytest.Pytester, kind: str) -> None:
    content, sentence = BAD_FILES[kind]
    (pytester.path / "bad").mkdir()
    (pytester.path / "bad" / "model.json").write_bytes(content)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    assert_clean(result)
    body = failure_sections(result.stdout.str())["bad/model.json"]
    assert body.startswith("bad/model.json") and sentence in body
    assert len(body.splitlines()) == 1, body


def test_keras_shaped_json_with_bad_values_names_the_json_path(pytester: pytest.Pytester) -> None:
    (pytester.path / "m").mkdir()
    (pytester.path / "m" / "model.json").write_text(json.dumps(
        {"class_name": "Sequential", "config": {"name": "s", "layers": "not a list"}}), encoding="utf-8")
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    assert_clean(result)
    body = failure_sections(result.stdout.str())["m/model.json"]
    assert "$.config.layers" in body


def test_directory_named_model_json_fails_with_one_sentence(pytester: pytest.Pytester) -> None:
    (pytester.path / "d" / "model.json").mkdir(parents=True)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    assert_clean(result)
    assert failure_sections(result.stdout.str())["d/model.json"] == "d/model.json: is a directory, not a model file"


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="needs POSIX symbolic links")
def test_broken_symlink_named_model_json_fails_with_one_sentence(pytester: pytest.Pytester, hourly: Path) -> None:
    (pytester.path / "e").mkdir()
    os.symlink(pytester.path / "nowhere.json", pytester.path / "e" / "model.json")
    result = pytester.runpytest()
    result.assert_outcomes(passed=5, failed=1)
    assert_clean(result)
    assert failure_sections(result.stdout.str())["e/model.json"] == "e/model.json: is a broken symbolic link"


# --- not Keras ---------------------------------------------------------------------------------------------------

TFJS_GRAPH_MODEL = {"format": "graph-model", "generatedBy": "2.0.0", "convertedBy": "TensorFlow.js Converter",
                    "modelTopology": {"node": [{"name": "x", "op": "Placeholder"}], "library": {}, "versions": {}},
                    "weightsManifest": []}
OTHER_JSON = {"name": "my-package", "version": "1.0.0"}


@pytest.mark.parametrize("content", [TFJS_GRAPH_MODEL, OTHER_JSON, [1, 2, 3]], ids=["tfjs-graph", "other", "list"])
def test_plainly_not_keras_is_skipped_with_a_reason(pytester: pytest.Pytester, content: Any) -> None:
    (pytester.path / "web").mkdir()
    (pytester.path / "web" / "model.json").write_text(json.dumps(content), encoding="utf-8")
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    assert_clean(result)
    result.stdout.fnmatch_lines(["SKIPPED [[]1] web/model.json*: web/model.json is not a Keras model config*"])


def test_not_keras_error_in_ini_fails_and_command_line_wins(pytester: pytest.Pytester) -> None:
    (pytester.path / "web").mkdir()
    (pytester.path / "web" / "model.json").write_text(json.dumps(TFJS_GRAPH_MODEL), encoding="utf-8")
    pytester.makeini("[pytest]\nkerasparams_not_keras = error\n")
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    assert "is not a Keras model config" in failure_sections(result.stdout.str())["web/model.json"]
    pytester.runpytest("--kerasparams-not-keras=skip").assert_outcomes(skipped=1)


# --- options -----------------------------------------------------------------------------------------------------


def test_help_lists_flags_and_ini_keys_in_their_own_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    text = result.stdout.str()
    group = text.index("Keras model configs (pytest-kerasparams):")
    next_group = re.compile(r"^\S.*:$", re.MULTILINE).search(text, group + 1)
    section = text[group:next_group.start() if next_group else len(text)]
    for flag in ("--kerasparams-pattern", "--kerasparams-not-keras", "--kerasparams-max-params",
                 "--kerasparams-max-file-bytes", "--kerasparams-plugin", "--kerasparams-report",
                 "--no-kerasparams-report", "--kerasparams-update"):
        assert flag in section, flag
    for key in ("kerasparams_patterns", "kerasparams_not_keras", "kerasparams_max_params",
                "kerasparams_max_file_bytes", "kerasparams_plugins", "kerasparams_report"):
        assert re.search(rf"^  {key} \(", text, re.MULTILINE), key


def test_max_params_from_ini_and_command_line_wins(pytester: pytest.Pytester, hourly: Path) -> None:
    totals = {name: stored_totals(hourly / name / "summary.txt")["total"] for name in HOURLY_NAMES}
    budget = sorted(totals.values())[1]  # the two smallest models fit
    pytester.makeini(f"[pytest]\nkerasparams_max_params = {budget}\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=3)
    largest = max(totals, key=lambda name: totals[name])
    body = failure_sections(result.stdout.str())[f"hourly_models/{largest}/model.json"]
    assert f"has {totals[largest]:,} parameters, over the budget of {budget:,}" in body
    pytester.runpytest(f"--kerasparams-max-params={max(totals.values())}").assert_outcomes(passed=5)


def test_patterns_from_ini_and_command_line_wins(pytester: pytest.Pytester, hourly: Path) -> None:
    shutil.copy(hourly / "model_1" / "model.json", pytester.path / "forecast.keras.json")
    pytester.makeini("[pytest]\nkerasparams_patterns =\n    *.keras.json\n")
    result = pytester.runpytest("--collect-only", "-q")
    assert [line for line in result.outlines if "::" in line] == ["forecast.keras.json::kerasparams"]
    result = pytester.runpytest("--collect-only", "-q", "--kerasparams-pattern=model.json")
    assert len([line for line in result.outlines if "::" in line]) == 5


def test_report_from_ini_and_no_report_flag_wins(pytester: pytest.Pytester, hourly: Path) -> None:
    pytester.makeini("[pytest]\nkerasparams_report = true\n")
    assert len(report_section(pytester.runpytest())) == 8  # header, five models, rule, totals
    result = pytester.runpytest("--no-kerasparams-report")
    assert not any(re.match(r"^=+ kerasparams =+$", line) for line in result.outlines)


@pytest.mark.parametrize("ini", ["kerasparams_not_keras = maybe", "kerasparams_max_params = lots"])
def test_invalid_ini_value_is_a_one_line_usage_error(pytester: pytest.Pytester, ini: str) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert_clean(result)
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1 and ini.split(" = ")[0] in errors[0]


def test_disabled_with_p_no(pytester: pytest.Pytester, hourly: Path) -> None:
    result = pytester.runpytest("-p", "no:kerasparams")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_strict_config_strict_markers_and_warnings_as_errors(pytester: pytest.Pytester, hourly: Path) -> None:
    pytester.makeini("[pytest]\nkerasparams_report = true\nkerasparams_max_params = 100000000\n"
                     "kerasparams_not_keras = skip\nkerasparams_patterns = model.json\n")
    pytester.makepyfile(test_marked="""
        import pytest

        @pytest.mark.kerasparams
        def test_marker_is_registered():
            pass
    """)
    # pytest-benchmark (installed here, unrelated) warns when it runs inside an xdist worker.
    result = pytester.runpytest("--strict-config", "--strict-markers", "-W", "error", "-p", "no:cacheprovider",
                                "-p", "no:benchmark")
    result.assert_outcomes(passed=6)
    assert "warnings summary" not in result.stdout.str()


# --- JUnit XML and the terminal report --------------------------------------------------------------------------


def test_junit_xml_records_figures_as_properties(pytester: pytest.Pytester, hourly: Path) -> None:
    xml_path = pytester.path / "junit.xml"
    pytester.runpytest(f"--junitxml={xml_path}").assert_outcomes(passed=5)
    cases = ElementTree.parse(xml_path).getroot().iter("testcase")
    seen = {}
    for case in cases:
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        seen[case.get("classname")] = properties
    assert len(seen) == 5
    for name in HOURLY_NAMES:
        stored = stored_totals(hourly / name / "summary.txt")
        properties = next(p for key, p in seen.items() if name in key)
        assert properties == {"kerasparams_total": str(stored["total"]),
                              "kerasparams_trainable": str(stored["trainable"]),
                              "kerasparams_non_trainable": str(stored["non_trainable"]),
                              "kerasparams_stored_total": str(stored["total"])}


def report_section(result: pytest.RunResult) -> list[str]:
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if re.match(r"^=+ kerasparams =+$", line))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("=" * 5))
    return [line for line in lines[start + 1:end] if line.strip()]


def test_report_lists_each_model_totals_and_change_from_stored(pytester: pytest.Pytester, hourly: Path) -> None:
    stored = {name: stored_totals(hourly / name / "summary.txt") for name in HOURLY_NAMES}
    summary = hourly / "model_4" / "summary.txt"
    real = stored["model_4"]["total"]
    summary.write_text(summary.read_text(encoding="utf-8").replace(f"Total params: {real:,}",
                                                                   f"Total params: {real + 1000:,}"),
                       encoding="utf-8")
    (pytester.path / "web").mkdir()
    (pytester.path / "web" / "model.json").write_text(json.dumps(TFJS_GRAPH_MODEL), encoding="utf-8")
    result = pytester.runpytest("--kerasparams-report")
    result.assert_outcomes(passed=4, failed=1, skipped=1)
    section = report_section(result)
    assert section[0].split() == ["model", "total", "trainable", "non-trainable", "change"]
    rows = {line.split()[0]: line for line in section[1:]}
    for name in HOURLY_NAMES:
        row = rows[f"hourly_models/{name}/model.json"]
        figures = stored[name]
        assert row.split()[1:4] == [f"{figures['total']:,}", f"{figures['trainable']:,}",
                                    f"{figures['non_trainable']:,}"]
        if name == "model_4":
            assert row.endswith(f"stored {real + 1000:,}, -1,000, {-1000 / (real + 1000):+.1%}")
        else:
            assert row.endswith("same as stored")
    assert rows["web/model.json"].endswith("not computed (skipped)")
    grand = sum(figures["total"] for figures in stored.values())
    assert section[-1].startswith("6 models, 5 computed")
    assert f"{grand:,}" in section[-1] and section[-1].endswith("-1,000 against stored")


# --- conftest rules ---------------------------------------------------------------------------------------------

CUSTOM_RULE = """
from pytest_kerasparams import LayerResult, Variable, formula, hookimpl


def my_layer(call):
    features = call.input_shape[-1]
    units = call.config["units"]
    variables = (Variable("kernel", (features, units)),) + ((Variable("bias", (units,)),) if {bias} else ())
    return LayerResult(output_shapes=(call.input_shape[:-1] + (units,),), variables=variables,
                       formulas=(formula([(features, "inputs")], [({bias}, "bias")], times=[(units, "units")]),))


@hookimpl
def kerasparams_layer_rules():
    return {{"MyLayer": my_layer}}
"""


def custom_model(folder: Path, features: int, units: int, params: int | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.json").write_text(json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "MyLayer", "config": {"name": "mine", "units": units, "batch_input_shape": [None, features]}},
    ]}}), encoding="utf-8")
    if params is not None:
        lines = ["_" * 65, "Layer (type)                 Output Shape              Param #   ", "=" * 65,
                 "mine (MyLayer)".ljust(29) + f"(None, {units})".ljust(26) + str(params), "=" * 65,
                 f"Total params: {params:,}", f"Trainable params: {params:,}", "Non-trainable params: 0", "_" * 65]
        (folder / "summary.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_conftest_rules_apply_with_directory_scoping(pytester: pytest.Pytester) -> None:
    """A conftest's rule covers its folder and below; a nearer conftest replaces it; siblings get nothing."""
    features, units = 4, 3
    (pytester.path / "custom").mkdir()
    (pytester.path / "custom" / "conftest.py").write_text(CUSTOM_RULE.format(bias=0), encoding="utf-8")
    custom_model(pytester.path / "custom", features, units, features * units)
    custom_model(pytester.path / "custom" / "deeper", features, units, features * units)
    (pytester.path / "custom" / "inner").mkdir()
    (pytester.path / "custom" / "inner" / "conftest.py").write_text(CUSTOM_RULE.format(bias=1), encoding="utf-8")
    custom_model(pytester.path / "custom" / "inner", features, units, (features + 1) * units)
    custom_model(pytester.path / "other", features, units, None)
    result = pytester.runpytest("-v")
    assert_clean(result)
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["custom/deeper/model.json::kerasparams PASSED*",
                                 "custom/inner/model.json::kerasparams PASSED*",
                                 "custom/model.json::kerasparams PASSED*",
                                 "other/model.json::kerasparams FAILED*"])
    assert "no rule for layer class MyLayer" in failure_sections(result.stdout.str())["other/model.json"]


def test_conftest_rule_that_raises_is_reported_not_crashed(pytester: pytest.Pytester) -> None:
    (pytester.path / "custom").mkdir()
    (pytester.path / "custom" / "conftest.py").write_text(
        "from pytest_kerasparams import hookimpl\n\n@hookimpl\ndef kerasparams_layer_rules():\n"
        "    raise RuntimeError('oops')\n", encoding="utf-8")
    custom_model(pytester.path / "custom", 4, 3, None)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    assert_clean(result)
    body = failure_sections(result.stdout.str())["custom/model.json"]
    assert "custom/conftest.py" in body and "RuntimeError: oops" in body
