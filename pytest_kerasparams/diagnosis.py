"""Likely causes: when a stored count differs from the recomputed one, say why it probably does.

Each check here is a known, common way a stored figure and a config part
ways: a bias that one side lacks, GRU's ``reset_after``, CuDNN's double bias,
a Bidirectional wrapper, ``return_sequences``, an input dimension off by one,
and ``trainable`` flags. Every cause is tested arithmetically against the
recomputed variables: a sentence is only offered when the numbers add up.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from .api import Shape, Variable
from .engine import LayerReport, ModelReport
from .explain import fmt_shape

_RECURRENT = ("LSTM", "GRU", "SimpleRNN", "CuDNNLSTM", "CuDNNGRU", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")


def _local(variable: Variable) -> str:
    return variable.name.rsplit("/", 1)[-1]


def _inner_class(layer: LayerReport) -> str:
    """The class whose weights a layer holds: the wrapped layer for TimeDistributed and Bidirectional."""
    inner = layer.spec.config.get("layer") if isinstance(layer.spec.config, dict) else None
    if layer.class_name in ("Bidirectional", "TimeDistributed") and isinstance(inner, dict):
        return str(inner.get("class_name", ""))
    return layer.class_name


def _directions(layer: LayerReport) -> int:
    return 2 if layer.class_name == "Bidirectional" else 1


def _inner_config(layer: LayerReport) -> dict:
    config = layer.spec.config if isinstance(layer.spec.config, dict) else {}
    inner = config.get("layer")
    if layer.class_name in ("Bidirectional", "TimeDistributed") and isinstance(inner, dict):
        return inner.get("config") if isinstance(inner.get("config"), dict) else {}
    return config


def diagnose_count(layer: LayerReport, stored: int, stored_shapes: Sequence[tuple[int, ...]] | None = None,
                   ) -> list[str]:
    """Known causes that turn the recomputed count of ``layer`` into ``stored`` exactly.

    With ``stored_shapes`` (a weight file's variables, in Keras order) a cause
    is only offered when the variables it changes are the ones that differ.
    """
    expected = layer.params
    delta = stored - expected
    if delta == 0:
        return []
    variables = list(layer.variables)
    differing: set[int] | None = None
    if stored_shapes is not None and len(stored_shapes) == len(variables):
        differing = {i for i, (v, s) in enumerate(zip(variables, stored_shapes)) if tuple(v.shape) != tuple(s)}
    causes: list[str] = []

    def offer(text: str, touches: Iterable[int] | None = None) -> None:
        if differing is not None and touches is not None and not differing <= set(touches):
            return
        causes.append(text)

    biases = [i for i, v in enumerate(variables) if _local(v) in ("bias", "depthwise_bias", "pointwise_bias")]
    bias_size = sum(variables[i].size for i in biases)
    inner_class = _inner_class(layer)
    directions = _directions(layer)
    kernels = [i for i, v in enumerate(variables) if _local(v) in ("kernel", "embeddings", "depthwise_kernel")
               and len(v.shape) >= 2]
    kernel = variables[kernels[0]] if kernels else None
    if biases and delta == -bias_size and (stored_shapes is None or len(stored_shapes) == len(variables) - len(biases)):
        offer(f"the stored layer has no bias ({bias_size:,} parameters: "
              + ", ".join(f"{variables[i].name} {fmt_shape(variables[i].shape)}" for i in biases)
              + "); it was saved with use_bias=False", None if stored_shapes is None else ())
    elif not biases and kernel is not None and inner_class != "Embedding" and delta == kernel.shape[-1] * directions:
        offer(f"the stored layer has a bias of {kernel.shape[-1]:,} that the config lacks "
              "(use_bias is False here, but the saved layer had one)")
    gru = [i for i in biases if inner_class in ("GRU", "CuDNNGRU")]
    if gru:
        bias = variables[gru[0]]
        if len(bias.shape) == 2 and delta == -bias.shape[-1] * directions:
            offer(f"the stored GRU has reset_after=False (one bias row of {bias.shape[-1]:,}): the config has "
                  "reset_after=True (two bias rows, the TF2 default); Keras 2.2-era files default to False", gru)
        if len(bias.shape) == 1 and delta == bias.shape[-1] * directions:
            offer(f"the stored GRU has reset_after=True (two bias rows of {bias.shape[-1]:,}, the TF2 default) "
                  "or is a CuDNNGRU (double bias); the config has reset_after=False", gru)
    lstm = [i for i in biases if inner_class == "LSTM"]
    if lstm and delta == variables[lstm[0]].size * directions:
        size = variables[lstm[0]].size
        offer(f"the stored layer is a CuDNNLSTM, which keeps two bias vectors ({2 * size:,} per direction "
              f"instead of {size:,})", lstm)
    if inner_class in ("CuDNNLSTM", "CuDNNGRU") and biases and delta == -(bias_size // 2):
        offer(f"the stored layer is a plain {inner_class[5:]} (one bias): {inner_class} keeps two bias vectors",
              biases)
    if inner_class == "LSTM" and stored_shapes is not None and differing:
        gated = [i for i, v in enumerate(variables) if len(v.blocks) == 4]
        if gated and all(i in differing and stored_shapes[i][-1] * 4 == variables[i].shape[-1] * 3 for i in gated):
            offer("the stored weights have 3 gate blocks where an LSTM has 4: they look like a GRU's "
                  "(update, reset, candidate)", gated)
    if expected and stored == 2 * expected and layer.class_name != "Bidirectional":
        offer("the stored count is exactly twice the config's: the saved layer was wrapped in "
              "Bidirectional (one copy of the weights per direction)")
    if layer.class_name == "Bidirectional" and expected and 2 * stored == expected:
        offer("the stored count is exactly half the config's: the saved layer ran in one direction only "
              "(not wrapped in Bidirectional)")
    if kernel is not None:
        axis = len(kernel.shape) - 2
        inputs = kernel.shape[axis]
        per_input = kernel.size // inputs if inputs else 0
        if per_input and delta in (per_input * directions, -per_input * directions):
            other = inputs + (1 if delta > 0 else -1)
            what = "input_dim (vocabulary size)" if _local(kernel) == "embeddings" else "input dimension"
            offer(f"the stored layer was built for an {what} of {other:,} instead of {inputs:,} "
                  f"({per_input:,} parameters per input; off by one)", kernels)
    return causes


def diagnose_output_shape(layer: LayerReport, stored: Shape | list[Shape] | None) -> list[str]:
    """Known causes for a stored output shape: ``return_sequences`` above all."""
    expected = layer.summary_output()
    if stored is None or expected is None or isinstance(stored, list) or isinstance(expected, list):
        return []
    causes: list[str] = []
    if _inner_class(layer) in _RECURRENT:
        config = _inner_config(layer)
        flag = bool(config.get("return_sequences", False))
        inputs = layer.input_shapes[0][0] if layer.input_shapes and layer.input_shapes[0] else None
        steps = inputs[1] if inputs is not None and len(inputs) > 1 else None
        if len(stored) == len(expected) + 1 and stored[:1] + stored[2:] == expected and stored[1] == steps:
            causes.append("the stored layer returned the whole sequence (return_sequences=True); "
                          f"the config has return_sequences={flag}")
        elif len(stored) + 1 == len(expected) and expected[:1] + expected[2:] == stored:
            causes.append("the stored layer returned only the last step (return_sequences=False); "
                          f"the config has return_sequences={flag}")
    return causes


def diagnose_totals(report: ModelReport, key: str, stored: int, stored_total: int | None = None) -> list[str]:
    """Known causes for a stored Total / Trainable / Non-trainable figure."""
    figures = {"total": report.total, "trainable": report.trainable, "non_trainable": report.non_trainable}
    delta = stored - figures[key]
    if delta == 0:
        return []
    causes: list[str] = []
    if key in ("trainable", "non_trainable") and (stored_total is None or stored_total == report.total):
        moved = delta if key == "non_trainable" else -delta
        frozen = [layer for layer in report.layers if layer.trainable_params == moved and moved > 0]
        thawed = [layer for layer in report.layers if layer.non_trainable_params == -moved and moved < 0
                  and layer.spec.config.get("trainable") is False]
        if frozen:
            causes.append("trainable flags differ: the stored figures count "
                          + " or ".join(f"{l.name} ({l.params:,})" for l in frozen[:3])
                          + " as non-trainable, as if it was saved with trainable=False")
        elif thawed:
            causes.append("trainable flags differ: the stored figures count "
                          + " or ".join(f"{l.name} ({l.params:,})" for l in thawed[:3])
                          + " as trainable, but its config says trainable=False")
        elif moved:
            causes.append(f"trainable flags differ: {abs(moved):,} parameters moved between trainable and "
                          "non-trainable, while the total agrees")
    if key == "total":
        for layer in report.layers:
            for cause in diagnose_count(layer, layer.params + delta):
                causes.append(f"{layer.name}: {cause}")
    return causes
