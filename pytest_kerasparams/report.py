"""A Markdown review report: fit for a CI job summary or a pull-request comment."""

from __future__ import annotations

from typing import Any, Iterable

from .diagram import diagram_for, to_mermaid
from .explain import percent_change


def change_text(stored: int | None, total: int) -> str:
    """``126,301 → 131,405, +4.0%``, or the plain total when nothing was stored."""
    if stored is None or stored == total:
        return f"{total:,}"
    return f"{stored:,} → {total:,}{percent_change(total - stored, stored)}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(checks: Iterable[Any], diagrams: bool = True) -> str:
    checks = list(checks)
    failed = sum(1 for c in checks if c.problems)
    lines = ["## kerasparams", "",
             f"{len(checks)} model(s) checked, {failed} with problems.", "",
             "| model | status | total params | trainable | non-trainable |",
             "| --- | --- | ---: | ---: | ---: |"]
    for check in checks:
        status = "skipped" if check.skipped else "❌ fails" if check.problems else "✅ agrees"
        if check.analysis is None:
            lines.append(f"| `{_cell(check.path)}` | {status} | – | – | – |")
            continue
        report = check.analysis.report
        lines.append(f"| `{_cell(check.path)}` | {status} | {change_text(check.stored_total(), report.total)} "
                     f"| {report.trainable:,} | {report.non_trainable:,} |")
    for check in checks:
        if not check.problems and not diagrams:
            continue
        lines += ["", f"### `{check.path}`", ""]
        for problem in check.problems:
            lines += ["<details>", f"<summary>{_html(problem.headline())}</summary>", "", "```text",
                      problem.render(), "```", "", "</details>"]
        if diagrams and check.analysis is not None:
            lines += ["", "```mermaid", to_mermaid(diagram_for(check.analysis)).rstrip(), "```"]
    return "\n".join(lines) + "\n"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
