"""Reading every Keras config format into one layer graph.

Formats: Keras 1 and 2.0-2.2.2 (Sequential config as a list), Keras 2.2.3+
and tf.keras (``{"name", "layers"}``, list nodes), tf-keras 2.13+ (with
``module``/``build_config``), Keras 3 (dict nodes with ``__keras_tensor__``),
TensorFlow.js layers models (``modelTopology``) and a ``.keras`` archive's
``config.json``. Everything downstream sees only :class:`ModelSpec`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .api import Shape

MODEL_CLASSES = frozenset({"Sequential", "Model", "Functional"})


def _is_model_class(class_name: object) -> bool:
    """Whether a (possibly malformed) ``class_name`` names a model; never raises on lists or objects."""
    return isinstance(class_name, str) and class_name in MODEL_CLASSES
INPUT_CLASS = "InputLayer"


class GraphError(Exception):
    """A config whose structure is not a Keras model; ``json_path`` says where."""

    def __init__(self, message: str, json_path: tuple[str | int, ...] = (), layer: str | None = None):
        super().__init__(message)
        self.message = message
        self.json_path = json_path
        self.layer = layer


@dataclass(frozen=True)
class TensorRef:
    """``[layer_name, node_index, tensor_index]``: one tensor in the graph."""

    layer: str
    node: int
    tensor: int
    recorded: Shape | None = field(default=None, compare=False, hash=False)
    """The shape Keras 3 wrote beside the reference (``__keras_tensor__``), when it did."""


@dataclass
class CallSpec:
    """One call of a layer: which tensors went in, and any plain keyword arguments."""

    inputs: tuple[TensorRef, ...]
    input_names: tuple[str, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class LayerSpec:
    name: str
    class_name: str
    config: Mapping[str, Any]
    json_path: tuple[str | int, ...]
    module: str | None = None
    calls: list[CallSpec] = field(default_factory=list)
    model: ModelSpec | None = None
    """The nested model, when this layer is a Sequential or Functional model."""
    input_shape: Shape | None = None
    """For input layers: the declared batch shape."""

    @property
    def is_input(self) -> bool:
        return self.class_name == INPUT_CLASS

    @property
    def is_operation(self) -> bool:
        """A Keras 3 ``keras.ops`` call recorded in the graph, not a layer."""
        return bool(self.module) and self.module.startswith("keras.src.ops")

    @property
    def trainable(self) -> bool:
        return self.config.get("trainable", True) is not False


@dataclass
class ModelSpec:
    name: str
    class_name: str
    flavor: str
    layers: list[LayerSpec]
    inputs: list[TensorRef]
    outputs: list[TensorRef]
    json_path: tuple[str | int, ...]
    trainable: bool = True
    node_offset: int = 0
    """Where the outer graph's inbound-node references to this nested model start counting its calls:
    1 where the writer kept an internal first node (tf.keras, TF.js, Keras 2.2+), 0 otherwise."""
    endpoint_node_offset: int | None = None
    """The same for the outer model's ``input_layers``/``output_layers``, when it differs: Keras 3
    writes raw call indices inside nodes but offsets a nested Functional's endpoints by one."""

    @property
    def output_node_offset(self) -> int:
        return self.node_offset if self.endpoint_node_offset is None else self.endpoint_node_offset

    @property
    def summary_layers(self) -> list[LayerSpec]:
        """The layers ``model.summary()`` lists: a Sequential hides its input layer, and
        Keras 3 lists no ``keras.ops`` operations (they are not layers)."""
        hide_inputs = self.class_name == "Sequential"
        return [layer for layer in self.layers
                if not (hide_inputs and layer.is_input) and not layer.is_operation]

    def layer(self, name: str) -> LayerSpec | None:
        for candidate in self.layers:
            if candidate.name == name:
                return candidate
        return None


def detect_flavor(data: Mapping[str, Any]) -> str:
    """The Keras era that wrote a top-level config."""
    version = str(data.get("keras_version") or "")
    if "modelTopology" in data:
        return "tfjs"
    if version.startswith("1."):
        return "keras1"
    if version:
        return "tf-keras" if "module" in data or "build_config" in data or _has_module_keys(data) else "keras2"
    era = _era_from_layers(data)
    if era == "keras3":
        return era
    if era == "tf-keras":
        return "tf-keras" if "module" in data or _has_module_keys(data) else "keras2"
    return "keras3" if "module" in data or "registered_name" in data else "keras2"


def _era_from_layers(model: Any, depth: int = 0) -> str | None:
    """``keras3`` or ``tf-keras`` from the layers themselves, for files without ``keras_version``.

    A ``.keras`` archive's config.json has no version, whether Keras 3 or tf-keras wrote it.
    Keras 3 alone writes dict nodes, ``batch_shape`` and ``DTypePolicy`` objects; tf-keras
    writes ``batch_input_shape`` on its input layers.
    """
    config = model.get("config") if isinstance(model, dict) else None
    layers = config.get("layers") if isinstance(config, dict) else config
    if not isinstance(layers, list) or depth > 16:
        return None
    found: str | None = None
    for layer in layers:
        if not isinstance(layer, dict):
            continue
        nodes = layer.get("inbound_nodes")
        if isinstance(nodes, list) and any(isinstance(node, dict) for node in nodes):
            return "keras3"
        layer_config = layer.get("config")
        if isinstance(layer_config, dict):
            dtype = layer_config.get("dtype")
            if "batch_shape" in layer_config or isinstance(dtype, dict) and dtype.get("class_name") == "DTypePolicy":
                return "keras3"
            if "batch_input_shape" in layer_config:
                found = "tf-keras"
        if _is_model_class(layer.get("class_name")):
            found = _era_from_layers(layer, depth + 1) or found
            if found == "keras3":
                return found
    return found


def _has_module_keys(model: Mapping[str, Any]) -> bool:
    """tf-keras 2.13+ writes ``module``/``build_config`` on every layer (not on the top level)."""
    config = model.get("config")
    layers = config.get("layers") if isinstance(config, dict) else config
    return isinstance(layers, list) and any(
        isinstance(layer, dict) and ("module" in layer or "build_config" in layer) for layer in layers)


def unwrap(data: Any) -> tuple[Mapping[str, Any], tuple[str | int, ...], str]:
    """The model config inside a file: the object itself or a TF.js ``modelTopology``."""
    if not isinstance(data, dict):
        raise GraphError(f"the top level is a JSON {_json_type(data)}, not an object with a Keras model config")
    if "modelTopology" in data:
        topology = data["modelTopology"]
        if not isinstance(topology, dict):
            raise GraphError("modelTopology is not an object", ("modelTopology",))
        if "node" in topology and "model_config" not in topology and "class_name" not in topology:
            raise GraphError("is a TensorFlow.js graph model (modelTopology has a node list), not a Keras layers model",
                             ("modelTopology",))
        if "model_config" in topology:
            return topology["model_config"], ("modelTopology", "model_config"), "tfjs"
        return topology, ("modelTopology",), "tfjs"
    return data, (), detect_flavor(data)


def _json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


def read_model(data: Any) -> ModelSpec:
    """Build the layer graph of a decoded model file."""
    config, path, flavor = unwrap(data)
    return _read_model_object(config, path, flavor, names=_AutoNames())


class _AutoNames:
    """Names for models the file leaves unnamed (Keras 2.0-2.2.2 Sequentials are bare lists).

    Keras names them as it deserializes, outer model first: ``sequential``, ``sequential_1``, ...
    """

    def __init__(self) -> None:
        self.used: dict[str, int] = {}

    def next(self, prefix: str) -> str:
        count = self.used.get(prefix, 0)
        self.used[prefix] = count + 1
        return prefix if count == 0 else f"{prefix}_{count}"


def _read_model_object(obj: Any, path: tuple[str | int, ...], flavor: str, nested: bool = False,
                       names: _AutoNames | None = None) -> ModelSpec:
    if not isinstance(obj, dict) or "class_name" not in obj:
        raise GraphError("is not a Keras model config (no class_name)", path)
    class_name = obj.get("class_name")
    if not _is_model_class(class_name):
        raise GraphError(f"has class_name {class_name!r}, not Sequential, Functional or Model", path + ("class_name",))
    config = obj.get("config")
    names = names or _AutoNames()
    if class_name == "Sequential":
        return _read_sequential(config, path + ("config",), flavor, nested, names)
    return _read_functional(config, path + ("config",), flavor, class_name, names)


def _shape(value: Any, path: tuple[str | int, ...]) -> Shape:
    if not isinstance(value, list):
        raise GraphError("an input shape must be a list of integers or nulls", path)
    out: list[int | None] = []
    for index, dim in enumerate(value):
        if dim is None:
            out.append(None)
        elif isinstance(dim, int) and not isinstance(dim, bool):
            if dim < 0:
                raise GraphError(f"input dimension {dim} is negative", path + (index,))
            out.append(dim)
        else:
            raise GraphError(f"input dimension {dim!r} is not an integer or null", path + (index,))
    return tuple(out)


def declared_input_shape(config: Mapping[str, Any], path: tuple[str | int, ...],
                         class_name: str = "") -> Shape | None:
    """The batch shape a layer declares through any era's keys, or ``None``."""
    for key in ("batch_shape", "batch_input_shape"):
        if config.get(key) is not None:
            return _shape(config[key], path + (key,))
    if config.get("input_shape") is not None:
        return (None,) + _shape(config["input_shape"], path + ("input_shape",))
    if class_name == "Embedding":
        length = config.get("input_length")
        return (None, length) if isinstance(length, int) and not isinstance(length, bool) else None
    dim = config.get("input_dim")
    if isinstance(dim, int) and not isinstance(dim, bool):
        if "input_length" in config:  # Keras 1/2 recurrent layers: (timesteps, features)
            length = config["input_length"]
            return (None, length if isinstance(length, int) and not isinstance(length, bool) else None, dim)
        return (None, dim)
    return None


def _layer_list(config: Any, path: tuple[str | int, ...]) -> tuple[list[Any], tuple[str | int, ...]]:
    if isinstance(config, list):
        return config, path
    if isinstance(config, dict) and isinstance(config.get("layers"), list):
        return config["layers"], path + ("layers",)
    raise GraphError("has no list of layers", path)


def _layer_spec(obj: Any, path: tuple[str | int, ...], flavor: str, names: _AutoNames) -> LayerSpec:
    if not isinstance(obj, dict):
        raise GraphError(f"a layer must be an object, not a JSON {_json_type(obj)}", path)
    class_name = obj.get("class_name")
    if not isinstance(class_name, str) or not class_name:
        raise GraphError("a layer has no class_name", path)
    config = raw_config = obj.get("config")
    if class_name == "Sequential" and isinstance(raw_config, list):  # Keras 2.0-2.2.2: a bare list of layers
        given = obj.get("name")
        config = {"name": given if isinstance(given, str) and given else names.next("sequential"), "layers": raw_config}
    if not isinstance(config, dict):
        raise GraphError(f"layer of class {class_name} has no config object", path + ("config",))
    name = obj.get("name", config.get("name"))
    if not isinstance(name, str) or not name:
        raise GraphError(f"a {class_name} layer has no name", path + ("config",))
    module = obj.get("module") if isinstance(obj.get("module"), str) else None
    layer = LayerSpec(name, class_name, config, path, module)
    if _is_model_class(class_name):
        if isinstance(raw_config, list):
            layer.model = _read_sequential(raw_config, path + ("config",), flavor, True, names)
        else:
            layer.model = _read_model_object(obj, path, flavor, nested=True, names=names)
        layer.model.name = name
        layer.model.trainable = layer.trainable
    elif class_name == INPUT_CLASS:
        layer.input_shape = declared_input_shape(config, path + ("config",), class_name)
        if layer.input_shape is None:
            raise GraphError(f"input layer {name} declares no shape", path + ("config",), name)
    return layer


def _read_sequential(config: Any, path: tuple[str | int, ...], flavor: str, nested: bool,
                     names: _AutoNames) -> ModelSpec:
    items, items_path = _layer_list(config, path)
    name = config.get("name") if isinstance(config, dict) else None
    name = name if isinstance(name, str) and name else names.next("sequential")
    layers: list[LayerSpec] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        layer = _layer_spec(item, items_path + (index,), flavor, names)
        if layer.name in seen:
            raise GraphError(f"two layers are named {layer.name!r}; Keras requires unique names",
                             items_path + (index,), layer.name)
        seen.add(layer.name)
        layers.append(layer)
    if not layers:
        raise GraphError("has no layers", items_path)
    model = ModelSpec(str(name), "Sequential", flavor, layers, [], [], path)
    first = layers[0]
    previous: TensorRef
    shape: Shape | None = None
    if first.is_input:
        previous = TensorRef(first.name, 0, 0)
        chain = list(layers[1:])
    else:
        shape = declared_input_shape(first.config, first.json_path + ("config",), first.class_name)
        if shape is None and first.model is not None:
            shape = _first_input_shape(first.model)
        if shape is None and isinstance(config, dict):
            build = config.get("build_input_shape")
            if build is not None:
                shape = _shape(build, path + ("build_input_shape",))
        if shape is None and not nested:
            raise GraphError("declares no input shape (no InputLayer, batch_input_shape or build_input_shape), "
                             "so Keras cannot build it either", items_path + (0,), first.name)
        synthetic = LayerSpec(f"{first.name}_input", INPUT_CLASS, {"name": f"{first.name}_input"},
                              first.json_path, input_shape=shape)
        chain = list(layers)
        model.layers.insert(0, synthetic)
        previous = TensorRef(synthetic.name, 0, 0)
    model.inputs = [previous]
    for layer in chain:
        if layer.is_input:
            raise GraphError(f"input layer {layer.name} is not the first layer of the Sequential model",
                             layer.json_path, layer.name)
        layer.calls = [CallSpec((previous,), ("inputs",))]
        if layer.model is not None:
            layer.model.node_offset = 0  # the references here are our own: call 0 is node 0
        previous = TensorRef(layer.name, 0, 0)
    model.outputs = [previous]
    return model


def _first_input_shape(model: ModelSpec) -> Shape | None:
    """The declared shape of a nested model's first input, which a Sequential around it adopts."""
    if not model.inputs:
        return None
    first = model.layer(model.inputs[0].layer)
    return first.input_shape if first is not None else None


def _infer_node_offsets(model: ModelSpec, keras3_references: bool) -> None:
    """Decide, per nested model, where references to its calls start counting.

    Keras 3 writes raw call indices inside nodes, and offsets a nested Functional (not a Sequential)
    by one in ``input_layers``/``output_layers``. Earlier writers offset both by one when the nested
    model kept an internal node (Keras 2.2+, tf.keras with an input shape, TF.js) and by zero
    otherwise (Keras 2.0-2.1, tf.keras Sequentials without one); every written call is referenced,
    so the smallest index that refers to a nested model is its offset.
    """
    nested = [layer for layer in model.layers if layer.model is not None]
    if not nested:
        return
    if keras3_references:
        for layer in nested:
            layer.model.node_offset = 0
            layer.model.endpoint_node_offset = 0 if layer.class_name == "Sequential" else 1
        return
    smallest: dict[str, int] = {}
    references = [ref for layer in model.layers for call in layer.calls for ref in call.inputs]
    for ref in references + model.inputs + model.outputs:
        smallest[ref.layer] = min(ref.node, smallest.get(ref.layer, ref.node))
    for layer in nested:
        layer.model.node_offset = min(smallest.get(layer.name, 1), 1)
        layer.model.endpoint_node_offset = None


def _read_functional(config: Any, path: tuple[str | int, ...], flavor: str, class_name: str,
                     names: _AutoNames) -> ModelSpec:
    if not isinstance(config, dict):
        raise GraphError("functional model config is not an object", path)
    items, items_path = _layer_list(config, path)
    layers: list[LayerSpec] = []
    by_name: dict[str, LayerSpec] = {}
    for index, item in enumerate(items):
        layer = _layer_spec(item, items_path + (index,), flavor, names)
        if layer.name in by_name:
            raise GraphError(f"two layers are named {layer.name!r}; Keras requires unique names",
                             items_path + (index,), layer.name)
        nodes = item.get("inbound_nodes", [])
        if not isinstance(nodes, list):
            raise GraphError(f"inbound_nodes of layer {layer.name} is not a list",
                             items_path + (index, "inbound_nodes"), layer.name)
        for node_index, node in enumerate(nodes):
            layer.calls.append(_read_node(node, items_path + (index, "inbound_nodes", node_index), layer.name))
        if layer.is_input and layer.calls:
            layer.calls = []
        layers.append(layer)
        by_name[layer.name] = layer
    model = ModelSpec(str(config.get("name", "model")), class_name, flavor, layers,
                      _read_endpoints(config.get("input_layers"), path + ("input_layers",)),
                      _read_endpoints(config.get("output_layers"), path + ("output_layers",)), path)
    model.node_offset = 1
    keras3_references = flavor == "keras3" or any(
        isinstance(node, dict) for item in items if isinstance(item, dict)
        for node in (item.get("inbound_nodes") if isinstance(item.get("inbound_nodes"), list) else []))
    _infer_node_offsets(model, keras3_references)
    if not model.inputs:
        raise GraphError("lists no input_layers", path + ("input_layers",))
    if not model.outputs:
        raise GraphError("lists no output_layers", path + ("output_layers",))
    return model


def _ref_from_list(value: Any, path: tuple[str | int, ...]) -> TensorRef:
    if (isinstance(value, list) and len(value) >= 3 and isinstance(value[0], str)
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value[1:3])):
        return TensorRef(value[0], value[1], value[2])
    raise GraphError("a tensor reference must be [layer_name, node_index, tensor_index]", path)


def _is_ref_list(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value[1:]))


def _read_endpoints(value: Any, path: tuple[str | int, ...]) -> list[TensorRef]:
    if value is None:
        return []
    if isinstance(value, dict):  # Keras flattens a dict of outputs in sorted key order
        return [_ref_from_list(value[k], path + (k,)) for k in sorted(value)]
    if _is_ref_list(value):
        return [_ref_from_list(value, path)]
    if not isinstance(value, list):
        raise GraphError("must be a list of [layer_name, node_index, tensor_index]", path)
    return [_ref_from_list(v, path + (i,)) for i, v in enumerate(value)]


def _keras_tensor_ref(value: Any) -> TensorRef | None:
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        history = value.get("config", {}).get("keras_history") if isinstance(value.get("config"), dict) else None
        if _is_ref_list(history):
            shape = value["config"].get("shape")
            recorded = None
            if isinstance(shape, list) and all(d is None or isinstance(d, int) and not isinstance(d, bool)
                                               and d >= 0 for d in shape):
                recorded = tuple(shape)
            return TensorRef(history[0], history[1], history[2], recorded)
    return None


def _collect_tensors(value: Any, role: str, refs: list[TensorRef], names: list[str], depth: int = 0) -> Any:
    """Pull keras-tensor references out of a node's args; return the plain remainder."""
    if depth > 32:
        return None
    ref = _keras_tensor_ref(value)
    if ref is not None:
        refs.append(ref)
        names.append(role)
        return None
    if isinstance(value, list):
        return [_collect_tensors(v, role, refs, names, depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: _collect_tensors(v, k if depth == 0 else role, refs, names, depth + 1) for k, v in value.items()}
    return value


def _collect_list_refs(value: Any, role: str, refs: list[TensorRef], names: list[str], depth: int = 0) -> bool:
    """Tensor references (``[layer, node, tensor]``) inside a list-format node's kwargs; True if any."""
    if _is_ref_list(value):
        refs.append(TensorRef(value[0], value[1], value[2]))
        names.append(role)
        return True
    if isinstance(value, list) and depth < 8:
        found = [_collect_list_refs(item, role, refs, names, depth + 1) for item in value]
        return any(found)
    return False


def _read_node(node: Any, path: tuple[str | int, ...], layer_name: str) -> CallSpec:
    if isinstance(node, dict):  # Keras 3
        refs: list[TensorRef] = []
        names: list[str] = []
        args = node.get("args", [])
        _collect_tensors(args if isinstance(args, list) else [args], "inputs", refs, names)
        kwargs = node.get("kwargs", {})
        plain = _collect_tensors(kwargs, "", refs, names) if isinstance(kwargs, dict) else {}
        return CallSpec(tuple(refs), tuple(names), plain if isinstance(plain, dict) else {})
    if not isinstance(node, list):
        raise GraphError(f"an inbound node of layer {layer_name} is not a list", path, layer_name)
    unwrapped = bool(node) and isinstance(node[0], str)  # tf.keras writes a TFOpLambda's lone input so
    refs = []
    names = []
    plain_kwargs: dict[str, Any] = {}
    for index, entry in enumerate([node] if unwrapped else node):
        entry_path = path if unwrapped else path + (index,)
        if not (isinstance(entry, list) and len(entry) >= 3):
            raise GraphError(f"an inbound tensor of layer {layer_name} is not [layer, node, tensor, kwargs]",
                             entry_path, layer_name)
        refs.append(_ref_from_list(entry, entry_path))
        names.append("inputs")
        if len(entry) > 3 and isinstance(entry[3], dict):
            for key, value in entry[3].items():
                if not _collect_list_refs(value, key, refs, names):
                    plain_kwargs[key] = value
    return CallSpec(tuple(refs), tuple(names), plain_kwargs)
