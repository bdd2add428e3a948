"""The core every front end shares: read a model file, validate it, compute its figures."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .engine import Engine, EngineError, ModelReport
from .graph import GraphError, ModelSpec, read_model
from .jsonfile import JsonDocument, decode_json, read_json
from .problems import InputError, Problem
from .registry import RuleTable, default_rule_table


@dataclass
class Analysis:
    """A model file and everything recomputed from it."""

    document: JsonDocument
    model: ModelSpec
    report: ModelReport

    @property
    def path(self) -> str:
        return self.document.path


def _located(document: JsonDocument, kind: str, message: str, json_path: tuple[str | int, ...],
             layer: str | None = None, explanation: str = "") -> Problem:
    where = document.locate(json_path) if json_path else None
    line, column = where if where else (None, None)
    return Problem(kind, document.path, message, line, column, layer, explanation)


def looks_like_keras(data: Any) -> bool:
    """False for JSON that is plainly not a Keras layers model (a TF.js graph model, another tool's file)."""
    if not isinstance(data, dict):
        return False
    if "modelTopology" in data:
        topology = data["modelTopology"]
        return isinstance(topology, dict) and ("model_config" in topology or "class_name" in topology)
    return "class_name" in data and "config" in data


def analyze_document(document: JsonDocument, rules: RuleTable | None = None, *,
                     validate_schema: bool = True, opaque_unknown: bool = False) -> Analysis:
    """Validate and compute a decoded model; raises :class:`InputError` with the first blocking problem."""
    try:
        return _analyze(document, rules, validate_schema, opaque_unknown)
    except RecursionError:
        raise InputError(Problem("limit", document.path, "nests models or wrappers too deeply to validate "
                                 "or compute")) from None


def _analyze(document: JsonDocument, rules: RuleTable | None, validate_schema: bool,
             opaque_unknown: bool = False) -> Analysis:
    if validate_schema:
        from .schema import validate

        problems = validate(document)
        if problems:
            raise SchemaErrors(problems)
    try:
        model = read_model(document.data)
    except GraphError as error:
        raise InputError(_located(document, "graph", error.message, error.json_path, error.layer)) from None
    engine = Engine(rules or default_rule_table(), opaque_unknown)
    try:
        report = engine.compute(model)
    except GraphError as error:
        raise InputError(_located(document, "graph", error.message, error.json_path, error.layer)) from None
    except EngineError as error:
        explanation = error.explanation
        if error.kind == "no-rule" and error.layer is not None and not explanation:
            explanation = rule_template(error.layer.class_name)
        raise InputError(_located(document, error.kind, error.message, error.json_path,
                                  error.layer.name if error.layer else None, explanation)) from None
    return Analysis(document, model, report)


def rule_template(class_name: str) -> str:
    """The few lines a user adds to ``conftest.py`` (or a plugin) to teach the linter a layer."""
    return "\n".join([
        "  teach kerasparams this layer in conftest.py (or a plugin module):",
        "    from pytest_kerasparams import hookimpl, LayerResult, Variable",
        "",
        "    @hookimpl",
        "    def kerasparams_layer_rules():",
        f'        return {{"{class_name}": lambda call: LayerResult((call.input_shape,), ())}}',
        "  (return the real output shapes and weights; see the README's plugin section)",
    ])


class SchemaErrors(InputError):
    """All schema errors of one file (the first is the headline)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems[0])
        self.problems = problems


def analyze_file(path: str | os.PathLike[str], display: str | None = None, rules: RuleTable | None = None,
                 *, validate_schema: bool = True) -> Analysis:
    return analyze_document(read_json(path, display), rules, validate_schema=validate_schema)


def analyze_text(text: str, display: str = "<string>", rules: RuleTable | None = None,
                 *, validate_schema: bool = True) -> Analysis:
    return analyze_document(decode_json(text.encode("utf-8"), display), rules, validate_schema=validate_schema)

