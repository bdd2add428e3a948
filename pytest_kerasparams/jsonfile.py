"""Reading untrusted JSON: bounded, strict, and able to point at a line.

Parsing uses the C decoder for speed; positions are found only when a
problem needs one, by walking the text along a JSON path.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Iterable

from .problems import InputError, Problem

JsonPath = tuple["str | int", ...]

DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024


def format_json_path(path: Iterable[str | int]) -> str:
    """``("config", "layers", 2)`` -> ``$.config.layers[2]`` (check-jsonschema style)."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out


class _DuplicateKeys:
    """Collects duplicate keys seen while decoding (Keras keeps the last one)."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    self.keys.append(key)
                seen.add(key)
        return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


@dataclass
class JsonDocument:
    """A decoded JSON file that remembers its text for locating values."""

    path: str
    text: str
    data: Any
    duplicate_keys: tuple[str, ...] = ()

    def position(self, index: int) -> tuple[int, int]:
        line = self.text.count("\n", 0, index) + 1
        column = index - (self.text.rfind("\n", 0, index) + 1) + 1
        return line, column

    def locate(self, json_path: Iterable[str | int]) -> tuple[int, int] | None:
        """Line and column (1-based) of the value at ``json_path``, or of its nearest parent."""
        index = _find(self.text, tuple(json_path))
        return None if index is None else self.position(index)

    def line_of(self, json_path: Iterable[str | int]) -> int | None:
        found = self.locate(json_path)
        return found[0] if found else None


_decoder = json.JSONDecoder()
_WS = " \t\n\r"


def _skip_ws(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WS:
        index += 1
    return index


def _find(text: str, json_path: JsonPath) -> int | None:
    """Index of the value at ``json_path``; the deepest reachable parent if it is missing."""
    index = _skip_ws(text, 0)
    if text.startswith("\ufeff"):
        index = _skip_ws(text, 1)
    found = index
    try:
        for part in json_path:
            if index >= len(text):
                return found
            if isinstance(part, str) and text[index] == "{":
                index = _skip_ws(text, index + 1)
                while index < len(text) and text[index] != "}":
                    key, index = json.decoder.scanstring(text, index + 1)
                    index = _skip_ws(text, index)
                    index = _skip_ws(text, index + 1)  # the colon
                    if key == part:
                        break
                    _, index = _decoder.raw_decode(text, index)
                    index = _skip_ws(text, index)
                    if index < len(text) and text[index] == ",":
                        index = _skip_ws(text, index + 1)
                else:
                    return found
            elif isinstance(part, int) and text[index] == "[":
                index = _skip_ws(text, index + 1)
                for _ in range(part):
                    if index >= len(text) or text[index] == "]":
                        return found
                    _, index = _decoder.raw_decode(text, index)
                    index = _skip_ws(text, index)
                    if index < len(text) and text[index] == ",":
                        index = _skip_ws(text, index + 1)
                if index >= len(text) or text[index] == "]":
                    return found
            else:
                return found
            found = index
    except (ValueError, IndexError):
        return found
    return found


def read_json(path: str | os.PathLike[str], display: str | None = None, *,
              max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> JsonDocument:
    """Read and decode a JSON file, or raise :class:`InputError` with one clear sentence."""
    shown = display if display is not None else os.fspath(path)

    def fail(message: str, line: int | None = None, column: int | None = None,
             kind: str = "invalid-file") -> InputError:
        return InputError(Problem(kind, shown, message, line, column))

    if os.path.islink(path) and not os.path.exists(path):
        raise fail("is a broken symbolic link")
    if os.path.isdir(path):
        raise fail("is a directory, not a model file")
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            raise fail(f"is {size:,} bytes, over the limit of {max_bytes:,} bytes "
                       "(raise it with kerasparams_max_file_bytes)", kind="limit")
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as error:
        raise fail(f"cannot be read: {error.strerror or error}") from None
    if len(raw) > max_bytes:
        raise fail(f"is over the limit of {max_bytes:,} bytes", kind="limit")
    return decode_json(raw, shown)


def decode_json(raw: bytes, shown: str) -> JsonDocument:
    def fail(message: str, line: int | None = None, column: int | None = None) -> InputError:
        return InputError(Problem("invalid-json", shown, message, line, column))

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise fail(f"is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start})",
                   line, column) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise fail("is empty; a Keras model config is a JSON object")
    duplicates = _DuplicateKeys()
    try:
        data = json.loads(text, object_pairs_hook=duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise fail(f"is not valid JSON: {error.msg}", error.lineno, error.colno) from None
    except ValueError as error:  # NaN / Infinity
        raise fail(f"is not valid JSON: {error}") from None
    except RecursionError:
        raise fail("nests JSON arrays or objects too deeply to be a model config") from None
    return JsonDocument(shown, text, data, tuple(duplicates.keys))
