"""Preprocessing layers whose output shape follows from the config: image resizing and cropping,
rescaling, feature normalization, discretization, hashing, category encoding, lookups, text
vectorization and the random augmentations (which keep the shape).

Keras 3 computes these shapes itself; tf-keras reports what its TensorFlow ops produce, which
differs for the encoded (non-``int``) outputs. Both are followed, by flavor.
"""

from __future__ import annotations

from ..api import Dim, LayerCall, LayerResult, Rule, RuleError, Shape, Variable, formula
from ..hookspecs import hookimpl
from ._common import format_shape, positive_int

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def identity(call: LayerCall) -> LayerResult:
    """Value-only transforms and random augmentations: same shape, no weights."""
    return LayerResult((call.input_shape,))


def _image_axes(call: LayerCall, shape: Shape) -> tuple[int, int]:
    """Height and width axes of a batched (rank 4) or single (rank 3) image."""
    if len(shape) not in (3, 4):
        raise RuleError(f"expects images of rank 4 (batched) or 3 (unbatched), got {format_shape(shape)}")
    first = call.flavor == "keras3" and call.get("data_format") == "channels_first"
    start = len(shape) - 3 + (1 if first else 0)
    return start, start + 1


def _resized(call: LayerCall, height: Dim, width: Dim) -> LayerResult:
    shape = call.input_shape
    h_axis, w_axis = _image_axes(call, shape)
    out = list(shape)
    out[h_axis], out[w_axis] = height, width
    return LayerResult((tuple(out),))


def resize_to_config(call: LayerCall) -> LayerResult:
    """Resizing, CenterCrop and RandomCrop output ``height x width`` whatever the input size."""
    return _resized(call, positive_int(call.config, "height"), positive_int(call.config, "width"))


def random_height(call: LayerCall) -> LayerResult:
    shape = call.input_shape
    return _resized(call, None, shape[_image_axes(call, shape)[1]])


def random_width(call: LayerCall) -> LayerResult:
    shape = call.input_shape
    return _resized(call, shape[_image_axes(call, shape)[0]], None)


def normalization(call: LayerCall) -> LayerResult:
    """Non-trainable ``mean``, ``variance`` and ``count`` over the kept axes, unless mean and variance are given."""
    shape = call.input_shape
    if call.get("mean") is not None and call.get("variance") is not None:
        return LayerResult((shape,))
    axis = call.get("axis", [-1])
    axes = [] if axis is None else axis if isinstance(axis, list) else [axis]
    for a in axes:
        if not isinstance(a, int) or isinstance(a, bool) or not -len(shape) <= a < len(shape):
            raise RuleError(f"All `axis` values must be in the range [-ndim, ndim). Received inputs with "
                            f"ndim={len(shape)}, while axis={axis!r}")
    keep = sorted({a % len(shape) for a in axes})
    dims: list[int] = []
    for a in keep:
        dim = shape[a]
        if dim is None:
            raise RuleError(f"All `axis` values to be kept must have a known shape. Received axis={axis!r}, "
                            f"inputs.shape={format_shape(shape)}, with unknown axis at index {a}")
        dims.append(dim)
    stats = tuple(dims)
    size = 1
    for d in dims:
        size *= d
    variables = (Variable("mean", stats, trainable=False), Variable("variance", stats, trainable=False),
                 Variable("count", (), trainable=False))
    return LayerResult((shape,), variables, (
        formula([(2, "statistics (mean, variance)")], times=[(size, "normalized features")],
                label="adapt() statistics", trainable=False),
        formula([(1, "sample count")], label="count", trainable=False)))


def _output_mode(call: LayerCall) -> str:
    mode = call.get("output_mode", "int")
    if mode not in OUTPUT_MODES:
        raise RuleError(f"output_mode must be one of {', '.join(repr(m) for m in OUTPUT_MODES)}, not {mode!r}")
    return mode


def _encoded(call: LayerCall, shape: Shape, mode: str, depth: Dim, keras3_rank_drop: bool = False,
             keras3_one_hot_appends: bool = True) -> Shape:
    """The shape of a categorical encoding of ``shape`` into ``depth`` bins."""
    if mode == "int":
        return shape
    if call.flavor == "keras3":
        if mode == "one_hot" and keras3_one_hot_appends:
            if len(shape) > 1 and shape[-1] == 1:
                return shape[:-1] + (depth,)
            return shape + (depth,)
        if keras3_rank_drop:  # Discretization drops the second axis, not the last
            return (shape[0], *shape[2:], depth) if len(shape) >= 2 else (depth,)
        return shape[:-1] + (depth,) if shape else (depth,)
    encoded = shape or (1,)
    if mode == "one_hot" and encoded[-1] != 1:
        encoded = encoded + (1,)
    if len(encoded) > 2:
        raise RuleError(f"When output_mode is not 'int', maximum supported output rank is 2. Received "
                        f"output_mode {mode} and input shape {format_shape(shape)}, which would result in "
                        f"output rank {len(encoded)}.")
    return encoded[:-1] + (depth,)


def discretization(call: LayerCall) -> LayerResult:
    """Bucket indices (``int``) or an encoding over ``len(bin_boundaries) + 1`` (or ``num_bins``) buckets."""
    boundaries = call.get("bin_boundaries")
    if isinstance(boundaries, list):
        depth = len(boundaries) + 1
    else:
        depth = positive_int(call.config, "num_bins")
    mode = _output_mode(call)
    return LayerResult((_encoded(call, call.input_shape, mode, depth, keras3_rank_drop=True),))


def category_encoding(call: LayerCall) -> LayerResult:
    mode = call.get("output_mode", "multi_hot")
    if mode not in ("one_hot", "multi_hot", "count"):
        raise RuleError(f"output_mode must be 'one_hot', 'multi_hot' or 'count', not {mode!r}")
    return LayerResult((_encoded(call, call.input_shape, mode, positive_int(call.config, "num_tokens")),))


def hashing(call: LayerCall) -> LayerResult:
    mode = _output_mode(call)
    if mode == "tf_idf":
        raise RuleError("output_mode 'tf_idf' is not supported by Hashing")
    return LayerResult((_encoded(call, call.input_shape, mode, positive_int(call.config, "num_bins"),
                                 keras3_one_hot_appends=False),))


def hashed_crossing(call: LayerCall) -> LayerResult:
    """Crosses two features of one shape into ``num_bins`` hashed bins (indices, or an encoding)."""
    if len(call.input_shapes) != 2:
        raise RuleError(f"Expected as input a list/tuple of 2 tensors, got {len(call.input_shapes)}")
    first, second = call.input_shapes
    if first[-1:] != second[-1:]:
        raise RuleError(f"Expected the two input tensors to have identical shapes. Received input_shape="
                        f"[{format_shape(first)}, {format_shape(second)}]")
    mode = call.get("output_mode", "int")
    if mode not in ("int", "one_hot"):
        raise RuleError(f"output_mode must be 'int' or 'one_hot', not {mode!r}")
    bins = positive_int(call.config, "num_bins")
    if call.flavor == "keras3" and mode == "one_hot" and first and first[-1] != 1:
        return LayerResult((first + (bins,),))
    return LayerResult((_encoded(call, first, mode, bins, keras3_one_hot_appends=False),))


def _lookup_depth(call: LayerCall, mode: str) -> Dim:
    """``max_tokens`` when padding to it, else the size of the vocabulary given in the config.

    A vocabulary set by adapt() is not in the config (``vocabulary`` is null): Keras 3 then reports
    an unknown width, and tf-keras refuses to build the layer.
    """
    if call.get("pad_to_max_tokens") is True:
        return positive_int(call.config, "max_tokens")
    size = call.get("vocabulary_size")
    if isinstance(call.get("vocabulary"), (list, str)) and isinstance(size, int) and not isinstance(size, bool) \
            and size > 0:
        return size
    if call.flavor == "keras3":
        return None
    raise RuleError(f"the vocabulary size is not in the config (it comes from adapt()), so the width of the "
                    f"{mode!r} output cannot be known; Keras requires the vocabulary to be set before calling "
                    "the layer in this mode")


def lookup(call: LayerCall) -> LayerResult:
    """StringLookup and IntegerLookup: indices of the same shape, or an encoding over the vocabulary."""
    mode = _output_mode(call)
    if mode == "int":
        return LayerResult((call.input_shape,))
    if mode == "tf_idf" and call.flavor != "keras3":
        raise RuleError("tf-keras keeps tf_idf weights in a variable whose size adapt() sets, so its "
                        "parameter count cannot be known from the config")
    return LayerResult((_encoded(call, call.input_shape, mode, _lookup_depth(call, mode)),))


def text_vectorization(call: LayerCall) -> LayerResult:
    """Token indices padded to ``output_sequence_length``, or an encoding over the vocabulary.

    The tf-keras ``int`` mode is Keras's declared ``(batch, output_sequence_length)``; tf-keras 2.21 cannot
    build that layer beside Keras 3 here, so only its encoded modes are proven against it.
    """
    shape = call.input_shape
    mode = _output_mode(call)
    length = call.get("output_sequence_length")
    if length is not None:
        length = positive_int(call.config, "output_sequence_length")
    if mode == "int":
        return LayerResult(((shape[0] if shape else None, length),))
    if mode == "tf_idf" and call.flavor != "keras3":
        raise RuleError("tf-keras keeps tf_idf weights in a variable whose size adapt() sets, so its "
                        "parameter count cannot be known from the config")
    depth = _lookup_depth(call, mode)
    if call.flavor != "keras3":
        # tf-keras squeezes a trailing axis of 1, splits into a ragged token axis and encodes over it.
        if len(shape) > 2 or len(shape) == 2 and shape[1] not in (1, None):
            raise RuleError(f"expects one string per sample, (batch,) or (batch, 1), got {format_shape(shape)}")
        return LayerResult(((shape[0] if shape else None, depth),))
    if call.get("split") is None:
        tokens: Shape = shape + (1,) if len(shape) <= 1 else shape
    else:
        tokens = shape + (None,)
    return LayerResult((_encoded(call, tokens, mode, depth),))


def rescaling(call: LayerCall) -> LayerResult:
    """``x * scale + offset``: the shape is kept; scale and offset must still be numbers."""
    for key in ("scale", "offset"):
        value = call.get(key, 0.0)
        if not isinstance(value, (int, float, list)) or isinstance(value, bool):
            raise RuleError(f"{key} must be a number or a list of numbers, not {value!r}")
    return identity(call)


SHAPE_KEEPING = (
    "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness",
    "RandomGrayscale", "RandomHue", "RandomSaturation", "RandomSharpness", "RandomPosterization",
    "RandomColorDegeneration", "RandomColorJitter", "RandomInvert", "RandomErasing", "RandomGaussianBlur",
    "RandomPerspective", "RandomShear", "RandomElasticTransform", "AutoContrast",
    "Solarization", "AugMix", "CutMix", "MixUp", "RandAugment", "MaxNumBoundingBoxes",
    "ContrastLimitedAdaptiveHistogramEqualization",
)


@hookimpl
def kerasparams_layer_rules() -> dict[str, Rule]:
    rules: dict[str, Rule] = {name: identity for name in SHAPE_KEEPING}
    rules.update({
        "Rescaling": rescaling, "Resizing": resize_to_config, "CenterCrop": resize_to_config,
        "RandomCrop": resize_to_config, "RandomHeight": random_height, "RandomWidth": random_width,
        "Normalization": normalization, "Discretization": discretization, "CategoryEncoding": category_encoding,
        "Hashing": hashing, "HashedCrossing": hashed_crossing, "StringLookup": lookup, "IntegerLookup": lookup,
        "TextVectorization": text_vectorization,
    })
    return rules

