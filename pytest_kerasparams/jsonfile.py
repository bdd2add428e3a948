"""Reading untrusted JSON: bounded, strict, and able to point at a line.

Parsing uses the C decoder for speed; positions are found only when a
problem needs one, by walking the text along a JSON path. Nothing here (or
anywhere in the package) evaluates, unpickles, unmarshals or imports what a
file contains: a Lambda's bytecode stays an inert string. The bounds come
from :mod:`.limits`; every refusal is an :class:`InputError` naming the file.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
from dataclasses import dataclass
from typing import Any, Iterable

from .limits import DEFAULT_MAX_FILE_BYTES, Limits, current_limits, limit_message
from .problems import InputError, Problem

JsonPath = tuple["str | int", ...]

__all__ = ["DEFAULT_MAX_FILE_BYTES", "JsonDocument", "decode_json", "format_json_path", "read_json"]


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

    def duplicate_locations(self) -> list[tuple[str, int, int]]:
        """``(key, line, column)`` of every repeated key, at its repetition; empty when there is none.

        Only called when :attr:`duplicate_keys` is not empty, so the plain text scan costs nothing otherwise.
        """
        if not self.duplicate_keys:
            return []
        found: list[tuple[str, int, int]] = []
        objects: list[set[str] | None] = []
        for match in re.finditer(_STRING + r"|[\[\]{}]", self.text):  # every string whole, never from inside
            token = match.group()
            if token in "{[":
                objects.append(set() if token == "{" else None)
            elif token in "]}":
                if objects:
                    objects.pop()
            elif objects and objects[-1] is not None and self.text.startswith(":", _skip_ws(self.text, match.end())):
                key = json.loads(token)
                if key in objects[-1]:
                    found.append((key, *self.position(match.start())))
                objects[-1].add(key)
        return found


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


class _RefusedToken(ValueError):
    """Raised from inside the decoder's hooks: a literal that must not become a value."""

    def __init__(self, message: str, pattern: str, kind: str = "invalid-json") -> None:
        super().__init__(message)
        self.message = message
        self.pattern = pattern
        self.kind = kind


_STRING = r'"(?:[^"\\]|\\.)*"'


def _token_index(text: str, pattern: str) -> int | None:
    """Where ``pattern`` first matches outside a JSON string (strings are skipped, not searched)."""
    for match in re.finditer(f"{_STRING}|(?P<hit>{pattern})", text):
        if match.group("hit") is not None:
            return match.start()
    return None


def _depth_index(text: str, max_depth: int) -> tuple[int, int]:
    """Where nesting first exceeds ``max_depth``, and how deep the text nests from there (counted cheaply)."""
    depth = 0
    deepest = 0
    at = -1
    for match in re.finditer(f"{_STRING}|[\\[\\]{{}}]", text):
        char = match.group()
        if char in "[{":
            depth += 1
            if depth > max_depth and at < 0:
                at = match.start()
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return max(at, 0), deepest


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}"


def _scan(data: Any, text: str, limits: Limits) -> tuple[int, int, bool]:
    """Depth, number of layer objects, and whether a string holds a lone surrogate; without recursion.

    Strings are visited only when the text has a surrogate escape at all, so the walk touches
    containers alone in the common case.
    """
    check_strings = re.search(_SURROGATE_ESCAPE, text) is not None
    kinds = (dict, list, str) if check_strings else (dict, list)
    layers = 0
    deepest = 0
    bad_string = False
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > limits.max_depth:
                break
        if isinstance(value, dict):
            items = value.get("layers")
            if isinstance(items, list):
                layers += sum(1 for item in items if isinstance(item, dict))
            elif value.get("class_name") == "Sequential" and isinstance(value.get("config"), list):
                layers += sum(1 for item in value["config"] if isinstance(item, dict))
            if check_strings:
                bad_string = bad_string or any(_LONE_SURROGATE.search(key) for key in value)
            stack.extend((child, depth + 1) for child in value.values() if isinstance(child, kinds))
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value if isinstance(child, kinds))
        elif isinstance(value, str) and _LONE_SURROGATE.search(value):
            bad_string = True
    return deepest, layers, bad_string


def read_json(path: str | os.PathLike[str], display: str | None = None, *,
              max_bytes: int | None = None, limits: Limits | None = None) -> JsonDocument:
    """Read and decode a JSON file, or raise :class:`InputError` with one clear sentence.

    Only regular files are opened (a FIFO or device named model.json would block
    or never end), and a file over the size limit is refused from its size alone.
    """
    limits = limits or current_limits()
    if max_bytes is not None and max_bytes != DEFAULT_MAX_FILE_BYTES:
        # front ends pass their option's value; the default itself must not undo KERASPARAMS_MAX_FILE_BYTES
        limits = limits.replace(max_file_bytes=max_bytes)
    shown = display if display is not None else os.fspath(path)

    def fail(message: str, kind: str = "invalid-file") -> InputError:
        return InputError(Problem(kind, shown, message))

    try:
        info = os.stat(path)
    except OSError as error:
        if os.path.islink(path):
            raise fail("is a broken symbolic link" if error.errno == errno.ENOENT else
                       f"is a symbolic link that cannot be followed: {error.strerror or error}") from None
        raise fail(f"cannot be read: {error.strerror or error}") from None
    if stat.S_ISDIR(info.st_mode):
        raise fail("is a directory, not a model file")
    if not stat.S_ISREG(info.st_mode):
        raise fail("is not a regular file (a pipe, socket or device); only regular files are read")
    if info.st_size > limits.max_file_bytes:
        raise fail(limit_message(f"is {info.st_size:,} bytes", "max_file_bytes", limits), kind="limit")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(limits.max_file_bytes + 1)
    except OSError as error:
        raise fail(f"cannot be read: {error.strerror or error}") from None
    if len(raw) > limits.max_file_bytes:
        raise fail(limit_message("grew while being read", "max_file_bytes", limits), kind="limit")
    return decode_json(raw, shown, limits=limits)


def decode_json(raw: bytes, shown: str, *, limits: Limits | None = None) -> JsonDocument:
    """Decode bytes strictly: UTF-8, no NaN/Infinity, bounded numbers, depth and layer count."""
    limits = limits or current_limits()

    def fail(message: str, line: int | None = None, column: int | None = None,
             kind: str = "invalid-json") -> InputError:
        return InputError(Problem(kind, shown, message, line, column))

    if len(raw) > limits.max_file_bytes:
        raise fail(limit_message(f"is {len(raw):,} bytes", "max_file_bytes", limits), kind="limit")
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
    document = JsonDocument(shown, text, None)

    def fail_at(message: str, index: int | None, kind: str = "invalid-json") -> InputError:
        line, column = document.position(index) if index is not None else (None, None)
        return fail(message, line, column, kind)

    def parse_constant(name: str) -> Any:
        raise _RefusedToken(f"{name} is not valid JSON (Keras cannot have written it; "
                            "Python's json module would accept it)", re.escape(name))

    def parse_int(literal: str) -> int:
        digits = len(literal.lstrip("-"))
        if digits > limits.max_number_digits:
            raise _RefusedToken(limit_message(f"has an integer of {digits:,} digits", "max_number_digits", limits),
                                r"-?\d{%d,}" % (limits.max_number_digits + 1), "limit")
        return int(literal)

    def parse_float(literal: str) -> float:
        if len(literal) > limits.max_number_digits:
            raise _RefusedToken(limit_message(f"has a number of {len(literal):,} characters", "max_number_digits",
                                              limits), r"-?[0-9.eE+-]{%d,}" % (limits.max_number_digits + 1),
                                "limit")
        value = float(literal)
        if not math.isfinite(value):
            raise _RefusedToken(f"has the number {literal[:40]}, which overflows to infinity",
                                re.escape(literal) + r"(?![0-9])")
        return value

    duplicates = _DuplicateKeys()
    # Per-number hooks cost a Python call per number; they are needed only when the text has a digit run
    # past the limit or a three-digit exponent (the only ways to overflow a float), which a C regex finds.
    careful = re.search(r"[0-9]{%d}|[eE][+-]?0*[1-9][0-9]{2}" % (limits.max_number_digits + 1), text) is not None
    numbers: dict[str, Any] = {"parse_int": parse_int, "parse_float": parse_float} if careful else {}
    try:
        data = json.loads(text, object_pairs_hook=duplicates, parse_constant=parse_constant, **numbers)
    except json.JSONDecodeError as error:
        raise fail(f"is not valid JSON: {error.msg}", error.lineno, error.colno) from None
    except _RefusedToken as error:
        raise fail_at(f"is not valid JSON: {error.message}" if error.kind == "invalid-json" else error.message,
                      _token_index(text, error.pattern), error.kind) from None
    except RecursionError:
        index, deepest = _depth_index(text, limits.max_depth)
        raise fail_at(limit_message(f"nests arrays and objects {deepest:,} levels deep", "max_depth", limits),
                      index, "limit") from None
    except ValueError as error:  # anything else the decoder refuses
        raise fail(f"is not valid JSON: {error}") from None
    deepest, layers, bad_string = _scan(data, text, limits)
    if deepest > limits.max_depth:
        index, deepest = _depth_index(text, limits.max_depth)
        raise fail_at(limit_message(f"nests arrays and objects {deepest:,} levels deep", "max_depth", limits),
                      index, "limit")
    if layers > limits.max_layers:
        raise fail(limit_message(f"has {layers:,} layers", "max_layers", limits), kind="limit")
    if bad_string:
        raise fail_at("holds a \\u escape of a lone UTF-16 surrogate, which is not a Unicode character",
                      _lone_surrogate_index(text))
    document.data = data
    document.duplicate_keys = tuple(duplicates.keys)
    return document


def _lone_surrogate_index(text: str) -> int | None:
    """The first ``\\uD800``-``\\uDFFF`` escape that is not half of a valid pair, outside strings' other text."""
    pair = r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    for match in re.finditer(f"{pair}|(?P<hit>{_SURROGATE_ESCAPE})", text):
        if match.group("hit") is not None:
            return match.start()
    return None
