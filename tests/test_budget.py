"""Per-model parameter budgets from kerasparams.toml beside the model, with --max-params on top."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_kerasparams.check import CheckOptions, check_model_file, read_budget

DENSE_MODEL = {  # Dense(3) on 4 features: 4 x 3 + 3 = 15 parameters
    "class_name": "Sequential", "keras_version": "2.2.4", "backend": "tensorflow",
    "config": {"name": "m", "layers": [
        {"class_name": "Dense", "config": {"name": "dense", "units": 3, "batch_input_shape": [None, 4],
                                           "use_bias": True, "trainable": True}}]},
}


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    path = tmp_path / "model.json"
    path.write_text(json.dumps(DENSE_MODEL))
    return path


def test_no_budget_file(model: Path) -> None:
    assert read_budget(model) == (None, None, [])
    check = check_model_file(model)
    assert check.analysis is not None and check.analysis.report.total == 15
    assert check.problems == [] and check.budget is None


def test_folder_budget_over_and_under(model: Path) -> None:
    (model.parent / "kerasparams.toml").write_text("max_params = 10\n")
    check = check_model_file(model)
    (problem,) = check.problems
    assert problem.kind == "budget" and check.budget == 10
    assert "has 15 parameters, over the budget of" in problem.message and "kerasparams.toml of 10" in problem.message
    assert "dense (Dense): 15" in problem.explanation
    (model.parent / "kerasparams.toml").write_text("max_params = 15\n")
    assert check_model_file(model).problems == []


def test_per_file_table_overrides_folder_value(model: Path) -> None:
    (model.parent / "kerasparams.toml").write_text('max_params = 1_000\n\n["model.json"]\nmax_params = 12\n')
    assert read_budget(model)[0] == 12
    assert [p.kind for p in check_model_file(model).problems] == ["budget"]
    (model.parent / "kerasparams.toml").write_text('max_params = 10\n\n["other.json"]\nmax_params = 100\n')
    assert read_budget(model)[0] == 10


def test_command_line_budget_and_file_budget_both_apply(model: Path) -> None:
    (model.parent / "kerasparams.toml").write_text("max_params = 100\n")
    check = check_model_file(model, CheckOptions(max_params=14))
    assert [p.kind for p in check.problems] == ["budget"] and check.budget == 14


@pytest.mark.parametrize("text, fragment", [
    ("max_params = 'many'\n", "max_params must be a non-negative integer"),
    ("max_params = -1\n", "max_params must be a non-negative integer"),
    ("max_params = \n", "is not valid TOML"),
])
def test_bad_budget_file_is_a_problem_naming_it(model: Path, text: str, fragment: str) -> None:
    (model.parent / "kerasparams.toml").write_text(text)
    (problem,) = check_model_file(model).problems
    assert problem.kind == "budget" and problem.file.endswith("kerasparams.toml") and fragment in problem.message
    if "TOML" in fragment:
        assert problem.line == 1
