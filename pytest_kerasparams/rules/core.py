"""Core layers: Dense, EinsumDense, Embedding, Lambda, activations and other shape-preserving layers."""

from __future__ import annotations

import re
from typing import Any, Mapping

from ..api import Dim, LayerCall, LayerResult, Rule, RuleError, Shape, Variable, formula
from ..hookspecs import hookimpl
from ._common import format_shape, last_dim, positive_int, use_bias


def _lora_rank(call: LayerCall) -> int:
    """Keras 3's ``lora_rank``: 0 when LoRA is off (the key is absent or null)."""
    rank = call.get("lora_rank")
    if rank is None:
        return 0
    return positive_int(call.config, "lora_rank")


def _refuse_quantized(call: LayerCall) -> None:
    """Quantized Keras 3 layers store other variables (int8 kernels, scales); refuse rather than guess."""
    dtype = call.get("dtype")
    policy = dtype.get("config", {}).get("name") if isinstance(dtype, Mapping) and isinstance(
        dtype.get("config"), Mapping) else dtype
    if isinstance(policy, str) and policy.split("_", 1)[0] in ("int8", "int4", "float8", "gptq", "awq"):
        raise RuleError(f"is quantized (dtype policy {policy!r}); quantized variables are not computed")


def _with_lora(kernel: Variable, others: list[Variable], rank: int) -> tuple[Variable, ...]:
    """LoRA freezes the kernel and adds ``lora_<kernel>_a`` and ``_b`` after the layer's own weights."""
    if not rank:
        return (kernel, *others)
    a = Variable(f"lora_{kernel.name}_a", (kernel.shape[0], rank))
    b = Variable(f"lora_{kernel.name}_b", (rank, *kernel.shape[1:]))
    return (kernel.frozen(), *others, a, b)


def _lora_formula(kernel: tuple[int, ...], rank: int) -> tuple[Any, ...]:
    if not rank:
        return ()
    rest = 1
    for d in kernel[1:]:
        rest *= d
    return (formula([(kernel[0], "inputs")], [(rest, "outputs")], times=[(rank, "LoRA rank")],
                    label="LoRA adapters"),)


def dense(call: LayerCall) -> LayerResult:
    """``kernel (inputs, units)`` and ``bias (units,)`` applied to the last axis of any rank."""
    _refuse_quantized(call)
    shape = call.input_shape
    units = positive_int(call.config, "units", "output_dim")
    inputs = last_dim(shape)
    bias = use_bias(call.config)
    rank = _lora_rank(call)
    others = [Variable("bias", (units,))] if bias else []
    formulas = [formula([(inputs, "inputs")], [(1 if bias else 0, "bias")], times=[(units, "units")],
                        label="per unit", trainable=not rank)]
    if rank and bias:
        formulas = [formula([(inputs, "inputs")], times=[(units, "units")], label="frozen kernel", trainable=False),
                    formula([(units, "bias")], label="bias")]
    return LayerResult(
        output_shapes=(shape[:-1] + (units,),),
        variables=_with_lora(Variable("kernel", (inputs, units)), others, rank),
        formulas=tuple(formulas) + _lora_formula((inputs, units), rank),
    )


def identity(call: LayerCall) -> LayerResult:
    """Layers that change values, never shapes, and own no weights."""
    return LayerResult(output_shapes=(call.input_shape,))


def embedding(call: LayerCall) -> LayerResult:
    """One ``output_dim`` vector per vocabulary entry; appends an axis to any input shape."""
    _refuse_quantized(call)
    shape = call.input_shape
    vocabulary = positive_int(call.config, "input_dim")
    width = positive_int(call.config, "output_dim")
    rank = _lora_rank(call)
    return LayerResult(
        output_shapes=(shape + (width,),),
        variables=_with_lora(Variable("embeddings", (vocabulary, width)), [], rank),
        formulas=(formula([(vocabulary, "vocabulary entries")], times=[(width, "output dimensions")],
                          trainable=not rank),) + _lora_formula((vocabulary, width), rank),
    )


def reversible_embedding(call: LayerCall) -> LayerResult:
    """Keras 3's Embedding that can also project back to logits (``reverse=True`` in the call).

    Unless ``tie_weights``, a separate ``reverse_embeddings`` (output_dim, input_dim) follows the
    embedding's own (and LoRA) weights.
    """
    result = embedding(call)
    vocabulary = positive_int(call.config, "input_dim")
    width = positive_int(call.config, "output_dim")
    variables, formulas = result.variables, result.formulas
    if call.get("tie_weights", True) is False:
        variables += (Variable("reverse_embeddings", (width, vocabulary)),)
        formulas += (formula([(width, "output dimensions")], times=[(vocabulary, "vocabulary entries")],
                             label="reverse embeddings"),)
    shape = call.input_shape
    kwargs = getattr(call, "kwargs", None)
    if isinstance(kwargs, Mapping) and kwargs.get("reverse") is True:
        if not shape:
            raise RuleError("a reverse call needs an input of rank 1 or more")
        output: Shape = shape[:-1] + (vocabulary,)
    else:
        output = shape + (width,)
    return LayerResult((output,), variables, formulas)


def random_fourier_features(call: LayerCall) -> LayerResult:
    """tf-keras's random feature map: a fixed random kernel and bias, and one trainable ``kernel_scale``."""
    shape = call.input_shape
    if len(shape) != 2:
        raise RuleError(f"expects input of rank 2 (batch, features), got {format_shape(shape)}")
    inputs = last_dim(shape)
    units = positive_int(call.config, "output_dim")
    variables = (Variable("kernel_scale", (1,)), Variable("unscaled_kernel", (inputs, units), trainable=False),
                 Variable("bias", (units,), trainable=False))
    return LayerResult(((shape[0], units),), variables, (
        formula([(1, "kernel scale")], label="trainable"),
        formula([(inputs, "inputs")], [(1, "bias")], times=[(units, "random features")], label="fixed random",
                trainable=False)))


def input_layer(call: LayerCall) -> LayerResult:
    if call.input_shapes:
        return LayerResult(output_shapes=(call.input_shapes[0],))
    raise RuleError("an input layer is not called on other tensors")


def prelu(call: LayerCall) -> LayerResult:
    """One learned slope per input value, shared (size 1) along ``shared_axes``."""
    shape = call.input_shape
    if len(shape) < 2:
        raise RuleError(f"needs an input of at least rank 2, got {format_shape(shape)}")
    shared = call.get("shared_axes")
    if shared is None:
        shared = []
    elif isinstance(shared, int) and not isinstance(shared, bool):
        shared = [shared]
    if not isinstance(shared, list) or not all(
            isinstance(a, int) and not isinstance(a, bool) and 1 <= a < len(shape) for a in shared):
        raise RuleError(f"shared_axes {call.get('shared_axes')!r} must name axes 1..{len(shape) - 1} "
                        f"of input {format_shape(shape)}")
    alpha: list[int] = []
    for axis in range(1, len(shape)):
        dim = 1 if axis in shared else shape[axis]
        if dim is None:
            raise RuleError(f"axis {axis} of input {format_shape(shape)} must be defined (or listed in "
                            "shared_axes) to build alpha")
        alpha.append(dim)
    terms = [(d, f"axis {i + 1}") for i, d in enumerate(alpha)]
    return LayerResult((shape,), (Variable("alpha", tuple(alpha)),),
                       (formula(terms, label="one slope per unshared position"),))


_EINSUM_FORMS = (
    (re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)"), False),
    (re.compile(r"0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)"), True),
    (re.compile(r"([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0"), False),
)


def _partial_output_shape(value: Any) -> list[Dim]:
    dims = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if isinstance(dims, list) and all(d is None or isinstance(d, int) and not isinstance(d, bool) and d > 0
                                      for d in dims):
        return list(dims)
    raise RuleError(f"output_shape must be a positive integer or a list of positive integers or nulls, "
                    f"not {value!r}")


def _einsum_analysis(equation: Any, bias_axes: Any, shape: Shape, partial: list[Dim], fill_shared: bool
                     ) -> tuple[list[Dim], list[Dim] | None, list[Dim]]:
    """Kernel shape, bias shape and full output shape, as Keras's ``_analyze_einsum_string`` finds them.

    ``fill_shared``: the output axes shared with the input take the input's sizes (what tf-keras reports,
    since its shapes come from running the einsum; Keras 3 keeps the declared ``None``).
    """
    if not isinstance(equation, str):
        raise RuleError(f"equation must be a string, not {equation!r}")
    if bias_axes is not None and not isinstance(bias_axes, str):
        raise RuleError(f"bias_axes must be a string or null, not {bias_axes!r}")
    replaced = equation.replace("...", "0")
    for pattern, left_elided in _EINSUM_FORMS:
        match = pattern.match(replaced)
        if match:
            break
    else:
        raise RuleError(f"Invalid einsum equation '{equation}'. Equations must be in the form "
                        "[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")
    input_spec, weight_spec, output_spec = match.groups()
    elided = len(shape) - len(input_spec)
    if elided < 0 or (elided > 0 and "0" not in replaced):
        raise RuleError(f"equation '{equation}' names {len(input_spec)} input axes but the input "
                        f"{format_shape(shape)} has {len(shape)}")
    output: list[Dim] = [shape[0], *partial]
    if elided > 0 and left_elided:
        for i in range(1, elided):
            output.insert(1, shape[i])
    elif elided > 0:
        output.extend(shape[len(shape) - elided:])
    offset = elided if left_elided else 0
    input_axis = {d: (i + elided - len(shape)) if left_elided else i for i, d in enumerate(input_spec)}
    output_axis = {d: i + offset for i, d in enumerate(output_spec)}
    if len(output) != len(output_spec) + elided:
        raise RuleError(f"output_shape {partial} does not fit the output spec '{output_spec}' of '{equation}'")
    for dim in input_spec:
        if dim in output_axis:
            want = output[output_axis[dim]]
            if want is not None and want != shape[input_axis[dim]]:
                raise RuleError(f"Input shape and output shape do not match at shared dimension '{dim}'. "
                                f"Input shape is {shape[input_axis[dim]]}, and output shape is {want}.")
    for dim in output_spec:
        if dim not in input_spec and dim not in weight_spec:
            raise RuleError(f"Dimension '{dim}' was specified in the output '{output_spec}' but has no "
                            f"corresponding dim in the input spec '{input_spec}' or weight spec '{weight_spec}'")
    kernel: list[Dim] = []
    for dim in weight_spec:
        if dim in output_axis:
            kernel.append(output[output_axis[dim]])
        elif dim in input_axis:
            kernel.append(shape[input_axis[dim]])
        else:
            raise RuleError(f"Weight dimension '{dim}' did not have a match in either the input spec "
                            f"'{input_spec}' or the output spec '{output_spec}'")
    bias: list[Dim] | None = None
    if bias_axes is not None:
        for char in bias_axes:
            if char not in output_spec:
                raise RuleError(f"Bias dimension '{char}' was requested, but is not part of the output "
                                f"spec '{output_spec}'")
        first = min(output_spec.find(c) for c in bias_axes) if bias_axes else len(output_spec)
        sizes = {c: output[i + offset] for i, c in enumerate(output_spec)}
        bias = [sizes[c] if c in bias_axes else 1 for c in output_spec[first:]]
        if not left_elided:
            bias += [1] * elided
    if fill_shared:
        for dim in input_spec:
            if dim in output_axis:
                output[output_axis[dim]] = shape[input_axis[dim]]
    return kernel, bias, output


def _defined(dims: list[Dim], what: str, equation: str) -> tuple[int, ...]:
    if any(d is None for d in dims):
        raise RuleError(f"the {what} of '{equation}' would have an undefined dimension "
                        f"{format_shape(dims)}; give it in output_shape or the input shape")
    return tuple(d for d in dims if d is not None)


def einsum_dense(call: LayerCall) -> LayerResult:
    """Kernel and bias shapes read off the einsum equation, as Keras's EinsumDense builds them."""
    _refuse_quantized(call)
    shape = call.input_shape
    equation = call.get("equation")
    kernel_dims, bias_dims, output = _einsum_analysis(equation, call.get("bias_axes"), shape,
                                                      _partial_output_shape(call.get("output_shape")),
                                                      fill_shared=call.flavor != "keras3")
    kernel = _defined(kernel_dims, "kernel", str(equation))
    variables = [Variable("kernel", kernel)]
    formulas = [formula([(d, f"'{c}'") for c, d in zip(str(equation).split(",")[1].split("->")[0], kernel)],
                        label="kernel")]
    if bias_dims is not None:
        bias = _defined(bias_dims, "bias", str(equation))
        variables.append(Variable("bias", bias))
        formulas.append(formula([(d, "") for d in bias], label="bias"))
    return LayerResult((tuple(output),), _with_lora(variables[0], variables[1:], _lora_rank(call)),
                       tuple(formulas))


def lambda_layer(call: LayerCall) -> LayerResult:
    """Only a declared ``output_shape`` (a list of sizes) can be trusted; the function is never decoded."""
    declared = call.get("output_shape")
    if call.get("output_shape_type") not in (None, "raw"):
        declared = None
    if isinstance(declared, list) and all(d is None or isinstance(d, int) and not isinstance(d, bool)
                                          and d >= 0 for d in declared):
        batch = call.input_shapes[0][0] if call.input_shapes and call.input_shapes[0] else None
        return LayerResult(((batch, *declared),))
    raise RuleError("the output shape of a Lambda layer cannot be known statically: its function is code, "
                    "which is never run; declare output_shape (a list of sizes) on the layer")


_TF_ELEMENTWISE_UNARY = frozenset({
    "nn.relu", "nn.relu6", "nn.elu", "nn.selu", "nn.gelu", "nn.silu", "nn.swish", "nn.sigmoid", "nn.tanh",
    "nn.softplus", "nn.softsign", "nn.leaky_relu", "nn.softmax", "nn.log_softmax", "nn.l2_normalize",
    "math.sigmoid", "math.tanh", "math.exp", "math.log", "math.log1p", "math.sqrt", "math.rsqrt",
    "math.square", "math.abs", "math.negative", "math.sin", "math.cos", "math.reciprocal", "math.softplus",
    "math.sign", "math.floor", "math.ceil", "math.round", "math.erf", "math.l2_normalize", "cast",
    "identity", "stop_gradient", "__operators__.neg", "clip_by_value",
})
_TF_ELEMENTWISE_BINARY = frozenset({
    "__operators__.add", "math.add", "math.subtract", "math.multiply", "math.truediv", "math.divide",
    "math.maximum", "math.minimum", "math.pow", "math.squared_difference", "compat.v1.floor_div",
    "math.floordiv", "__operators__.radd", "math.multiply_no_nan", "math.divide_no_nan",
})


def _tf_broadcast(shapes: tuple[Shape, ...]) -> Shape:
    out: list[Dim] = []
    rank = max(len(s) for s in shapes)
    for index in range(1, rank + 1):
        dims = [s[-index] for s in shapes if len(s) >= index]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise RuleError("operands could not be broadcast together with shapes "
                            + " and ".join(format_shape(s) for s in shapes))
        if known:
            out.append(known.pop())
        elif any(d is None for d in dims):
            out.append(None)
        else:
            out.append(1)
    return tuple(reversed(out))


_TF_REDUCTIONS = frozenset({
    "math.reduce_mean", "math.reduce_sum", "math.reduce_max", "math.reduce_min", "math.reduce_prod",
    "math.reduce_std", "math.reduce_variance", "math.reduce_logsumexp", "math.reduce_any", "math.reduce_all",
})


def _op_kwargs(call: LayerCall, op: str) -> Mapping[str, Any]:
    """The call arguments of a TensorFlow op layer; the engine passes them as ``call.kwargs``."""
    kwargs = getattr(call, "kwargs", None)
    if not isinstance(kwargs, Mapping):
        raise RuleError(f"the output shape of the TensorFlow op tf.{op} depends on its call arguments, "
                        "which are not available here")
    return kwargs


def _op_axis(value: Any, rank: int, op: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not -rank <= value < rank:
        raise RuleError(f"axis {value!r} of tf.{op} is out of range for a tensor of rank {rank}")
    return value % rank


def _reduction(shape: Shape, kwargs: Mapping[str, Any], op: str) -> Shape:
    axis = kwargs.get("axis", kwargs.get("reduction_indices"))
    keepdims = kwargs.get("keepdims") is True
    axes = set(range(len(shape))) if axis is None else {
        _op_axis(a, len(shape), op) for a in (axis if isinstance(axis, list) else [axis])}
    return tuple(1 if i in axes else d for i, d in enumerate(shape) if keepdims or i not in axes)


def _sliced_length(length: Dim, spec: Mapping[str, Any]) -> Dim:
    bounds = [spec.get("start"), spec.get("stop"), spec.get("step")]
    if not all(b is None or isinstance(b, int) and not isinstance(b, bool) for b in bounds):
        raise RuleError(f"slice {dict(spec)!r} has bounds that are not integers")
    if bounds[2] == 0:
        raise RuleError("slice step cannot be zero")
    if length is None:  # TensorFlow leaves a slice of an unknown axis unknown
        return None
    return len(range(length)[slice(*bounds)])


def _getitem(shape: Shape, kwargs: Mapping[str, Any]) -> Shape:
    """NumPy-style basic indexing: ints drop an axis, slices shorten it, ``...`` keeps the rest."""
    spec = kwargs.get("slice_spec")
    items = spec if isinstance(spec, list) else [spec]
    ellipsis = [i for i, item in enumerate(items) if isinstance(item, Mapping)
                and item.get("class_name") == "__ellipsis__"]
    if len(ellipsis) > 1:
        raise RuleError("a slice can hold only one ellipsis (...)")
    indexing = len(items) - len(ellipsis)
    if indexing > len(shape):
        raise RuleError(f"too many indices ({indexing}) for a tensor of shape {format_shape(shape)}")
    if ellipsis:
        at = ellipsis[0]
        items = items[:at] + [{"start": None, "stop": None, "step": None}] * (len(shape) - indexing) + items[at + 1:]
    out: list[Dim] = []
    for index, item in enumerate(items):
        dim = shape[index]
        if isinstance(item, int) and not isinstance(item, bool):
            if dim is not None and not -dim <= item < dim:
                raise RuleError(f"index {item} is out of bounds for axis {index} of size {dim}")
            continue
        if not isinstance(item, Mapping) or set(item) - {"start", "stop", "step"}:
            raise RuleError(f"slice item {item!r} is not an integer, a slice or an ellipsis (new axes and "
                            "tensor indices are not computed)")
        out.append(_sliced_length(dim, item))
    return tuple(out) + tuple(shape[len(items):])


def _tf_concat(shapes: tuple[Shape, ...], axis: Any) -> Shape:
    """tf.concat's static shape: sizes add up along ``axis`` (``None`` for stack: no axis), others merge."""
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        raise RuleError("tf.concat needs tensors of one rank, got " + ", ".join(format_shape(s) for s in shapes))
    along = None if axis is None else _op_axis(axis, rank, "concat")
    out: list[Dim] = []
    for index in range(rank):
        dims = [s[index] for s in shapes]
        if index == along:
            out.append(None if None in dims else sum(d for d in dims if d is not None))
            continue
        known = {d for d in dims if d is not None}
        if len(known) > 1:
            raise RuleError(f"shapes {', '.join(format_shape(s) for s in shapes)} differ on axis {index}")
        out.append(known.pop() if known else None)
    return tuple(out)


def tf_op_lambda(call: LayerCall) -> LayerResult:
    """tf-keras's wrapper of a raw TensorFlow op: element-wise ops, reductions, expand_dims, concat, stack
    and slicing, whose shapes follow from the call arguments; any other op is refused by name."""
    function = call.get("function")
    if not isinstance(function, str):
        raise RuleError(f"function must be the name of a TensorFlow op, not {function!r}")
    shapes = call.input_shapes
    if not shapes:
        raise RuleError(f"tf.{function} was called on no tensor")
    if function in _TF_ELEMENTWISE_UNARY and len(shapes) == 1:
        return LayerResult((shapes[0],))
    if function in _TF_ELEMENTWISE_BINARY:
        if len(shapes) >= 2:
            return LayerResult((_tf_broadcast(shapes),))
        other = _op_kwargs(call, function).get("y")
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return LayerResult((shapes[0],))
    if function in _TF_REDUCTIONS and len(shapes) == 1:
        return LayerResult((_reduction(shapes[0], _op_kwargs(call, function), function),))
    if function == "expand_dims" and len(shapes) == 1:
        axis = _op_axis(_op_kwargs(call, function).get("axis"), len(shapes[0]) + 1, function)
        return LayerResult((shapes[0][:axis] + (1,) + shapes[0][axis:],))
    if function == "concat":
        return LayerResult((_tf_concat(shapes, _op_kwargs(call, function).get("axis")),))
    if function == "stack":
        rank = len(shapes[0]) + 1
        axis = _op_axis(_op_kwargs(call, function).get("axis", 0), rank, function)
        if any(len(s) != len(shapes[0]) for s in shapes):
            raise RuleError("tf.stack needs tensors of one shape, got " + ", ".join(format_shape(s) for s in shapes))
        merged = _tf_concat(shapes, None) if len(shapes) > 1 else shapes[0]
        return LayerResult((merged[:axis] + (len(shapes),) + merged[axis:],))
    if function == "__operators__.getitem" and len(shapes) == 1:
        return LayerResult((_getitem(shapes[0], _op_kwargs(call, function)),))
    raise RuleError(f"the output shape of the TensorFlow op tf.{function} is not computed statically "
                    "(element-wise ops, reductions, expand_dims, concat, stack and slicing are)")


IDENTITY_CLASSES = (
    "Activation", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
    "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Masking",
    "ReLU", "LeakyReLU", "ELU", "Softmax", "ThresholdedReLU", "Identity",
)


@hookimpl
def kerasparams_layer_rules() -> dict[str, Rule]:
    rules: dict[str, Rule] = {name: identity for name in IDENTITY_CLASSES}
    rules.update({"Dense": dense, "Embedding": embedding, "InputLayer": input_layer, "PReLU": prelu,
                  "EinsumDense": einsum_dense, "Lambda": lambda_layer, "TFOpLambda": tf_op_lambda,
                  "ReversibleEmbedding": reversible_embedding, "RandomFourierFeatures": random_fourier_features,
                  "SlicingOpLambda": tf_op_lambda})
    return rules
