"""Small helpers every rule family shares: reading config values and conv arithmetic."""

from __future__ import annotations

from math import ceil, prod
from typing import Any, Mapping, Sequence

from ..api import Dim, RuleError, Shape


def int_tuple(value: Any, rank: int, key: str) -> tuple[int, ...]:
    """An int or a list of ints as a tuple of ``rank`` ints (Keras's ``standardize_tuple``)."""
    if isinstance(value, bool):
        raise RuleError(f"{key} must be an integer or a list of {rank} integers, not {value!r}")
    if isinstance(value, int):
        values: Sequence[Any] = (value,) * rank
    elif isinstance(value, (list, tuple)):
        values = value
    else:
        raise RuleError(f"{key} must be an integer or a list of {rank} integers, not {value!r}")
    if len(values) != rank or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise RuleError(f"{key} must be {rank} integer(s), not {value!r}")
    return tuple(values)


def positive_int(config: Mapping[str, Any], key: str, *aliases: str, default: Any = None) -> int:
    """A required positive integer setting, such as ``units`` or ``filters``."""
    for name in (key, *aliases):
        if name in config:
            value = config[name]
            break
    else:
        value = default
    if value is None:
        raise RuleError(f"{key} is missing")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise RuleError(f"{key} must be an integer, not {value!r}")
    if value < 1:
        raise RuleError(f"{key} must be at least 1, not {value}")
    return value


def last_dim(shape: Shape, what: str = "the input") -> int:
    """The defined last dimension a weight shape depends on."""
    if len(shape) < 2:
        raise RuleError(f"{what} has shape {format_shape(shape)}; it needs at least 2 dimensions")
    dim = shape[-1]
    if dim is None:
        raise RuleError(f"the last dimension of {what} {format_shape(shape)} must be defined to build weights")
    return dim


def require_rank(shape: Shape, rank: int, what: str) -> None:
    if len(shape) != rank:
        raise RuleError(f"expects input of rank {rank} ({what}), but got shape {format_shape(shape)}")


def format_shape(shape: Shape | Sequence[Dim]) -> str:
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def conv_output_length(length: Dim, kernel: int, stride: int, padding: str, dilation: int = 1,
                       axis: str = "spatial dimension") -> tuple[Dim, str]:
    """Output length of a convolution or pooling window, and the arithmetic as text."""
    effective = dilation * (kernel - 1) + 1
    if length is None:
        return None, f"{axis}: unknown stays unknown"
    if padding == "valid":
        if length < effective:
            raise RuleError(f"the window of size {effective} is larger than the input's {axis} of {length} "
                            "with 'valid' padding, so the output would be empty")
        out = (length - effective) // stride + 1
        return out, f"{axis}: floor(({length} - {effective}) / {stride}) + 1 = {out}"
    if padding in ("same", "causal"):
        out = ceil(length / stride)
        return out, f"{axis}: ceil({length} / {stride}) = {out} ({padding} padding)"
    raise RuleError(f"padding must be 'valid', 'same' or 'causal', not {padding!r}")


def channels_first(config: Mapping[str, Any]) -> bool:
    fmt = config.get("data_format") or "channels_last"
    if fmt not in ("channels_last", "channels_first"):
        raise RuleError(f"data_format must be 'channels_last' or 'channels_first', not {fmt!r}")
    return fmt == "channels_first"


def spatial_split(shape: Shape, rank: int, first: bool) -> tuple[Dim, tuple[Dim, ...], Dim]:
    """``(batch, spatial dims, channels)`` of an input of ``rank`` spatial dimensions."""
    if len(shape) != rank + 2:
        raise RuleError(f"expects input of rank {rank + 2}, but got shape {format_shape(shape)}")
    if first:
        return shape[0], tuple(shape[2:]), shape[1]
    return shape[0], tuple(shape[1:-1]), shape[-1]


def spatial_join(batch: Dim, spatial: Sequence[Dim], channels: Dim, first: bool) -> Shape:
    return (batch, channels, *spatial) if first else (batch, *spatial, channels)


def size_of(shape: Sequence[Dim]) -> Dim:
    """Product of dimensions, or ``None`` when any is unknown."""
    return None if any(d is None for d in shape) else prod(d for d in shape if d is not None)


def use_bias(config: Mapping[str, Any]) -> bool:
    return config.get("use_bias", config.get("bias", True)) is not False
