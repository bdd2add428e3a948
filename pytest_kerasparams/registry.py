"""The plugin manager: built-in rules, entry-point plugins and conftest plugins, one table."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import pluggy

from . import hookspecs
from .api import Rule

BUILTIN = "kerasparams.builtin"
ENTRY_POINT_GROUP = "kerasparams"

BUILTIN_RULE_MODULES = (
    "pytest_kerasparams.rules.core",
    "pytest_kerasparams.rules.convolutional",
    "pytest_kerasparams.rules.pooling",
    "pytest_kerasparams.rules.recurrent",
    "pytest_kerasparams.rules.wrappers",
    "pytest_kerasparams.rules.legacy",
    "pytest_kerasparams.rules.normalization",
    "pytest_kerasparams.rules.merging",
    "pytest_kerasparams.rules.reshaping",
    "pytest_kerasparams.rules.attention",
    "pytest_kerasparams.rules.preprocessing",
    "pytest_kerasparams.rules.operations",
)


class PluginConflict(Exception):
    """Two plugins claim one layer class."""


@dataclass
class RuleTable:
    """``class_name -> (rule, plugin name)``, with plugin load errors kept for reporting."""

    rules: dict[str, tuple[Rule, str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def get(self, class_name: str) -> tuple[Rule, str] | None:
        return self.rules.get(class_name)

    def extended(self, plugins: Iterable[tuple[str, Any]]) -> RuleTable:
        """A copy with more plugins' rules; they override built-ins, never each other."""
        table = RuleTable(dict(self.rules), list(self.errors))
        for name, plugin in plugins:
            table._add_plugin(name, plugin)
        return table

    def _add_plugin(self, name: str, plugin: Any) -> None:
        hook = getattr(plugin, "kerasparams_layer_rules", None)
        if hook is None:
            return
        try:
            provided = hook()
        except Exception as error:  # a broken plugin must not stop the others
            self.errors.append(f"plugin {name!r} failed in kerasparams_layer_rules: {type(error).__name__}: {error}")
            return
        self.add(name, provided)

    def add(self, plugin_name: str, provided: Any) -> None:
        if not isinstance(provided, Mapping):
            self.errors.append(f"plugin {plugin_name!r} returned {type(provided).__name__} from "
                               "kerasparams_layer_rules, not a mapping of class name to rule")
            return
        for class_name, rule in provided.items():
            if not isinstance(class_name, str) or not callable(rule):
                self.errors.append(f"plugin {plugin_name!r} offers {class_name!r}: {rule!r}, "
                                   "which is not a class name and a callable rule")
                continue
            existing = self.rules.get(class_name)
            if existing is not None and existing[1] not in (BUILTIN, plugin_name):
                raise PluginConflict(f"layer class {class_name} is claimed by two plugins: "
                                     f"{existing[1]!r} and {plugin_name!r}")
            self.rules[class_name] = (rule, plugin_name)


def make_plugin_manager(*, entry_points: bool = True, modules: Iterable[str] = ()) -> tuple[
        pluggy.PluginManager, list[str]]:
    """A plugin manager with the built-in rules, installed plugins and named modules.

    Returns the manager and the list of load errors (a plugin that fails to
    import is reported by name, and the rest keeps working).
    """
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    errors: list[str] = []
    for module_name in BUILTIN_RULE_MODULES:
        manager.register(importlib.import_module(module_name), name=f"{BUILTIN}:{module_name.rsplit('.', 1)[1]}")
    if entry_points:
        from importlib.metadata import entry_points as find_entry_points

        for entry in find_entry_points(group=ENTRY_POINT_GROUP):
            try:
                manager.register(entry.load(), name=entry.name)
            except Exception as error:
                errors.append(f"plugin {entry.name!r} ({entry.value}) failed to load: {type(error).__name__}: {error}")
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
            if manager.is_registered(module):
                continue  # a built-in (or entry-point) plugin named again: once is enough
            manager.register(module, name=module_name)
        except Exception as error:
            errors.append(f"plugin module {module_name!r} failed to load: {type(error).__name__}: {error}")
    return manager, errors


def build_rule_table(manager: pluggy.PluginManager, errors: Iterable[str] = ()) -> RuleTable:
    """Collect every plugin's rules; built-ins first so plugins override them."""
    table = RuleTable(errors=list(errors))
    impls = manager.hook.kerasparams_layer_rules.get_hookimpls()
    ordered = sorted(impls, key=lambda impl: not impl.plugin_name.startswith(BUILTIN))
    for impl in ordered:
        plugin_name = BUILTIN if impl.plugin_name.startswith(BUILTIN) else impl.plugin_name
        try:
            provided = impl.function()
        except Exception as error:
            table.errors.append(f"plugin {plugin_name!r} failed in kerasparams_layer_rules: "
                                f"{type(error).__name__}: {error}")
            continue
        table.add(plugin_name, provided)
    return table


_default_table: RuleTable | None = None


def default_rule_table(modules: tuple[str, ...] = ()) -> RuleTable:
    """The rule table for built-ins and installed plugins, built once per process."""
    global _default_table
    if modules:
        manager, errors = make_plugin_manager(modules=modules)
        return build_rule_table(manager, errors)
    if _default_table is None:
        manager, errors = make_plugin_manager()
        _default_table = build_rule_table(manager, errors)
    return _default_table


def keras_objects(flavor: str, modules: tuple[str, ...] = (), extra_plugins: Iterable[Any] = ()) -> dict[str, Any]:
    """Keras classes that plugins register for the cross-check (``kerasparams_keras_objects``)."""
    manager, _ = make_plugin_manager(modules=modules)
    for index, plugin in enumerate(extra_plugins):
        if manager.is_registered(plugin) is False and hasattr(plugin, "kerasparams_keras_objects"):
            manager.register(plugin, name=f"conftest:{index}:{getattr(plugin, '__file__', plugin)}")
    objects: dict[str, Any] = {}
    results = list(manager.hook.kerasparams_keras_objects(flavor=flavor))
    for provided in results:
        if isinstance(provided, Mapping):
            objects.update({str(k): v for k, v in provided.items()})
    return objects
