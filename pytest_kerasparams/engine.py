"""Shape propagation: walk the layer graph, call each layer's rule, total the weights."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .api import LayerCall, LayerResult, RuleError, Shape, Variable
from .graph import MODEL_CLASSES, GraphError, LayerSpec, ModelSpec, TensorRef, _read_model_object
from .registry import RuleTable

from .limits import dimension_problem, parameters_problem  # noqa: E402


class EngineError(Exception):
    """A layer that cannot be computed; ``kind`` is ``graph``, ``no-rule``, ``shape`` or ``plugin``."""

    def __init__(self, kind: str, message: str, layer: LayerSpec | None = None,
                 json_path: tuple[str | int, ...] | None = None, explanation: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.layer = layer
        self.json_path = json_path if json_path is not None else (layer.json_path if layer else ())
        self.explanation = explanation


@dataclass
class LayerReport:
    """The engine's figures for one layer of one model."""

    spec: LayerSpec
    plugin: str
    input_shapes: list[tuple[Shape, ...]] = field(default_factory=list)
    output_shapes: list[tuple[Shape, ...]] = field(default_factory=list)
    result: LayerResult | None = None
    variables: tuple[Variable, ...] = ()
    nested: ModelReport | None = None
    opaque: bool = False
    """No rule knew this layer: its output shape was read from the file and its weights are unknown."""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def class_name(self) -> str:
        return self.spec.class_name

    @property
    def params(self) -> int:
        return sum(v.size for v in self.variables)

    @property
    def trainable_params(self) -> int:
        return sum(v.size for v in self.variables if v.trainable)

    @property
    def non_trainable_params(self) -> int:
        return self.params - self.trainable_params

    def summary_output(self) -> list[Shape] | Shape | None:
        """The output shape ``model.summary()`` prints: one shape, several, or ``None``."""
        if not self.output_shapes:
            return None
        first = self.output_shapes[0]
        return first[0] if len(first) == 1 else list(first)


@dataclass
class ModelReport:
    spec: ModelSpec
    layers: list[LayerReport]
    output_shapes: tuple[Shape, ...]

    @property
    def rows(self) -> list[LayerReport]:
        """The layers ``model.summary()`` lists, in its order."""
        listed = {id(layer) for layer in self.spec.summary_layers}
        return [r for r in self.layers if id(r.spec) in listed]

    @property
    def variables(self) -> list[Variable]:
        return [v for r in self.layers for v in r.variables]

    @property
    def total(self) -> int:
        return sum(r.params for r in self.layers)

    @property
    def trainable(self) -> int:
        return sum(r.trainable_params for r in self.layers)

    @property
    def non_trainable(self) -> int:
        return self.total - self.trainable

    def find(self, name: str) -> LayerReport | None:
        for report in self.layers:
            if report.name == name:
                return report
        return None


def _check_result(result: Any, plugin: str, layer: LayerSpec) -> LayerResult:
    def fault(why: str) -> EngineError:
        return EngineError("plugin", f"the rule for {layer.class_name} from plugin {plugin!r} {why}", layer)

    if not isinstance(result, LayerResult):
        raise fault(f"returned {type(result).__name__}, not a LayerResult")
    if not isinstance(result.output_shapes, tuple) or not result.output_shapes:
        raise fault("returned no output shapes")
    for shape in result.output_shapes:
        if not isinstance(shape, tuple):
            raise fault(f"returned the output shape {shape!r}, which is not a tuple")
        for dim in shape:
            if dim is not None and (not isinstance(dim, int) or isinstance(dim, bool) or dim < 0):
                raise fault(f"returned the output shape {shape!r} with an invalid dimension {dim!r}")
            why = dimension_problem(dim) if dim is not None else None
            if why:
                raise EngineError("limit", f"layer {layer.name} would output {why}", layer)
    for variable in result.variables:
        if not isinstance(variable, Variable) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in variable.shape):
            raise fault(f"returned the variable {variable!r} with an invalid shape")
        why = parameters_problem(variable.size, f"the size of its variable {variable.name}")
        if why:
            raise EngineError("limit", f"layer {layer.name}: {why}", layer)
    return result


def keras_operation_key(class_name: str, module: str | None) -> str | None:
    """``keras.ops.Add`` for a Keras 3 ``keras.ops`` call in a functional graph, else ``None``.

    Keras 3 serializes ``x + y`` or ``keras.ops.concatenate`` as nodes whose class names
    (``Add``, ``Multiply``, ``Concatenate``) collide with layers but whose module is
    ``keras.src.ops.*``; they broadcast and take constants, so layer rules must not apply.
    """
    if module and module.startswith("keras.src.ops"):
        return f"keras.ops.{class_name}"
    return None


class Engine:
    """Computes models with one rule table; cheap to create, reused across files."""

    def __init__(self, rules: RuleTable, opaque_unknown: bool = False) -> None:
        self.rules = rules
        self.opaque_unknown = opaque_unknown
        """Take a layer with no rule as opaque: its output shape from the file, its weights unknown."""

    def compute(self, model: ModelSpec, input_shapes: tuple[Shape, ...] | None = None,
                frozen: bool = False) -> ModelReport:
        return _ModelRun(self, model, input_shapes, frozen or not model.trainable).run()

    def run_rule(self, layer: LayerSpec, class_name: str, config: Mapping[str, Any],
                 shapes: tuple[Shape, ...], flavor: str, kwargs: Mapping[str, Any] | None = None,
                 input_names: tuple[str, ...] = (),
                 ) -> tuple[LayerResult, str]:
        if class_name in MODEL_CLASSES:
            try:
                inner = _read_model_object({"class_name": class_name, "config": config}, layer.json_path,
                                           flavor, nested=True)
            except GraphError as error:
                raise EngineError("graph", f"layer {layer.name} wraps a {class_name} that {error.message}",
                                  layer) from None
            report = self.compute(inner, shapes, frozen=config.get("trainable") is False)
            return LayerResult(report.output_shapes, tuple(report.variables)), "kerasparams.builtin"
        operation = keras_operation_key(class_name, layer.module if class_name == layer.class_name else None)
        entry = self.rules.get(operation or class_name)
        if entry is None:
            if operation:
                raise EngineError("no-rule", f"no rule for the Keras 3 operation {operation} (module {layer.module}); "
                                  f"it is a keras.ops call, not the {class_name} layer", layer)
            raise EngineError("no-rule", f"no rule for layer class {class_name}"
                              + (f" (module {layer.module})" if layer.module else "")
                              + (" in this Keras 1 file (keras_version 1.x): Keras 1 layers are read where their "
                                 "rules know the old argument names" if flavor == "keras1" else ""), layer)
        rule, plugin = entry

        def compute_inner(inner_layer: Mapping[str, Any], inner_shapes: tuple[Shape, ...]) -> LayerResult:
            if not isinstance(inner_layer, Mapping) or not isinstance(inner_layer.get("class_name"), str) \
                    or not isinstance(inner_layer.get("config"), Mapping):
                raise RuleError("wraps a layer that has no class_name and config")
            return self.run_rule(layer, inner_layer["class_name"], inner_layer["config"], inner_shapes, flavor)[0]

        call = LayerCall(class_name, config, shapes, flavor, compute_inner, kwargs or {}, input_names)
        try:
            result = rule(call)
        except EngineError:
            raise
        except RuleError as error:
            raise EngineError("shape", f"layer {layer.name} ({class_name}): {error}", layer) from None
        except RecursionError:
            raise EngineError("limit", f"layer {layer.name} nests wrappers too deeply", layer) from None
        except Exception as error:  # a rule's own bug must not become a traceback
            blame = "a built-in rule" if plugin == "kerasparams.builtin" else f"plugin {plugin!r}"
            raise EngineError("plugin", f"the rule for {class_name} from {blame} failed on layer {layer.name}: "
                              f"{type(error).__name__}: {error}", layer) from None
        return _check_result(result, plugin, layer), plugin


class _ModelRun:
    def __init__(self, engine: Engine, model: ModelSpec, input_shapes: tuple[Shape, ...] | None,
                 frozen: bool) -> None:
        self.engine = engine
        self.model = model
        self.frozen = frozen
        self.by_name = {layer.name: layer for layer in model.layers}
        self.reports = {layer.name: LayerReport(layer, "kerasparams.builtin") for layer in model.layers}
        self.outputs: dict[tuple[str, int], tuple[Shape, ...]] = {}
        self.overrides: dict[str, Shape] = {}
        if input_shapes is not None:
            for ref, shape in zip(model.inputs, input_shapes):
                self.overrides[ref.layer] = shape

    def run(self) -> ModelReport:
        self._check_inputs()
        for layer in self.model.layers:
            if layer.is_input:
                self._input(layer)
            for index in range(len(layer.calls)):
                self._call(layer, index)
        shapes = tuple(self._tensor(ref, ("output_layers",), endpoint=True) for ref in self.model.outputs)
        return ModelReport(self.model, [self.reports[l.name] for l in self.model.layers], shapes)

    def _input(self, layer: LayerSpec) -> tuple[Shape, ...]:
        key = (layer.name, 0)
        if key not in self.outputs:
            shape = self.overrides.get(layer.name, layer.input_shape)
            if shape is None:
                raise EngineError("graph", f"input layer {layer.name} has no known shape", layer)
            for dim in shape:
                why = dimension_problem(dim) if dim is not None else None
                if why:
                    raise EngineError("limit", f"input layer {layer.name} declares {why}", layer)
            self.outputs[key] = (shape,)
            report = self.reports[layer.name]
            report.output_shapes.append((shape,))
            report.input_shapes.append((shape,))
        return self.outputs[key]

    @staticmethod
    def _node_index(layer: LayerSpec, node: int, endpoint: bool = False) -> int:
        """The call a reference names: nested models may keep an internal node 0 (see graph.py)."""
        if layer.model is None:
            return node
        offset = layer.model.output_node_offset if endpoint else layer.model.node_offset
        return node - offset if node >= offset else node

    def _tensor(self, ref: TensorRef, where: tuple[str | int, ...], endpoint: bool = False,
                consumer: LayerSpec | None = None) -> Shape:
        """The shape a reference names; ``consumer`` is the layer whose call holds it (none for outputs)."""
        who = f"layer {consumer.name} takes" if consumer is not None else f"{where[-1]} names"

        def fault(message: str) -> EngineError:
            return EngineError("graph", message, consumer, self.model.json_path + where)

        layer = self.by_name.get(ref.layer)
        if layer is None:
            raise fault(f"{who} layer {ref.layer!r}, which the model does not have")
        if layer.is_input:
            outputs = self._input(layer)
        else:
            index = self._node_index(layer, ref.node, endpoint)
            if not 0 <= index < len(layer.calls):
                raise fault(f"{who} node {ref.node} of layer {ref.layer}, which has {len(layer.calls)} "
                            f"inbound node(s){self._offset_note(layer, endpoint)}")
            outputs = self._call(layer, index)
        if not 0 <= ref.tensor < len(outputs):
            raise fault(f"{who} output {ref.tensor} of layer {ref.layer} (node {ref.node}), "
                        f"which has {len(outputs)} output(s)")
        return outputs[ref.tensor]

    @staticmethod
    def _offset_note(layer: LayerSpec, endpoint: bool) -> str:
        if layer.model is None:
            return ""
        offset = layer.model.output_node_offset if endpoint else layer.model.node_offset
        return f" (nested model: its calls are numbered from {offset})" if offset else ""

    def _check_inputs(self) -> None:
        for index, ref in enumerate(self.model.inputs):
            layer = self.by_name.get(ref.layer)
            where = self.model.json_path + ("input_layers", index)
            if layer is None:
                raise EngineError("graph", f"input_layers names layer {ref.layer!r}, which the model does not have",
                                  None, where)
            if not layer.is_input:
                raise EngineError("graph", f"input_layers names layer {ref.layer} ({layer.class_name}); "
                                  "a model input must be an InputLayer", layer, where)

    def _call(self, layer: LayerSpec, index: int) -> tuple[Shape, ...]:
        """Compute one call, resolving its inputs first, without recursion."""
        stack: list[tuple[LayerSpec, int]] = [(layer, index)]
        in_progress: set[tuple[str, int]] = set()
        while stack:
            current, call_index = stack[-1]
            key = (current.name, call_index)
            if key in self.outputs:
                stack.pop()
                continue
            pending = []
            for ref in current.calls[call_index].inputs:
                source = self.by_name.get(ref.layer)
                if source is None:
                    raise EngineError("graph", f"layer {current.name} takes its input from layer {ref.layer!r}, "
                                      "which the model does not have", current)
                if source.is_input:
                    continue
                source_index = self._node_index(source, ref.node)
                if not 0 <= source_index < len(source.calls):
                    raise EngineError("graph", f"layer {current.name} takes node {ref.node} of layer "
                                      f"{ref.layer}, which has {len(source.calls)} inbound node(s)"
                                      f"{self._offset_note(source, False)}", current)
                if (source.name, source_index) not in self.outputs:
                    pending.append((source, source_index))
            if pending:
                if key in in_progress:
                    raise EngineError("graph", f"layer {current.name} depends on its own output (a cycle)",
                                      current)
                in_progress.add(key)
                for item in pending:
                    if item[0] is current:
                        raise EngineError("graph", f"layer {current.name} takes its own output as its input "
                                          "(a cycle)", current)
                    if (item[0].name, item[1]) in in_progress:
                        raise EngineError("graph", f"layers {current.name} and {item[0].name} take each other's "
                                          "output as input (a cycle)", current)
                    stack.append(item)
                continue
            stack.pop()
            in_progress.discard(key)
            self._evaluate(current, call_index)
        return self.outputs[(layer.name, index)]

    def _recorded(self) -> dict[tuple[str, int, int], Shape]:
        """Shapes Keras 3 wrote beside every tensor reference in the file."""
        if not hasattr(self, "_recorded_shapes"):
            self._recorded_shapes = {(ref.layer, ref.node, ref.tensor): ref.recorded
                                     for other in self.model.layers for call in other.calls
                                     for ref in call.inputs if ref.recorded is not None}
        return self._recorded_shapes

    def _opaque(self, layer: LayerSpec, index: int, error: EngineError) -> LayerResult:
        """A layer no rule knows, taken on trust: the output shapes its consumers recorded."""
        recorded = self._recorded()
        outputs = []
        while (layer.name, index, len(outputs)) in recorded and len(outputs) < 64:
            outputs.append(recorded[(layer.name, index, len(outputs))])
        if not outputs:
            raise EngineError("no-rule", error.message + "; as an opaque layer it needs its output shape from "
                              "the file, which only Keras 3 files record (beside the next layer's input)",
                              layer, explanation=error.explanation) from None
        return LayerResult(tuple(outputs))

    def _evaluate(self, layer: LayerSpec, index: int) -> None:
        call = layer.calls[index]
        shapes = tuple(self._tensor(ref, layer.json_path[len(self.model.json_path):], consumer=layer)
                       for ref in call.inputs)
        report = self.reports[layer.name]
        if layer.model is not None:
            if len(shapes) != len(layer.model.inputs):
                raise EngineError("shape", f"layer {layer.name} ({layer.class_name}) takes "
                                  f"{len(layer.model.inputs)} input(s) but is called on {len(shapes)}: "
                                  f"{', '.join(map(str, shapes))}", layer)
            nested = self.engine.compute(layer.model, shapes, self.frozen)
            if index == 0:
                report.nested = nested
                report.variables = tuple(nested.variables)
            outputs = nested.output_shapes
        else:
            try:
                result, plugin = self.engine.run_rule(layer, layer.class_name, layer.config, shapes,
                                                      self.model.flavor, call.kwargs, call.input_names)
            except EngineError as error:
                if error.kind != "no-rule" or error.layer is not layer or not self.engine.opaque_unknown:
                    raise
                result, plugin = self._opaque(layer, index, error), "opaque"
                report.opaque = True
            if index == 0:
                report.result = result
                report.plugin = plugin
                frozen = self.frozen or not layer.trainable
                report.variables = tuple(v.frozen() for v in result.variables) if frozen else result.variables
            outputs = result.output_shapes
        report.input_shapes.append(shapes)
        report.output_shapes.append(outputs)
        self.outputs[(layer.name, index)] = outputs


def compute_model(engine: Engine, model: ModelSpec) -> ModelReport:
    """Compute a top-level model; graph errors keep their JSON path."""
    try:
        return engine.compute(model)
    except GraphError as error:
        raise EngineError("graph", error.message, None, error.json_path) from None
