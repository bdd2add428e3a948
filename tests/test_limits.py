"""Bounded work (issue 9): every limit refuses quickly, names the file and the limit, and says how to raise it.

Times are checked only as generous sanity bounds (a subprocess with a 60 s
timeout must finish), never as performance assertions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_kerasparams.analysis import analyze_text
from pytest_kerasparams.check import check_model_file
from pytest_kerasparams.jsonfile import decode_json, read_json
from pytest_kerasparams.limits import (
    DEFAULT_LIMITS,
    ENVIRONMENT,
    LIMIT_NAMES,
    LimitSettingError,
    Limits,
    current_limits,
    dimension_problem,
    limit_message,
    parameters_problem,
    parse_limit_value,
    raise_hint,
    register_hint,
    using_limits,
)
from pytest_kerasparams.problems import InputError

REPO = Path(__file__).resolve().parents[1]


def dense_model(units: Any = 4, input_dim: Any = 3, extra: Any = None) -> dict[str, Any]:
    config: dict[str, Any] = {"name": "dense", "units": units, "batch_input_shape": [None, input_dim]}
    if extra is not None:
        config["extra"] = extra
    return {"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "Dense", "config": config}]}}


def nested_sequentials(levels: int) -> dict[str, Any]:
    """A Dense inside ``levels`` Sequentials, each with its own InputLayer: 3 JSON levels per model."""
    model: dict[str, Any] = {"class_name": "Dense", "config": {"name": "d", "units": 3}}
    for level in range(levels):
        model = {"class_name": "Sequential", "config": {"name": f"s{level}", "layers": [
            {"class_name": "InputLayer", "config": {"name": f"in{level}", "batch_input_shape": [None, 4]}}, model]}}
    return model


def write(tmp_path: Path, text: str | bytes, name: str = "model.json") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def only_problem(path: Path) -> Any:
    check = check_model_file(path)
    assert len(check.problems) == 1, [p.render() for p in check.problems]
    return check.problems[0]


def run_isolated(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter: a hang fails the test instead of the suite."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for variable in ENVIRONMENT.values():
        env.pop(variable, None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env)


# --------------------------------------------------------------------------- file size

@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak memory from /proc")
def test_sparse_gigabyte_is_refused_without_reading(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    with open(path, "wb") as handle:
        handle.truncate(1024**3)  # sparse: no gigabyte is ever written or read
    result = run_isolated(f"""
from pytest_kerasparams.check import check_model_file
check = check_model_file({str(path)!r})
print(check.problems[0].render())
# VmHWM is this process's own peak; ru_maxrss would include the parent's memory from before exec.
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
""")
    assert result.returncode == 0, result.stderr
    message, peak_kb = result.stdout.strip().splitlines()
    assert message.startswith(f"{path}: is 1,073,741,824 bytes, over the limit max_file_bytes=67,108,864 "
                              "(raise it with "), message
    assert message.endswith("KERASPARAMS_MAX_FILE_BYTES=<n>)"), message
    assert int(peak_kb) < 512 * 1024, f"the file was read into memory (peak {int(peak_kb):,} kB)"


def test_file_size_limit_can_be_raised_and_lowered(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(dense_model()))
    size = path.stat().st_size
    with pytest.raises(InputError) as refused:
        read_json(path, limits=Limits(max_file_bytes=size - 1))
    assert refused.value.problem.kind == "limit"
    assert "max_file_bytes" in refused.value.problem.message
    assert read_json(path, limits=Limits(max_file_bytes=size)).data["class_name"] == "Sequential"
    with pytest.raises(InputError):
        read_json(path, max_bytes=10)  # the older keyword still works


def test_decode_json_refuses_oversized_bytes() -> None:
    with pytest.raises(InputError) as refused:
        decode_json(b"[" + b"0," * 100 + b"0]", "mem.json", limits=Limits(max_file_bytes=50))
    assert refused.value.problem.render().startswith("mem.json: is 203 bytes, over the limit max_file_bytes=50")


# --------------------------------------------------------------------------- nesting depth

def test_hundred_thousand_deep_nesting_is_refused_in_a_fresh_process(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    path = write(tmp_path, json.dumps(dense_model()).replace('"units": 4', f'"units": 4, "x": {deep}'))
    result = run_isolated(f"""
from pytest_kerasparams.check import check_model_file
print(check_model_file({str(path)!r}).problems[0].render())
""")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr and "RecursionError" not in result.stderr
    assert "nests arrays and objects 100,005 levels deep, over the limit max_depth=100" in result.stdout
    assert result.stdout.startswith(f"{path}:1:")


@pytest.mark.parametrize("kind", ["arrays", "objects", "mixed"])
def test_depth_just_over_the_limit_is_located(tmp_path: Path, kind: str) -> None:
    opener, closer = {"arrays": ("[", "]"), "objects": ('{"a":', "}"), "mixed": ('[{"a":', "}]")}[kind]
    levels = 200
    nest = opener * levels + "0" + closer * levels
    text = json.dumps(dense_model(), indent=1).replace('"units": 4', f'"units": 4,\n"x": {nest}')
    problem = only_problem(write(tmp_path, text))
    assert problem.kind == "limit"
    assert "over the limit max_depth=100 (raise it with KERASPARAMS_MAX_DEPTH=<n>)" in problem.message
    assert problem.line == text[:text.index('"x"')].count("\n") + 1


def test_nested_models_up_to_the_depth_limit_compute(tmp_path: Path) -> None:
    """32 nested Sequentials (99 levels) compute; 33 are refused cleanly, not by a RecursionError."""
    check = check_model_file(write(tmp_path, json.dumps(nested_sequentials(32))))
    assert check.problems == [] and check.analysis is not None
    assert check.analysis.report.total == 4 * 3 + 3
    problem = only_problem(write(tmp_path, json.dumps(nested_sequentials(33))))
    assert problem.kind == "limit" and "max_depth" in problem.message


def test_raising_the_depth_limit_lets_deeper_files_through(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(dense_model(extra=json.loads("[" * 150 + "]" * 150))))
    assert only_problem(path).kind == "limit"
    with using_limits(DEFAULT_LIMITS.replace(max_depth=200)):
        assert check_model_file(path).problems == []


def test_raised_depth_limit_still_never_raises(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(nested_sequentials(150)))
    with using_limits(DEFAULT_LIMITS.replace(max_depth=10_000)):
        check = check_model_file(path)  # must return, whatever the interpreter's recursion limit
    # Depending on the stack available, the 150 levels either compute or stop at a clear limit.
    assert not check.problems or check.problems[0].kind == "limit", [p.render() for p in check.problems]
    if not check.problems:
        assert check.analysis is not None and check.analysis.report.total > 0


# --------------------------------------------------------------------------- number of layers

def many_layers(count: int) -> str:
    layers = [{"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": [None, 2]}}]
    layers += [{"class_name": "Dense", "config": {"name": f"d{i}", "units": 2}} for i in range(count - 1)]
    return json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": layers}})


def test_layer_count_limit(tmp_path: Path) -> None:
    path = write(tmp_path, many_layers(10_001))
    problem = only_problem(path)
    assert problem.kind == "limit"
    assert problem.message == ("has 10,001 layers, over the limit max_layers=10,000 "
                               "(raise it with KERASPARAMS_MAX_LAYERS=<n>)")
    with using_limits(Limits(max_layers=10_001)):
        check = check_model_file(path)
    assert check.problems == [] and check.analysis is not None and check.analysis.report.total == 10_000 * 6


def test_layer_count_includes_nested_models_and_keras1_lists() -> None:
    inner = {"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"name": f"d{i}", "units": 1}}
                                                    for i in range(6)]}
    outer = {"class_name": "Sequential", "config": {"name": "s", "layers": [inner, inner]}}
    with pytest.raises(InputError) as refused:
        decode_json(json.dumps(outer).encode(), "m.json", limits=Limits(max_layers=13))
    assert "has 14 layers" in refused.value.problem.message


# --------------------------------------------------------------------------- dimensions and numbers

def test_dimension_of_ten_to_the_hundred_is_reported(tmp_path: Path) -> None:
    for model in (dense_model(input_dim=10**100), dense_model(units=10**100)):
        problem = only_problem(write(tmp_path, json.dumps(model)))
        assert problem.kind in ("limit", "schema"), problem.render()
        assert "10,000,000,000" in problem.message or "1.000e100" in problem.message, problem.render()


def test_integer_literal_digit_limit(tmp_path: Path) -> None:
    text = json.dumps(dense_model()).replace('"units": 4', '"units": 4, "seed": ' + "9" * 5_000)
    problem = only_problem(write(tmp_path, text))
    assert problem.kind == "limit" and problem.line == 1 and problem.column == text.index("9999") + 1
    assert problem.message == ("has an integer of 5,000 digits, over the limit max_number_digits=1,000 "
                               "(raise it with KERASPARAMS_MAX_NUMBER_DIGITS=<n>)")


def test_helpers_for_the_engine() -> None:
    assert dimension_problem(2**48) is None
    assert dimension_problem(10**100) == ("a dimension of 1.000e100 (101 digits), over the limit "
                                          "max_dimension=281,474,976,710,656 (raise it with "
                                          "KERASPARAMS_MAX_DIMENSION=<n>)")
    assert parameters_problem(2**63 - 1) is None
    assert "about 2**" in (parameters_problem(2**20_000, "the kernel size") or "")
    assert (parameters_problem(2**63, "layer d's kernel") or "").startswith(
        "layer d's kernel of 9,223,372,036,854,775,808, over the limit max_parameters=9,223,372,036,854,775,807")


def test_parameter_arithmetic_limit(tmp_path: Path) -> None:
    model = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Embedding", "config": {"name": "e", "input_dim": 10**40, "output_dim": 2**40,
                                               "batch_input_shape": [None, 5]}}]}}
    problem = only_problem(write(tmp_path, json.dumps(model)))
    assert problem.kind == "limit" and "max_parameters" in problem.message


# --------------------------------------------------------------------------- the Limits API

def test_limits_defaults_and_validation() -> None:
    assert DEFAULT_LIMITS.max_depth == 100 and DEFAULT_LIMITS.max_file_bytes == 64 * 1024 * 1024
    assert set(ENVIRONMENT) == set(LIMIT_NAMES)
    with pytest.raises(LimitSettingError, match="max_depth must be a positive integer"):
        Limits(max_depth=0)
    with pytest.raises(LimitSettingError, match="unknown limit"):
        DEFAULT_LIMITS.replace(max_depht=3)
    with pytest.raises(LimitSettingError, match="positive whole number"):
        DEFAULT_LIMITS.with_settings({"max_layers": "2**48"})  # never evaluated
    assert parse_limit_value("max_layers", "1_000,000") == 1_000_000
    assert DEFAULT_LIMITS.with_settings({"max_layers": "12", "max_depth": ""}).max_layers == 12


def test_environment_raises_limits(tmp_path: Path) -> None:
    assert DEFAULT_LIMITS.with_environment({"KERASPARAMS_MAX_DEPTH": "500"}).max_depth == 500
    path = write(tmp_path, json.dumps(dense_model(extra=json.loads("[" * 150 + "]" * 150))))
    env_code = f"""
from pytest_kerasparams.check import check_model_file
print(check_model_file({str(path)!r}).problems)
"""
    env = dict(os.environ, PYTHONPATH=str(REPO), KERASPARAMS_MAX_DEPTH="200")
    result = subprocess.run([sys.executable, "-c", env_code], capture_output=True, text=True, timeout=60, env=env)
    assert result.stdout.strip() == "[]", result.stderr
    env["KERASPARAMS_MAX_DEPTH"] = "lots"  # a broken setting keeps the defaults rather than crashing
    result = subprocess.run([sys.executable, "-c", env_code], capture_output=True, text=True, timeout=60, env=env)
    assert "max_depth=100" in result.stdout, result.stderr


def test_using_limits_is_scoped_and_hints_can_be_extended() -> None:
    before = current_limits()
    with using_limits(Limits(max_layers=5)) as inner:
        assert current_limits() is inner
        assert limit_message("has 6 layers", "max_layers").startswith("has 6 layers, over the limit max_layers=5")
    assert current_limits() is before
    register_hint("max_layers", "--kerasparams-max-layers")
    try:
        assert raise_hint("max_layers") == "raise it with --kerasparams-max-layers or KERASPARAMS_MAX_LAYERS=<n>"
    finally:
        from pytest_kerasparams import limits

        del limits._extra_hints["max_layers"]


def test_analyze_text_goes_through_the_same_limits() -> None:
    with pytest.raises(InputError) as refused:
        analyze_text("[" * 5000 + "]" * 5000)
    assert refused.value.problem.kind == "limit"


# --------------------------------------------------------------------------- files read beside the model

def test_summary_beside_the_model_is_bounded_too(tmp_path: Path) -> None:
    write(tmp_path, json.dumps(dense_model()))
    (tmp_path / "summary.txt").write_text("Total params: 16\n" * 200, encoding="utf-8")
    with using_limits(Limits(max_file_bytes=1_000)):
        check = check_model_file(tmp_path / "model.json")
    assert any(p.kind == "limit" and p.file.endswith("summary.txt") for p in check.problems), \
        [p.render() for p in check.problems]


def test_duplicate_keys_are_located() -> None:
    text = b'{"a": 1,\n "b": {"a": 2, "x": "a\\": \\"c\\":", "c": [1, {"c": 1, "c": 2}]},\n "a": 3}'
    document = decode_json(text, "m.json")
    assert document.duplicate_keys == ("c", "a")
    assert document.duplicate_locations() == [("c", 2, 54), ("a", 3, 2)]
    assert decode_json(b'{"a": {"a": 1}}', "m.json").duplicate_locations() == []


def test_environment_raises_the_file_size_limit_through_check_model_file(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    with open(path, "wb") as handle:
        handle.truncate(65 * 1024 * 1024)
    code = f"""
from pytest_kerasparams.check import check_model_file
print(check_model_file({str(path)!r}).problems[0].render())
"""
    env = dict(os.environ, PYTHONPATH=str(REPO), KERASPARAMS_MAX_FILE_BYTES=str(66 * 1024 * 1024))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert "over the limit" not in result.stdout, result.stdout + result.stderr
    assert "is not valid JSON" in result.stdout or "not UTF-8" in result.stdout or "is empty" in result.stdout, \
        result.stdout + result.stderr
