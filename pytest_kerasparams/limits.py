"""Bounds on the work one untrusted model file can cause, in one place.

A model file is data from anywhere: a pull request, a download, a fuzzer.
Each bound below keeps reading and computing it proportional to its size and
refuses, with a sentence naming the limit and how to raise it, what no real
Keras model needs. Real configs stay far inside every default (the deepest of
40 real-world files nests 15 levels, the largest is a few hundred kB).

Front ends raise a bound by passing a :class:`Limits` (``Limits().replace(max_depth=500)``),
by :func:`using_limits` around a run, or by the environment variables named in
:data:`ENVIRONMENT` (``KERASPARAMS_MAX_DEPTH=500``), which :func:`current_limits` reads.
"""

from __future__ import annotations

import contextvars
import dataclasses
import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Mapping

DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024
"""Model configs are kilobytes to a few megabytes; weights never live in the JSON."""
DEFAULT_MAX_DEPTH = 100
"""Arrays/objects inside each other; real configs nest under 20, and deep nesting only serves to exhaust the stack."""
DEFAULT_MAX_LAYERS = 10_000
"""Layer objects in one file, nested models included; the largest real architectures have a few thousand."""
DEFAULT_MAX_DIMENSION = 2**48
"""One tensor dimension; no real tensor has more elements along one axis than this."""
DEFAULT_MAX_PARAMETERS = 2**63 - 1
"""One variable's size or a model's total: Keras counts parameters in int64."""
DEFAULT_MAX_NUMBER_DIGITS = 1_000
"""Digits in one JSON integer literal; below Python's own 4,300-digit conversion limit, far above any dimension."""
DEFAULT_MAX_FORMULA_CHARS = 4_000
"""Characters in one documented formula line (``(1 + 100 + 1) × 100 × 4``) read from a document."""
DEFAULT_MAX_FORMULA_EXPONENT = 64
"""The largest exponent a documented formula may raise to (``2^10``); ``10^10^10`` must not be computed."""


@dataclass(frozen=True)
class Limits:
    """Every bound, with its default; immutable so that one object can be shared by threads and runs."""

    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH
    max_layers: int = DEFAULT_MAX_LAYERS
    max_dimension: int = DEFAULT_MAX_DIMENSION
    max_parameters: int = DEFAULT_MAX_PARAMETERS
    max_number_digits: int = DEFAULT_MAX_NUMBER_DIGITS
    max_formula_chars: int = DEFAULT_MAX_FORMULA_CHARS
    max_formula_exponent: int = DEFAULT_MAX_FORMULA_EXPONENT

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise LimitSettingError(f"limit {field.name} must be a positive integer, not {value!r}")

    def replace(self, **changes: int) -> Limits:
        """A copy with some bounds changed (validated like the constructor)."""
        unknown = set(changes) - set(LIMIT_NAMES)
        if unknown:
            raise LimitSettingError(f"unknown limit(s) {', '.join(sorted(unknown))}; "
                                    f"known: {', '.join(LIMIT_NAMES)}")
        return dataclasses.replace(self, **changes)

    def with_settings(self, settings: Mapping[str, str | int | None]) -> Limits:
        """A copy with bounds taken from text settings (ini values, flags); ``None``/empty keep the bound."""
        changes = {name: parse_limit_value(name, value) for name, value in settings.items()
                   if value is not None and value != ""}
        return self.replace(**changes)

    def with_environment(self, environ: Mapping[str, str] | None = None) -> Limits:
        """A copy with the bounds set by ``KERASPARAMS_MAX_*`` environment variables."""
        environ = os.environ if environ is None else environ
        return self.with_settings({name: environ.get(variable) for name, variable in ENVIRONMENT.items()})


class LimitSettingError(ValueError):
    """A limit set to something that is not a positive integer: a usage error of the front end."""


LIMIT_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Limits))
ENVIRONMENT: dict[str, str] = {name: f"KERASPARAMS_{name.upper()}" for name in LIMIT_NAMES}
"""The environment variable that raises each bound, e.g. ``KERASPARAMS_MAX_DEPTH``."""

DEFAULT_LIMITS = Limits()

_extra_hints: dict[str, str] = {
    "max_file_bytes": "--kerasparams-max-file-bytes (pytest), --max-file-bytes (kerasparams check), "
                      "the kerasparams_max_file_bytes ini option",
}


def parse_limit_value(name: str, value: str | int) -> int:
    """``"64_000_000"``, ``"64,000,000"`` or ``64000000`` as an int; never evaluates expressions."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip().replace("_", "").replace(",", "")
    if not text.isdigit() or len(text) > 30:
        raise LimitSettingError(f"limit {name} must be a positive whole number, not {value!r}")
    return int(text)


def register_hint(name: str, how: str) -> None:
    """Let a front end add its own spelling to the advice in limit messages, e.g. ``--kerasparams-max-depth``."""
    if name not in LIMIT_NAMES:
        raise LimitSettingError(f"unknown limit {name}")
    _extra_hints[name] = how


def raise_hint(name: str) -> str:
    """How to raise one bound, for the end of a limit message."""
    ways = [f"{ENVIRONMENT[name]}=<n>"]
    if name in _extra_hints:
        ways.insert(0, _extra_hints[name])
    return "raise it with " + " or ".join(ways)


def limit_message(what: str, name: str, limits: Limits | None = None) -> str:
    """``<what>, over the limit max_depth=100 (raise it with KERASPARAMS_MAX_DEPTH=<n>)``."""
    value = getattr(limits or current_limits(), name)
    return f"{what}, over the limit {name}={value:,} ({raise_hint(name)})"


_environment_limits: Limits | None = None
_active: contextvars.ContextVar[Limits | None] = contextvars.ContextVar("kerasparams_limits", default=None)


def current_limits() -> Limits:
    """The bounds in force: those set by :func:`using_limits`, else the defaults raised by the environment.

    A malformed environment variable falls back to the defaults rather than
    breaking every run; :func:`Limits.with_environment` reports it to a front end that asks.
    """
    active = _active.get()
    if active is not None:
        return active
    global _environment_limits
    if _environment_limits is None:
        try:
            _environment_limits = DEFAULT_LIMITS.with_environment()
        except LimitSettingError:
            _environment_limits = DEFAULT_LIMITS
    return _environment_limits


@contextmanager
def using_limits(limits: Limits) -> Iterator[Limits]:
    """Run a block with other bounds in force (for this thread/task only)."""
    token = _active.set(limits)
    try:
        yield limits
    finally:
        _active.reset(token)


def dimension_problem(dim: int, limits: Limits | None = None) -> str | None:
    """Why one dimension is refused, or ``None``: for the engine's shape checks."""
    limits = limits or current_limits()
    if dim > limits.max_dimension:
        return limit_message(f"a dimension of {_digits(dim)}", "max_dimension", limits)
    return None


def parameters_problem(count: int, what: str = "the parameter count", limits: Limits | None = None) -> str | None:
    """Why a parameter count is refused, or ``None``: for variable sizes and totals."""
    limits = limits or current_limits()
    if count > limits.max_parameters:
        return limit_message(f"{what} of {_digits(count)}", "max_parameters", limits)
    return None


def _digits(value: int) -> str:
    """A huge integer written so that it can be read (and never hits Python's str-conversion limit)."""
    if value.bit_length() > 3000:
        return f"about 2**{value.bit_length() - 1}"
    text = str(value)
    if len(text) > 24:
        return f"{text[0]}.{text[1:4]}e{len(text) - 1} ({len(text)} digits)"
    return f"{value:,}"
