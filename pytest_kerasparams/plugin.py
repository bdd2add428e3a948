"""The pytest plugin: every ``model.json`` becomes one test item.

This module is imported in every pytest run of every project that installs
the package, so it imports only pytest and a few standard modules at module
level; the engine (and jsonschema) load when the first model item *runs*, so
``--collect-only`` and runs that collect no model pay almost nothing.
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
ITEM_NAME = "kerasparams"
NOT_KERAS_CHOICES = ("skip", "error")
UNKNOWN_LAYER_CHOICES = ("fail", "skip", "opaque")

PROP_TOTAL = "kerasparams_total"
PROP_TRAINABLE = "kerasparams_trainable"
PROP_NON_TRAINABLE = "kerasparams_non_trainable"
PROP_STORED_TOTAL = "kerasparams_stored_total"

_RULES_KEY = pytest.StashKey["dict[tuple[str, ...], RuleTable]"]()
_RULES_BY_FOLDER_KEY = pytest.StashKey["dict[str, RuleTable]"]()
_SETTINGS_KEY = pytest.StashKey["Settings"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kerasparams", "Keras model configs (pytest-kerasparams)")
    group.addoption("--kerasparams-pattern", action="append", default=None, metavar="GLOB",
                    dest="kerasparams_patterns",
                    help="file names collected as Keras model configs, repeatable; replaces the ini list "
                         "(ini: kerasparams_patterns, default: model.json)")
    group.addoption("--kerasparams-not-keras", choices=NOT_KERAS_CHOICES, default=None,
                    dest="kerasparams_not_keras",
                    help="a matching JSON file that is plainly not a Keras model: skip it with a reason, "
                         "or fail it (ini: kerasparams_not_keras, default: skip)")
    group.addoption("--kerasparams-unknown-layers", choices=UNKNOWN_LAYER_CHOICES, default=None,
                    dest="kerasparams_unknown_layers",
                    help="a layer with no rule: fail the model, skip it, or take the layer as opaque "
                         "(output shape from the file, weights unknown) (ini: kerasparams_unknown_layers, "
                         "default: fail)")
    group.addoption("--kerasparams-max-params", type=int, default=None, metavar="N",
                    dest="kerasparams_max_params",
                    help="fail any model with more than N parameters (ini: kerasparams_max_params)")
    group.addoption("--kerasparams-max-file-bytes", type=int, default=None, metavar="N",
                    dest="kerasparams_max_file_bytes",
                    help="refuse model files larger than N bytes (ini: kerasparams_max_file_bytes, "
                         "default: 64 MiB)")
    group.addoption("--kerasparams-plugin", action="append", default=None, metavar="MODULE",
                    dest="kerasparams_plugins",
                    help="import MODULE as a kerasparams rule plugin, repeatable; replaces the ini list "
                         "(ini: kerasparams_plugins)")
    group.addoption("--kerasparams-report", action="store_true", default=None, dest="kerasparams_report",
                    help="print each model's totals, and the change from its stored figures, in a terminal "
                         "summary section (ini: kerasparams_report)")
    group.addoption("--no-kerasparams-report", action="store_false", dest="kerasparams_report",
                    help="do not print the kerasparams section, whatever the ini file says")
    group.addoption("--kerasparams-oracle", action="store_true", default=False, dest="kerasparams_oracle",
                    help="also build each model with the installed Keras and compare layer by layer "
                         "(needs the oracle extra; imports TensorFlow)")
    group.addoption("--kerasparams-update", action="store_true", default=False, dest="kerasparams_update",
                    help="write or refresh summary.txt beside each model from the recomputation")
    parser.addini("kerasparams_patterns", type="linelist", default=list(DEFAULT_PATTERNS),
                  help="file name patterns collected as Keras model configs (default: model.json)")
    parser.addini("kerasparams_not_keras", default="skip",
                  help="a matching JSON file that is not a Keras model: skip (default) or error")
    parser.addini("kerasparams_unknown_layers", default="fail",
                  help="a layer with no rule: fail (default), skip or opaque")
    parser.addini("kerasparams_max_params", default="",
                  help="fail any model with more parameters than this")
    parser.addini("kerasparams_max_file_bytes", default="",
                  help="refuse model files larger than this many bytes (default: 64 MiB)")
    parser.addini("kerasparams_plugins", type="linelist", default=[],
                  help="modules to import as kerasparams rule plugins")
    parser.addini("kerasparams_report", type="bool", default=False,
                  help="print each model's totals in a terminal summary section")


class Settings:
    """The options of one run, read once; the command line wins over the ini file."""

    def __init__(self, config: pytest.Config) -> None:
        self.patterns: tuple[str, ...] = tuple(_choose(config, "kerasparams_patterns") or DEFAULT_PATTERNS)
        self.not_keras: str = str(_choose(config, "kerasparams_not_keras")).strip()
        if self.not_keras not in NOT_KERAS_CHOICES:
            raise pytest.UsageError(f"kerasparams_not_keras must be 'skip' or 'error', not {self.not_keras!r}")
        self.unknown_layers: str = str(_choose(config, "kerasparams_unknown_layers")).strip()
        if self.unknown_layers not in UNKNOWN_LAYER_CHOICES:
            raise pytest.UsageError(f"kerasparams_unknown_layers must be one of {', '.join(UNKNOWN_LAYER_CHOICES)}, "
                                    f"not {self.unknown_layers!r}")
        self.max_params = _integer(config, "kerasparams_max_params")
        self.max_file_bytes = _integer(config, "kerasparams_max_file_bytes")
        self.plugins: tuple[str, ...] = tuple(_choose(config, "kerasparams_plugins") or ())
        self.report: bool = bool(_choose(config, "kerasparams_report"))
        self.update: bool = bool(config.getoption("kerasparams_update"))
        # Literal names (the usual case) are matched by a set lookup, not fnmatch.
        self.literal_names = frozenset(p for p in self.patterns if not any(c in p for c in "*?["))
        self.glob_patterns = tuple(p for p in self.patterns if p not in self.literal_names)

    def matches(self, name: str) -> bool:
        return name in self.literal_names or any(fnmatch.fnmatch(name, p) for p in self.glob_patterns)


def _choose(config: pytest.Config, name: str) -> Any:
    """The command-line value when given, else the ini value."""
    value = config.getoption(name)
    return value if value is not None else config.getini(name)


def _integer(config: pytest.Config, name: str) -> int | None:
    value = _choose(config, name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise pytest.UsageError(f"{name} must be a whole number, not {value!r}") from None
    if number < 0:
        raise pytest.UsageError(f"{name} must not be negative, not {number}")
    return number


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "kerasparams: a Keras model config checked by pytest-kerasparams")
    settings = Settings(config)
    if settings.update:
        import importlib.util

        if importlib.util.find_spec(f"{__package__}.update") is None:
            raise pytest.UsageError("--kerasparams-update is not available in this version of pytest-kerasparams")
    config.stash[_SETTINGS_KEY] = settings
    config.stash[_RULES_KEY] = {}
    config.stash[_RULES_BY_FOLDER_KEY] = {}
    if settings.report and not hasattr(config, "workerinput"):  # xdist workers do not print summaries
        config.pluginmanager.register(ReportSection(), "kerasparams-report")


def _settings(config: pytest.Config) -> Settings:
    return config.stash[_SETTINGS_KEY]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Report a skipped model at the model file, not at the line of this plugin that skipped it."""
    report = yield
    if (isinstance(item, KerasModelItem) and report.skipped and call.when == "call"
            and isinstance(report.longrepr, tuple) and len(report.longrepr) == 3):
        report.longrepr = (os.fspath(item.path), 1, report.longrepr[2])
    return report


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _settings(parent.config).matches(file_path.name):
        return KerasModelFile.from_parent(parent, path=file_path)
    return None


def _broken_model_links(settings: Settings, directory: Path) -> list[Path]:
    """Matching names in ``directory`` that are symbolic links to nothing (pytest skips those silently)."""
    found = []
    for name in settings.literal_names:
        candidate = directory / name
        if os.path.islink(candidate) and not os.path.exists(candidate):
            found.append(candidate)
    if settings.glob_patterns:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return found
        for entry in entries:
            if (entry.is_symlink() and not os.path.exists(entry.path) and settings.matches(entry.name)
                    and Path(entry.path) not in found):
                found.append(Path(entry.path))
    return sorted(found)


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """A directory named like a model file fails with one sentence; so does a broken link to a model."""
    settings = _settings(parent.config)
    if settings.matches(path.name):
        return KerasModelFile.from_parent(parent, path=path)
    if _broken_model_links(settings, path) and not (path / "__init__.py").exists():  # packages: pytest's own
        return KerasDir.from_parent(parent, path=path)
    return None


class KerasDir(pytest.Dir):
    """pytest's directory collector, plus an item for each broken link named like a model."""

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        yield from super().collect()
        for link in _broken_model_links(_settings(self.config), self.path):
            yield KerasModelFile.from_parent(self, path=link)


class KerasModelFile(pytest.File):
    """A model config file; collecting it reads nothing (``--collect-only`` stays cheap)."""

    def collect(self) -> Iterator[pytest.Item]:
        yield KerasModelItem.from_parent(self, name=ITEM_NAME)


class KerasParamsFailure(Exception):
    """Raised by an item whose model disagrees with something; carries the check."""

    def __init__(self, check: ModelCheck) -> None:
        super().__init__(f"{len(check.problems)} problem(s)")
        self.check = check


def _conftest_plugins(config: pytest.Config) -> list[tuple[Path, Any]]:
    """Conftest modules that define kerasparams rules, with their directory for pytest-style scoping."""
    found = []
    for plugin in config.pluginmanager.get_plugins():
        module_file = getattr(plugin, "__file__", None)
        if (module_file and os.path.basename(module_file) == "conftest.py"
                and callable(getattr(plugin, "kerasparams_layer_rules", None))):
            found.append((Path(module_file).resolve().parent, plugin))
    return found


class KerasModelItem(pytest.Item):
    """Checks one model file: schema, shapes, stored counts and documented formulas."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_marker(ITEM_NAME)

    @property
    def display_path(self) -> str:
        """The model's path as pytest shows it: relative to rootdir, forward slashes."""
        return self.nodeid.rsplit("::", 1)[0]

    def _rules(self) -> RuleTable:
        """Built-ins, installed and named plugins, then the conftest files above this model.

        As with pytest fixtures, a conftest applies to models in its folder and
        below, and a nearer conftest's rule replaces a farther one's. Tables are
        cached per folder, so a run over many models builds each once.
        """
        config = self.config
        by_folder = config.stash[_RULES_BY_FOLDER_KEY]
        folder = os.path.dirname(self.path)
        table = by_folder.get(folder)
        if table is None:
            table = by_folder[folder] = self._build_rules()
        return table

    def _scoped_conftests(self) -> list[tuple[Path, Any]]:
        """Conftest plugins that apply to this model, farthest first."""
        here = self.path.resolve().parent
        scoped = [(directory, plugin) for directory, plugin in _conftest_plugins(self.config)
                  if directory == here or directory in here.parents]
        scoped.sort(key=lambda pair: len(pair[0].parts))
        return scoped

    def _build_rules(self) -> RuleTable:
        config = self.config
        settings = _settings(config)
        scoped = self._scoped_conftests()
        key = settings.plugins + tuple(str(directory) for directory, _ in scoped)
        cache = config.stash[_RULES_KEY]
        if key not in cache:
            from .registry import RuleTable, default_rule_table

            table = default_rule_table(settings.plugins)
            for directory, plugin in scoped:
                try:
                    where = directory.relative_to(config.rootpath).as_posix()
                except ValueError:
                    where = directory.as_posix()
                local = RuleTable().extended([(f"conftest:{where}/conftest.py", plugin)])
                table = RuleTable({**table.rules, **local.rules}, table.errors + local.errors)
            cache[key] = table
        return cache[key]

    def _options(self) -> CheckOptions:
        from .check import CheckOptions

        settings = _settings(self.config)
        options = CheckOptions(rules=self._rules(), not_keras=settings.not_keras, max_params=settings.max_params,
                               rootdir=str(self.config.rootpath), unknown_layers=settings.unknown_layers)
        if settings.max_file_bytes is not None:
            options.max_file_bytes = settings.max_file_bytes
        return options

    def runtest(self) -> None:
        from .check import check_model_file
        from .problems import Problem

        display = self.display_path
        options = self._options()
        check = check_model_file(self.path, options, display=display)
        assert options.rules is not None
        for message in options.rules.errors:
            check.problems.insert(0, Problem("plugin", display, message))
        if self.config.getoption("kerasparams_oracle") and check.analysis is not None:
            from .oracle import cross_check

            conftests = [plugin for _, plugin in self._scoped_conftests()]
            check.problems.extend(cross_check(check.analysis, _settings(self.config).plugins, conftests))
        if _settings(self.config).update and check.analysis is not None:
            from .update import update_summary  # type: ignore[import-not-found,unused-ignore]

            update_summary(check, self.path)
            check = check_model_file(self.path, options, display=display)
        self.user_properties.extend(_properties(check))
        if check.skipped is not None and not check.problems:
            pytest.skip(check.skipped)
        if check.problems:
            raise KerasParamsFailure(check)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: str | None = None) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, KerasParamsFailure):
            return "\n\n".join(problem.render() for problem in excinfo.value.check.problems)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        return self.path, 0, f"kerasparams: {self.display_path}"


def _properties(check: ModelCheck) -> list[tuple[str, int]]:
    """The figures recorded on the item: JUnit XML properties, and the report's source under xdist."""
    if check.analysis is None:
        return []
    report = check.analysis.report
    properties = [(PROP_TOTAL, report.total), (PROP_TRAINABLE, report.trainable),
                  (PROP_NON_TRAINABLE, report.non_trainable)]
    stored = check.stored_total()
    if stored is not None:
        properties.append((PROP_STORED_TOTAL, stored))
    return properties


class ReportRow:
    """What the terminal section shows for one model, rebuilt from its test report."""

    def __init__(self, path: str, outcome: str, properties: dict[str, Any]) -> None:
        self.path = path
        self.outcome = outcome
        self.total: int | None = properties.get(PROP_TOTAL)
        self.trainable: int | None = properties.get(PROP_TRAINABLE)
        self.non_trainable: int | None = properties.get(PROP_NON_TRAINABLE)
        self.stored: int | None = properties.get(PROP_STORED_TOTAL)

    def change(self) -> str:
        if self.total is None:
            return ""
        if self.stored is None:
            return "no stored figures"
        if self.stored == self.total:
            return "same as stored"
        from .explain import percent_change

        difference = self.total - self.stored
        return f"stored {self.stored:,}, {difference:+,}{percent_change(difference, self.stored)}"


class ReportSection:
    """The ``--kerasparams-report`` section, registered only when asked for.

    Figures come from test reports (not items) so the section also works
    under pytest-xdist, where items run in worker processes.
    """

    def __init__(self) -> None:
        self.rows: dict[str, ReportRow] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" or not report.nodeid.endswith(f"::{ITEM_NAME}"):
            return
        if ITEM_NAME not in report.keywords:
            return
        self.rows[report.nodeid] = ReportRow(report.nodeid.rsplit("::", 1)[0], report.outcome,
                                             dict(report.user_properties))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        rows = sorted(self.rows.values(), key=lambda row: row.path)
        if not rows:
            return
        terminalreporter.section("kerasparams")
        for line in _report_table(rows):
            terminalreporter.write_line(line)


def _report_table(rows: list[ReportRow]) -> list[str]:
    table = [("model", "total", "trainable", "non-trainable", "change")]
    for row in rows:
        if row.total is None:
            table.append((row.path, "-", "-", "-", f"not computed ({row.outcome})"))
        else:
            table.append((row.path, f"{row.total:,}", f"{row.trainable or 0:,}", f"{row.non_trainable or 0:,}",
                          row.change()))
    computed = [row for row in rows if row.total is not None]
    table.append((f"{len(rows)} model{'s' if len(rows) != 1 else ''}, {len(computed)} computed",
                  f"{sum(r.total or 0 for r in computed):,}", f"{sum(r.trainable or 0 for r in computed):,}",
                  f"{sum(r.non_trainable or 0 for r in computed):,}", _total_change(computed)))
    widths = [max(len(line[i]) for line in table) for i in range(5)]
    out = []
    for index, line in enumerate(table):
        if index == len(table) - 1:
            out.append("-" * (sum(widths) + 8))
        cells = [line[0].ljust(widths[0])] + [line[i].rjust(widths[i]) for i in (1, 2, 3)] + [line[4]]
        out.append("  ".join(cells).rstrip())
    return out


def _total_change(rows: list[ReportRow]) -> str:
    with_stored = [row for row in rows if row.stored is not None]
    if not with_stored:
        return ""
    difference = sum((row.total or 0) - (row.stored or 0) for row in with_stored)
    return "same as stored" if difference == 0 else f"{difference:+,} against stored"
