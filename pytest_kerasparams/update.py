"""The snapshot workflow: write or refresh ``summary.txt`` beside a model from the recomputation.

The file keeps the Keras layout it already has (Keras 2 cut columns,
tf.keras wrapped columns, Keras 3 box); a new file gets the Keras 3 box.
Text around the table (notes, other tables) is kept. The write is atomic: a
temporary file in the same folder, then ``os.replace``; an interrupted run
leaves the old summary whole. The model file itself is never touched.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from .check import SUMMARY_FILE, ModelCheck
from .sources.summary import STYLE_KERAS2, STYLE_KERAS3, StoredSummary, parse_summaries
from .sources.summary_writer import Layout, render_summary

_RULE = re.compile(r"^\s*(_+|=+|┏[━┳]+┓)\s*$")


def layout_of(stored: StoredSummary, lines: list[str]) -> Layout:
    """The layout an existing table was printed in, so a refresh looks the same."""
    length = stored.line_length
    above = stored.line - 2
    if 0 <= above < len(lines) and _RULE.match(lines[above]):
        length = len(lines[above].strip())
    if stored.style == STYLE_KERAS3:
        length = len(lines[stored.line - 1].strip()) if stored.line - 1 < len(lines) else length
    return Layout(style=stored.style if stored.style in (STYLE_KERAS2, STYLE_KERAS3) else "tf-keras",
                  line_length=length, model_line=stored.model_name is not None,
                  has_size=stored.has_size, thousands=stored.thousands)


def _table_span(stored: StoredSummary, lines: list[str]) -> tuple[int, int]:
    """0-based ``[start, end)`` of the lines one printed table occupies, with its rules and model line."""
    start = stored.line - 1
    if start - 1 >= 0 and _RULE.match(lines[start - 1]):
        start -= 1
    if start - 1 >= 0 and re.match(r'^\s*(Model|Sequential):\s*"', lines[start - 1]):
        start -= 1
    end = max(stored.end_line, stored.line)
    if end < len(lines) and re.match(r"^\s*_+\s*$", lines[end]):
        end += 1
    return start, end


def render_for(check: ModelCheck, existing: str | None) -> str:
    """The new content of summary.txt: the existing text with its first table refreshed."""
    assert check.analysis is not None
    report = check.analysis.report
    if existing:
        lines = existing.splitlines()
        summaries = parse_summaries(existing, SUMMARY_FILE)
        if summaries:
            stored = summaries[0]
            table = render_summary(report, layout_of(stored, lines)).splitlines()
            start, end = _table_span(stored, lines)
            return "\n".join(lines[:start] + table + lines[end:]) + "\n"
        if existing.strip():  # notes but no table yet: keep them, the table goes below
            return existing.rstrip("\n") + "\n\n" + render_summary(report, Layout())
    return render_summary(report, Layout())


def write_atomically(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` through a temporary file in the same folder and ``os.replace``."""
    try:
        mode = target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def update_summary(check: ModelCheck, model_path: Path) -> Path | None:
    """Write or refresh summary.txt beside ``model_path``; the path written, or None if nothing changed.

    Returns None too when the model could not be computed (nothing to write).
    """
    if check.analysis is None:
        return None
    target = Path(model_path).parent / SUMMARY_FILE
    existing: str | None = None
    if target.is_file():
        try:
            existing = target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            existing = None
    text = render_for(check, existing)
    if existing == text:
        return None
    write_atomically(target, text)
    return target
