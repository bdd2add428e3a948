"""The plugin API: rules from installed packages, modules and conftest files, and their failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_kerasparams import hookspecs
from pytest_kerasparams.analysis import analyze_text
from pytest_kerasparams.problems import InputError
from pytest_kerasparams.registry import (PluginConflict, RuleTable, build_rule_table, default_rule_table,
                                         make_plugin_manager)

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "tests" / "plugins"


def _sequential(*layers: dict, input_shape: list) -> str:
    return json.dumps({"class_name": "Sequential", "keras_version": "2.2.4-tf", "config": {
        "name": "sequential",
        "layers": [{"class_name": "InputLayer", "config": {"name": "input", "batch_input_shape": input_shape}},
                   *layers]}})


SCALE_MODEL = _sequential(
    {"class_name": "LayerScale", "config": {"name": "scale", "projection_dim": 96, "init_values": 1e-6}},
    input_shape=[None, 7, 7, 96])


def _install_entry_point(site: Path, name: str, target: str) -> None:
    """A minimal installed distribution: what pip leaves behind for a plugin package."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[kerasparams]\n{name} = {target}\n")


def test_installed_plugin_counts_custom_layer(tmp_path, monkeypatch):
    _install_entry_point(tmp_path, "apps_plugin", "kerasparams_apps_plugin")
    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.syspath_prepend(str(tmp_path))
    manager, errors = make_plugin_manager()
    table = build_rule_table(manager, errors)
    assert table.get("LayerScale")[1] == "apps_plugin"
    report = analyze_text(SCALE_MODEL, rules=table).report
    # 96 channels, one learned scale each.
    assert (report.total, report.trainable) == (96, 96)


def test_installed_plugin_works_in_cli(tmp_path):
    site = tmp_path / "site"
    _install_entry_point(site, "apps_plugin", "kerasparams_apps_plugin")
    model = tmp_path / "m" / "model.json"
    model.parent.mkdir()
    model.write_text(SCALE_MODEL)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(PLUGINS), str(ROOT)]))
    run = subprocess.run([sys.executable, "-m", "pytest_kerasparams.cli", "summary", "--format", "json",
                          str(model)], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)[0]["total"] == 96
    without = subprocess.run([sys.executable, "-m", "pytest_kerasparams.cli", "check", str(model)],
                             capture_output=True, text=True, timeout=120,
                             env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert without.returncode == 1
    assert "no rule for layer class LayerScale" in without.stdout


def test_module_plugin_overrides_builtin(tmp_path, monkeypatch):
    (tmp_path / "halved_dense.py").write_text(textwrap.dedent("""
        from pytest_kerasparams import hookimpl, LayerResult, Variable

        def dense(call):
            units = call.get("units")
            return LayerResult(((None, units),), (Variable("kernel", (call.input_shape[-1], units)),))

        @hookimpl
        def kerasparams_layer_rules():
            return {"Dense": dense}
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    table = default_rule_table(("halved_dense",))
    assert table.get("Dense")[1] == "halved_dense"
    model = _sequential({"class_name": "Dense", "config": {"name": "d", "units": 3}}, input_shape=[None, 4])
    assert analyze_text(model, rules=table).report.total == 12  # kernel only: 4 x 3, the plugin's rule


def test_two_plugins_claiming_one_class_is_an_error_naming_both():
    table = RuleTable()
    table.add("first_plugin", {"MyLayer": lambda call: None})
    with pytest.raises(PluginConflict, match="first_plugin.*second_plugin"):
        table.add("second_plugin", {"MyLayer": lambda call: None})


def test_plugin_that_fails_to_import_is_reported_and_the_rest_works():
    manager, errors = make_plugin_manager(modules=("no_such_kerasparams_plugin",))
    table = build_rule_table(manager, errors)
    assert any("no_such_kerasparams_plugin" in e and "ModuleNotFoundError" in e for e in table.errors)
    assert table.get("Dense") is not None


def _raises(call):
    raise ZeroDivisionError("boom")


def _wrong_type(call):
    return 42


def _negative_dimension(call):
    from pytest_kerasparams import LayerResult

    return LayerResult(((None, -3),))


@pytest.mark.parametrize("rule, fault", [
    (_raises, "ZeroDivisionError: boom"),
    (_wrong_type, "returned int, not a LayerResult"),
    (_negative_dimension, "invalid dimension -3"),
])
def test_faulty_rule_is_blamed_on_its_plugin(rule, fault):
    plugin = type("FaultyPlugin", (), {"kerasparams_layer_rules": staticmethod(lambda: {"Odd": rule})})()
    table = default_rule_table().extended([("faulty_plugin", plugin)])
    model = _sequential({"class_name": "Odd", "config": {"name": "odd"}}, input_shape=[None, 4])
    with pytest.raises(InputError) as caught:
        analyze_text(model, rules=table)
    message = caught.value.problem.message
    assert "faulty_plugin" in message and fault in message


def test_unknown_layer_failure_shows_the_hookimpl_to_write():
    model = _sequential({"class_name": "Mystery", "module": "my_project.layers",
                         "config": {"name": "m"}}, input_shape=[None, 4])
    with pytest.raises(InputError) as caught:
        analyze_text(model)
    problem = caught.value.problem
    assert "no rule for layer class Mystery" in problem.message
    assert "my_project.layers" in problem.message
    assert "@hookimpl" in problem.explanation and '"Mystery"' in problem.explanation


def test_every_hook_is_documented_and_tested():
    hooks = [name for name in dir(hookspecs) if name.startswith("kerasparams_")]
    assert hooks, "the package declares hooks"
    readme = (ROOT / "README.md").read_text()
    tests = "".join(p.read_text() for p in (ROOT / "tests").rglob("*.py") if p.name != "test_plugin_api.py")
    for hook in hooks:
        assert f"`{hook}" in readme, f"{hook} is not documented in the README"
        assert hook in tests, f"{hook} is used by no test"


def _readme_conftest() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("```python\n# conftest.py\n") + len("```python\n")
    return text[start:text.index("```", start)]


def test_readme_example_in_conftest_counts_the_custom_layer(pytester):
    pytester.makeconftest(_readme_conftest())
    model = pytester.mkdir("models") / "model.json"
    model.write_text(_sequential({"class_name": "ScaleShift", "config": {"name": "scale_shift"}},
                                 input_shape=[None, 10, 32]))
    # Keras prints 64 = one gamma and one beta for each of 32 channels.
    (model.parent / "summary.txt").write_text(
        "Layer (type)                 Output Shape              Param #\n"
        "=================================================================\n"
        "scale_shift (ScaleShift)     (None, 10, 32)            64\n"
        "=================================================================\n"
        "Total params: 64\nTrainable params: 64\nNon-trainable params: 0\n")
    result = pytester.runpytest("models", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_readme_conftest_scoping_stops_at_its_folder(pytester):
    pytester.mkdir("a")
    (pytester.path / "a" / "conftest.py").write_text(_readme_conftest())
    for folder in ("a", "b"):
        target = pytester.path / folder / "m" / "model.json"
        target.parent.mkdir(parents=True)
        target.write_text(_sequential({"class_name": "ScaleShift", "config": {"name": "s"}},
                                       input_shape=[None, 4]))
    result = pytester.runpytest("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*b/m/model.json*no rule for layer class ScaleShift*"])
