"""Problems: the one shape every finding takes, from bad JSON to a wrong gate."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text from a model file, safe for a terminal: control characters shown as escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


@dataclass(frozen=True)
class Problem:
    """One finding, located in a file, with an optional multi-line explanation.

    ``kind`` is a stable machine-readable word (``invalid-json``, ``schema``,
    ``graph``, ``no-rule``, ``summary``, ``weights``, ``manifest``,
    ``formula``, ``plugin``, ``budget``, ``limit``).
    """

    kind: str
    file: str
    message: str
    line: int | None = None
    column: int | None = None
    layer: str | None = None
    explanation: str = ""
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    def location(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def headline(self) -> str:
        return printable(f"{self.location()}: {self.message}")

    def render(self) -> str:
        text = self.headline()
        if self.explanation:
            text += "\n" + printable(self.explanation.rstrip("\n"))
        return text

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "layer": self.layer,
            "message": self.message,
            "explanation": self.explanation,
        }


class InputError(Exception):
    """A file that cannot be read as a model; carries the problem to report."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.headline())
        self.problem = problem
