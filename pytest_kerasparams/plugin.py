"""The pytest plugin: every ``model.json`` becomes one test item.

This module is imported in every pytest run of every project that installs
the package, so it imports only pytest at module level; the engine loads
when the first model file is collected.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

if TYPE_CHECKING:
    from .check import CheckOptions, ModelCheck
    from .registry import RuleTable

DEFAULT_PATTERNS = ("model.json",)
_RULES_KEY = pytest.StashKey["dict[tuple[str, ...], RuleTable]"]()
_RESULTS_KEY = pytest.StashKey["list[ModelCheck]"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kerasparams", "Keras model configs (pytest-kerasparams)")
    group.addoption("--kerasparams-update", action="store_true", default=None,
                    help="write or refresh summary.txt beside each model from the recomputation")
    group.addoption("--kerasparams-report", action="store_true", default=None,
                    help="print each model's totals in a terminal summary section")
    group.addoption("--kerasparams-max-params", type=int, default=None, metavar="N",
                    help="fail any model with more than N parameters (ini: kerasparams_max_params)")
    group.addoption("--kerasparams-plugin", action="append", default=[], metavar="MODULE",
                    help="import MODULE as a kerasparams rule plugin (repeatable; ini: kerasparams_plugins)")
    parser.addini("kerasparams_patterns", type="linelist", default=list(DEFAULT_PATTERNS),
                  help="file name patterns collected as Keras model configs (default: model.json)")
    parser.addini("kerasparams_not_keras", default="skip",
                  help="what to do with a matching JSON file that is not a Keras model: skip or error")
    parser.addini("kerasparams_max_params", default="",
                  help="fail any model with more parameters than this")
    parser.addini("kerasparams_plugins", type="linelist", default=[],
                  help="modules to import as kerasparams rule plugins")
    parser.addini("kerasparams_report", type="bool", default=False,
                  help="print each model's totals in a terminal summary section")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "kerasparams: a Keras model config checked by pytest-kerasparams")
    config.stash[_RULES_KEY] = {}
    config.stash[_RESULTS_KEY] = []


def _conftest_plugins(config: pytest.Config) -> list[tuple[Path, Any]]:
    """Conftest modules that define kerasparams rules, with their directory for pytest-style scoping."""
    found = []
    for plugin in config.pluginmanager.get_plugins():
        module_file = getattr(plugin, "__file__", None)
        if module_file and Path(module_file).name == "conftest.py" and hasattr(plugin, "kerasparams_layer_rules"):
            found.append((Path(module_file).parent, plugin))
    return found


def _option(config: pytest.Config, name: str, ini: str) -> Any:
    """Command line wins over the ini file."""
    value = config.getoption(name)
    return value if value not in (None, []) else config.getini(ini)


def _matches(config: pytest.Config, file_path: Path) -> bool:
    patterns = config.getini("kerasparams_patterns") or list(DEFAULT_PATTERNS)
    return any(fnmatch.fnmatch(file_path.name, pattern) for pattern in patterns)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".json" and _matches(parent.config, file_path):
        return KerasModelFile.from_parent(parent, path=file_path)
    return None


class KerasModelFile(pytest.File):
    """A model config file; collecting it reads nothing (``--collect-only`` stays cheap)."""

    def collect(self) -> Iterator[pytest.Item]:
        yield KerasModelItem.from_parent(self, name="kerasparams")


class KerasParamsFailure(Exception):
    """Raised by an item whose model disagrees with something; carries the check."""

    def __init__(self, check: ModelCheck) -> None:
        super().__init__(f"{len(check.problems)} problem(s)")
        self.check = check


class KerasModelItem(pytest.Item):
    """Checks one model file: schema, shapes, stored counts and documented formulas."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_marker("kerasparams")

    def _rules(self) -> RuleTable:
        from .registry import default_rule_table

        config = self.config
        modules = tuple(config.getoption("kerasparams_plugin") or ()) + tuple(config.getini("kerasparams_plugins"))
        scoped = [(str(directory), plugin) for directory, plugin in _conftest_plugins(config)
                  if directory == self.path.parent or directory in self.path.parents]
        key = modules + tuple(name for name, _ in scoped)
        cache = config.stash[_RULES_KEY]
        if key not in cache:
            from .registry import PluginConflict, RuleTable

            base = default_rule_table(modules)
            try:
                cache[key] = base.extended((f"conftest:{name}", plugin) for name, plugin in scoped)
            except PluginConflict as error:
                cache[key] = RuleTable(dict(base.rules), base.errors + [str(error)])
        return cache[key]

    def _options(self) -> CheckOptions:
        from .check import CheckOptions

        budget = _option(self.config, "kerasparams_max_params", "kerasparams_max_params")
        try:
            max_params = int(budget) if budget not in (None, "") else None
        except ValueError:
            raise pytest.UsageError(f"kerasparams_max_params must be an integer, not {budget!r}") from None
        not_keras = self.config.getini("kerasparams_not_keras")
        if not_keras not in ("skip", "error"):
            raise pytest.UsageError(f"kerasparams_not_keras must be 'skip' or 'error', not {not_keras!r}")
        return CheckOptions(rules=self._rules(), not_keras=not_keras, max_params=max_params,
                            rootdir=str(self.config.rootpath))

    def runtest(self) -> None:
        from .check import check_model_file
        from .problems import Problem

        display = self.nodeid.split("::", 1)[0]
        options = self._options()
        check = check_model_file(self.path, options, display=display)
        assert options.rules is not None
        for message in options.rules.errors:
            check.problems.insert(0, Problem("plugin", display, message))
        if self.config.getoption("kerasparams_update") and check.analysis is not None:
            from .update import update_summary

            update_summary(check, self.path)
            check = check_model_file(self.path, options, display=display)
        self.config.stash[_RESULTS_KEY].append(check)
        if check.analysis is not None:
            report = check.analysis.report
            self.user_properties += [("kerasparams_total", report.total),
                                     ("kerasparams_trainable", report.trainable),
                                     ("kerasparams_non_trainable", report.non_trainable)]
        if check.skipped is not None:
            pytest.skip(check.skipped)
        if check.problems:
            raise KerasParamsFailure(check)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: str | None = None) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, KerasParamsFailure):
            problems = excinfo.value.check.problems
            return "\n\n".join(problem.render() for problem in problems)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        return self.path, 0, f"kerasparams: {self.nodeid.split('::', 1)[0]}"


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _option(config, "kerasparams_report", "kerasparams_report"):
        return
    results = config.stash.get(_RESULTS_KEY, [])
    if not results:
        return
    terminalreporter.section("kerasparams")
    for check in results:
        if check.analysis is None:
            terminalreporter.write_line(f"{check.path}: not computed")
            continue
        report = check.analysis.report
        line = (f"{check.path}: total {report.total:,}, trainable {report.trainable:,}, "
                f"non-trainable {report.non_trainable:,}")
        stored = next((s.totals["total"][0] for s in check.summaries if "total" in s.totals), None)
        if stored is not None and stored != report.total:
            change = report.total - stored
            percent = f", {change / stored:+.1%}" if stored else ""
            line += f" (stored {stored:,} -> {report.total:,}, {change:+,}{percent})"
        terminalreporter.write_line(line)
