"""The ``kerasparams`` command: exit codes, output formats, and which models a changed file stands for.

Figures are compared with the committed ``summary.txt`` files, which hold what
Keras printed for each hourly model (read here with a small parser of our own).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_kerasparams.cli import main

HOURLY = Path(__file__).resolve().parent.parent / "hourly_models"
HOURLY_NAMES = ("model_1", "model_2", "model_4", "model_5", "model_6")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder holding a copy of the hourly models; the cwd during the test."""
    shutil.copytree(HOURLY, tmp_path / "hourly_models", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def keras_summary(path: Path) -> dict[str, Any]:
    """A Keras 2.2.4 ``model.summary()`` table read back: rows (name, printed class, shape, params) and totals."""
    text = path.read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        match = re.match(r"^(\S+) \(([^)]*)\)?\s+(\([^)]*\))\s+(\d+)\s*$", line)
        if match:
            shape = [None if d.strip() == "None" else int(d) for d in match.group(3)[1:-1].split(",") if d.strip()]
            rows.append((match.group(1), match.group(2), shape, int(match.group(4))))
    totals = {key: int(re.search(rf"^{label} params: ([\d,]+)", text, re.MULTILINE).group(1).replace(",", ""))
              for key, label in (("total", "Total"), ("trainable", "Trainable"), ("non_trainable", "Non-trainable"))}
    return {"rows": rows, **totals}


def break_lstm_1(repo: Path) -> None:
    """Make model_2's summary claim one parameter too many for lstm_1 (row on line 8)."""
    summary = repo / "hourly_models" / "model_2" / "summary.txt"
    lines = summary.read_text(encoding="utf-8").split("\n")
    assert lines[7].startswith("lstm_1 (LSTM)") and "80400" in lines[7]
    lines[7] = lines[7].replace("80400", "80401")
    summary.write_text("\n".join(lines), encoding="utf-8")


# --- check: exit codes -------------------------------------------------------------------------------------------


def test_check_passes_hourly_models(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "check", "hourly_models")
    assert (status, out.strip(), err) == (0, "5 passed, 0 failed", "")


def test_check_fails_with_explanation_and_exit_1(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    break_lstm_1(repo)
    status, out, err = run(capsys, "check", "hourly_models")
    assert status == 1
    assert "hourly_models/model_2/summary.txt:8: layer lstm_1 (LSTM): Param # is 80,401" in out
    assert "(100 input features + 100 recurrent units + 1 bias) × 100 units × 4 gates = 80,400" in out
    assert out.strip().endswith("4 passed, 1 failed")


@pytest.mark.parametrize("argv, fragment", [
    ([], "the following arguments are required"),
    (["check", "no/such/model.json"], "no/such/model.json: no such file or directory"),
    (["check", "--format", "yaml", "hourly_models"], "invalid choice: 'yaml'"),
    (["check", "--max-params", "many", "hourly_models"], "invalid int value: 'many'"),
    (["check", "--no-such-option", "hourly_models"], "unrecognized arguments: --no-such-option"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["explain", "hourly_models/model_1/model.json", "--layer", "nope"], "no layer named 'nope'"),
])
def test_usage_errors_exit_2_with_one_line(repo: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                           fragment: str) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("kerasparams: error: ") and fragment in err


def test_check_with_no_paths_has_nothing_to_do(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "check")[0] == 0


@pytest.mark.parametrize("content, sentence", [
    (b"{", "is not valid JSON"),
    (b"\xff\xfe{}", "is not UTF-8 text"),
    (b"", "is empty"),
])
def test_bad_file_is_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes,
                                         sentence: str) -> None:
    model = tmp_path / "model.json"
    model.write_bytes(content)
    status, out, err = run(capsys, "check", str(model))
    assert status == 1 and err == ""
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[0].startswith(model.as_posix()) and sentence in lines[0]
    assert lines[1:] == ["0 passed, 1 failed"]


def test_not_keras_is_skipped_unless_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "model.json"
    model.write_text(json.dumps({"format": "graph-model", "modelTopology": {"node": []}}), encoding="utf-8")
    status, out, _ = run(capsys, "check", str(model))
    assert status == 0 and "skipped: " in out and out.strip().endswith("0 passed, 0 failed, 1 skipped")
    assert run(capsys, "check", "--strict", str(model))[0] == 1


def test_console_script_is_installed(repo: Path) -> None:
    script = shutil.which("kerasparams")
    assert script is not None
    done = subprocess.run([script, "check", "hourly_models/model_1/model.json"], capture_output=True, text=True,
                          timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "1 passed, 0 failed")


# --- check: formats ----------------------------------------------------------------------------------------------


def test_check_json_one_object_per_model_with_located_problems(repo: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    break_lstm_1(repo)
    paths = [f"hourly_models/{name}/model.json" for name in ("model_6", "model_2", "model_1")]
    status, out, _ = run(capsys, "check", "--format", "json", *paths)
    assert status == 1
    data = json.loads(out)
    assert [item["path"] for item in data] == paths
    assert [item["ok"] for item in data] == [True, False, True]
    stored = keras_summary(HOURLY / "model_6" / "summary.txt")
    assert (data[0]["total"], data[0]["trainable"], data[0]["non_trainable"]) == (
        stored["total"], stored["trainable"], stored["non_trainable"])
    (problem,) = data[1]["problems"]
    assert {"kind", "layer", "file", "line", "message"} <= set(problem)
    assert (problem["kind"], problem["layer"], problem["file"], problem["line"]) == (
        "summary", "lstm_1", "hourly_models/model_2/summary.txt", 8)
    assert "80,401" in problem["message"] and "80,400" in problem["message"]


def test_check_github_annotations(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    break_lstm_1(repo)
    status, out, _ = run(capsys, "check", "--format", "github", "hourly_models")
    assert status == 1
    (line,) = out.splitlines()
    assert line.startswith("::error file=hourly_models/model_2/summary.txt,line=8,")
    message = line.split("::", 2)[2]
    assert "\n" not in message and "%0A" in message
    assert "(100 input features + 100 recurrent units + 1 bias) × 100 units × 4 gates = 80,400" in message


def test_check_github_escapes_property_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "a,b:c"
    folder.mkdir()
    (folder / "model.json").write_text("{", encoding="utf-8")
    status, out, _ = run(capsys, "check", "--format", "github", str(folder / "model.json"))
    assert status == 1
    assert "a%2Cb%3Ac/model.json" in out.split("::")[1]


def test_check_formats_are_a_table_later_formats_can_join() -> None:
    from pytest_kerasparams import cli

    assert {"text", "json", "github"} <= set(cli.CHECK_FORMATS)
    assert all(callable(formatter) for formatter in cli.CHECK_FORMATS.values())


# --- summary, explain, schema --------------------------------------------------------------------------------------


def test_summary_json_shape_and_figures_match_keras(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    order = ("model_5", "model_1", "model_6", "model_2", "model_4")
    paths = [f"hourly_models/{name}/model.json" for name in order]
    status, out, err = run(capsys, "summary", "--format", "json", *paths)
    assert (status, err) == (0, "")
    data = json.loads(out)
    assert [model["path"] for model in data] == paths
    for name, model in zip(order, data):
        stored = keras_summary(HOURLY / name / "summary.txt")
        assert list(model) == ["path", "class_name", "total", "trainable", "non_trainable", "layers"]
        assert model["class_name"] == "Sequential"
        assert (model["total"], model["trainable"], model["non_trainable"]) == (
            stored["total"], stored["trainable"], stored["non_trainable"])
        assert len(model["layers"]) == len(stored["rows"])
        for layer, (row_name, printed_class, shape, params) in zip(model["layers"], stored["rows"]):
            assert list(layer) == ["name", "class_name", "output_shape", "params", "trainable", "non_trainable",
                                   "weights"]
            assert layer["name"] == row_name
            assert layer["class_name"].startswith(printed_class)  # Keras 2.2.4 cuts long class names
            assert (layer["output_shape"], layer["params"]) == (shape, params)
            assert layer["trainable"] + layer["non_trainable"] == params
            for weight in layer["weights"]:
                assert list(weight) == ["name", "shape", "trainable"]
                assert all(isinstance(d, int) for d in weight["shape"])
            sizes = [_product(w["shape"]) for w in layer["weights"]]
            assert sum(sizes) == params
            assert sum(s for s, w in zip(sizes, layer["weights"]) if w["trainable"]) == layer["trainable"]


def _product(shape: list[int]) -> int:
    out = 1
    for dim in shape:
        out *= dim
    return out


def test_summary_json_names_lstm_weights_as_keras(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "summary", "--format", "json", "hourly_models/model_1/model.json")
    lstm = json.loads(out)[0]["layers"][0]
    assert [(w["name"].rsplit("/", 1)[-1], w["shape"]) for w in lstm["weights"]] == [
        ("kernel", [1, 400]), ("recurrent_kernel", [100, 400]), ("bias", [400])]


def test_summary_text_totals(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "summary", "hourly_models/model_4/model.json")
    stored = keras_summary(HOURLY / "model_4" / "summary.txt")
    assert status == 0 and f"Total params: {stored['total']:,}" in out


def test_explain_whole_model_and_one_layer(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "explain", "hourly_models/model_2/model.json")
    assert status == 0
    assert "(100 input features + 100 recurrent units + 1 bias) × 100 units × 4 gates = 80,400" in out
    assert "Total params: 126,301" in out
    status, out, _ = run(capsys, "explain", "hourly_models/model_2/model.json", "--layer", "lstm")
    assert status == 0
    assert "(1 input features + 100 recurrent units + 1 bias) × 100 units × 4 gates = 40,800" in out
    assert "lstm_1" not in out and "Total params" not in out


def test_explain_markdown(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "explain", "--format", "markdown", "hourly_models/model_1/model.json")
    assert status == 0
    assert out.startswith("## hourly_models/model_1/model.json")
    assert "### lstm (LSTM)" in out and "Total params: 45,648" in out


def test_schema_is_valid_draft_2020_12(capsys: pytest.CaptureFixture[str]) -> None:
    from jsonschema import Draft202012Validator

    status, out, _ = run(capsys, "schema")
    assert status == 0
    schema = json.loads(out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    for name in HOURLY_NAMES:
        validator.validate(json.loads((HOURLY / name / "model.json").read_text(encoding="utf-8")))


# --- which models a changed file stands for (pre-commit) -------------------------------------------------------


def test_summary_or_weight_file_checks_the_model_beside_it(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    break_lstm_1(repo)
    (repo / "hourly_models" / "model_2" / "weights.h5").write_bytes(b"")
    for changed in ("hourly_models/model_2/summary.txt", "hourly_models/model_2/weights.h5"):
        status, out, _ = run(capsys, "check", "--format", "json", changed)
        assert status == 1
        assert [item["path"] for item in json.loads(out)] == ["hourly_models/model_2/model.json"]
    status, out, _ = run(capsys, "check", "--format", "json", "hourly_models/model_1/summary.txt")
    assert status == 0 and [item["path"] for item in json.loads(out)] == ["hourly_models/model_1/model.json"]


def test_documents_check_the_models_they_mention(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = repo / "docs"
    docs.mkdir()
    (docs / "models.md").write_text("See [the encoder](../hourly_models/model_2/model.json) and\n"
                                    "`hourly_models/model_4/model.json`; also hourly_models/model_2/model.json.\n",
                                    encoding="utf-8")
    status, out, _ = run(capsys, "check", "--format", "json", "docs/models.md")
    assert [item["path"] for item in json.loads(out)] == ["hourly_models/model_2/model.json",
                                                        "hourly_models/model_4/model.json"]
    assert status == 0
    notebook = repo / "hourly_models" / "model_5" / "train.ipynb"
    notebook.write_text(json.dumps({"cells": [{"cell_type": "code", "source": ["print('hi')\n"]}]}),
                        encoding="utf-8")
    status, out, _ = run(capsys, "check", "--format", "json", str(notebook.relative_to(repo)))
    assert [item["path"] for item in json.loads(out)] == ["hourly_models/model_5/model.json"]
    (repo / "README.md").write_text("Nothing about models here.\n", encoding="utf-8")
    status, out, _ = run(capsys, "check", "README.md")
    assert (status, out.strip()) == (0, "0 passed, 0 failed")


def test_a_model_named_twice_is_checked_once(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "check", "--format", "json", "hourly_models/model_1/model.json",
                         "hourly_models/model_1/summary.txt", "hourly_models/model_1")
    assert status == 0 and len(json.loads(out)) == 1


def test_module_runs_as_script(repo: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pytest_kerasparams.cli", "check", "hourly_models"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_plugin_module_from_the_working_folder(tmp_path: Path) -> None:
    """``--plugin`` finds a rules module in the repository, as pre-commit runs the console script there."""
    (tmp_path / "keras_rules.py").write_text(
        "from pytest_kerasparams import LayerResult, Variable, hookimpl\n\n"
        "def my_layer(call):\n"
        "    features, units = call.input_shape[-1], call.config['units']\n"
        "    return LayerResult((call.input_shape[:-1] + (units,),), (Variable('kernel', (features, units)),))\n\n"
        "@hookimpl\ndef kerasparams_layer_rules():\n    return {'MyLayer': my_layer}\n", encoding="utf-8")
    (tmp_path / "model.json").write_text(json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "MyLayer", "config": {"name": "mine", "units": 3, "batch_input_shape": [None, 4]}}]}}),
        encoding="utf-8")
    script = shutil.which("kerasparams")
    assert script is not None
    plain = subprocess.run([script, "check", "model.json"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 1 and "no rule for layer class MyLayer" in plain.stdout
    done = subprocess.run([script, "summary", "--format", "json", "--plugin", "keras_rules", "model.json"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)[0]["total"] == 4 * 3
