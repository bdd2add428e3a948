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
    """Outer node indices of this model start here (1 where Keras keeps an internal first node)."""

    @property
    def summary_layers(self) -> list[LayerSpec]:
        """The layers ``model.summary()`` lists: a Sequential hides its input layer."""
        if self.class_name == "Sequential":
            return [layer for layer in self.layers if not layer.is_input]
        return self.layers

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
        return "tf-keras" if "module" in data or "build_config" in data else "keras2"
    return "keras3" if "module" in data or "registered_name" in data else "keras2"


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
    if flavor == "tfjs" and isinstance(config, dict):
        version = str(config.get("keras_version") or data.get("modelTopology", {}).get("keras_version") or "")
        flavor = "tfjs"
        _ = version
    return _read_model_object(config, path, flavor)


def _read_model_object(obj: Any, path: tuple[str | int, ...], flavor: str, nested: bool = False) -> ModelSpec:
    if not isinstance(obj, dict) or "class_name" not in obj:
        raise GraphError("is not a Keras model config (no class_name)", path)
    class_name = obj.get("class_name")
    if class_name not in MODEL_CLASSES:
        raise GraphError(f"has class_name {class_name!r}, not Sequential, Functional or Model", path + ("class_name",))
    config = obj.get("config")
    if class_name == "Sequential":
        return _read_sequential(config, path + ("config",), flavor, nested)
    return _read_functional(config, path + ("config",), flavor, class_name)


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
        return (None, dim)
    return None


def _layer_list(config: Any, path: tuple[str | int, ...]) -> tuple[list[Any], tuple[str | int, ...]]:
    if isinstance(config, list):
        return config, path
    if isinstance(config, dict) and isinstance(config.get("layers"), list):
        return config["layers"], path + ("layers",)
    raise GraphError("has no list of layers", path)


def _layer_spec(obj: Any, path: tuple[str | int, ...], flavor: str) -> LayerSpec:
    if not isinstance(obj, dict):
        raise GraphError(f"a layer must be an object, not a JSON {_json_type(obj)}", path)
    class_name = obj.get("class_name")
    if not isinstance(class_name, str) or not class_name:
        raise GraphError("a layer has no class_name", path)
    config = obj.get("config")
    if not isinstance(config, dict):
        raise GraphError(f"layer of class {class_name} has no config object", path + ("config",))
    name = obj.get("name", config.get("name"))
    if not isinstance(name, str) or not name:
        raise GraphError(f"a {class_name} layer has no name", path + ("config",))
    module = obj.get("module") if isinstance(obj.get("module"), str) else None
    layer = LayerSpec(name, class_name, config, path, module)
    if class_name in MODEL_CLASSES:
        layer.model = _read_model_object(obj, path, flavor, nested=True)
        layer.model.name = name
        layer.model.trainable = layer.trainable
    elif class_name == INPUT_CLASS:
        layer.input_shape = declared_input_shape(config, path + ("config",), class_name)
        if layer.input_shape is None:
            raise GraphError(f"input layer {name} declares no shape", path + ("config",), name)
    return layer


def _read_sequential(config: Any, path: tuple[str | int, ...], flavor: str, nested: bool = False) -> ModelSpec:
    items, items_path = _layer_list(config, path)
    name = config.get("name", "sequential") if isinstance(config, dict) else "sequential"
    layers: list[LayerSpec] = []
    names: set[str] = set()
    for index, item in enumerate(items):
        layer = _layer_spec(item, items_path + (index,), flavor)
        if layer.name in names:
            raise GraphError(f"two layers are named {layer.name!r}; Keras requires unique names",
                             items_path + (index,), layer.name)
        names.add(layer.name)
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
        previous = TensorRef(layer.name, _outer_node_offset(layer, flavor), 0)
    model.outputs = [previous]
    model.node_offset = 0 if flavor == "keras3" or not first.is_input and shape is None else 1
    return model


def _outer_node_offset(layer: LayerSpec, flavor: str) -> int:
    """Node index of a layer's first outer call: 1 for models that keep an internal node."""
    if layer.model is None:
        return 0
    return layer.model.node_offset


def _read_functional(config: Any, path: tuple[str | int, ...], flavor: str, class_name: str) -> ModelSpec:
    if not isinstance(config, dict):
        raise GraphError("functional model config is not an object", path)
    items, items_path = _layer_list(config, path)
    layers: list[LayerSpec] = []
    by_name: dict[str, LayerSpec] = {}
    for index, item in enumerate(items):
        layer = _layer_spec(item, items_path + (index,), flavor)
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
    if isinstance(value, dict):
        return [_ref_from_list(v, path + (k,)) for k, v in value.items()]
    if _is_ref_list(value):
        return [_ref_from_list(value, path)]
    if not isinstance(value, list):
        raise GraphError("must be a list of [layer_name, node_index, tensor_index]", path)
    return [_ref_from_list(v, path + (i,)) for i, v in enumerate(value)]


def _keras_tensor_ref(value: Any) -> TensorRef | None:
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        history = value.get("config", {}).get("keras_history") if isinstance(value.get("config"), dict) else None
        if _is_ref_list(history):
            return TensorRef(history[0], history[1], history[2])
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
    refs = []
    names = []
    plain_kwargs: dict[str, Any] = {}
    for index, entry in enumerate(node):
        if not (isinstance(entry, list) and len(entry) >= 3):
            raise GraphError(f"an inbound tensor of layer {layer_name} is not [layer, node, tensor, kwargs]",
                             path + (index,), layer_name)
        refs.append(_ref_from_list(entry, path + (index,)))
        names.append("inputs")
        if len(entry) > 3 and isinstance(entry[3], dict):
            for key, value in entry[3].items():
                if _is_ref_list(value):
                    refs.append(TensorRef(value[0], value[1], value[2]))
                    names.append(key)
                else:
                    plain_kwargs[key] = value
    return CallSpec(tuple(refs), tuple(names), plain_kwargs)
