"""The shipped JSON Schema and its validation, reported like check-jsonschema: every error, with its path."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from .jsonfile import JsonDocument, format_json_path
from .problems import Problem

SCHEMA_FILE = "keras-model.schema.json"


def schema_text() -> str:
    return resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _validator() -> Any:
    """Compiled once per process: schema compilation is the expensive part."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(schema_text()))


def _leaf_errors(error: Any) -> list[Any]:
    """For oneOf/anyOf, every error of the branch the author most likely meant: what they must fix.

    A branch that wants another JSON type than the value has (an integer where a list was
    given) is the wrong branch, so it is set aside before jsonschema's ``best_match`` picks.
    """
    from jsonschema.exceptions import best_match

    if not error.context:
        return [error]
    wrong_type = {e.relative_schema_path[0] for e in error.context
                  if e.validator == "type" and not e.relative_path and e.relative_schema_path}
    candidates = [e for e in error.context if e.relative_schema_path and e.relative_schema_path[0] not in wrong_type]
    best = best_match(candidates or list(error.context))
    if best is None or best is error:
        return [error]
    branch = best.relative_schema_path[0] if best.relative_schema_path else None
    same_branch = [e for e in error.context if e.relative_schema_path and e.relative_schema_path[0] == branch]
    leaves: list[Any] = []
    for chosen in same_branch or [best]:
        leaves.extend(_leaf_errors(chosen))
    return leaves


def validate(document: JsonDocument, max_errors: int = 50) -> list[Problem]:
    """Every schema error of a decoded model file, located at its line and column."""
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for error in _validator().iter_errors(document.data):
        for leaf in _leaf_errors(error):
            path = tuple(leaf.absolute_path)
            key = (format_json_path(path), leaf.message)
            if key in seen:
                continue
            seen.add(key)
            where = document.locate(path)
            line, column = where if where else (None, None)
            problems.append(Problem("schema", document.path, f"{key[0]}: {leaf.message}", line, column,
                                    data={"json_path": key[0]}))
            if len(problems) >= max_errors:
                return problems
    problems.sort(key=lambda p: (p.line or 0, p.column or 0))
    return problems
