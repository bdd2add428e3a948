"""Weight files beside a model: the shape of every stored variable, read from HDF5 metadata.

Two layouts exist:

* Keras 2 / tf.keras ``.h5`` (a whole model under ``model_weights``, or
  weights only at the root): ``layer_names`` lists layer groups, each with
  ``weight_names`` naming its datasets in Keras weight order.
* Keras 3 ``.weights.h5`` (also written by tf-keras ``save_weights`` to that
  name): ``layers/<snake_case class>[_n]/vars/0..n``, with sub-layers under
  ``cell``, ``layer``, ``forward_layer``, ``backward_layer`` and nested models
  under ``layers`` again.

Only shapes (dataset metadata) and string attributes are read: never tensor
data, never pickled objects. h5py is optional and imported lazily.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from ..api import Variable
from ..explain import fmt_shape
from ..problems import Problem

if TYPE_CHECKING:
    from ..engine import LayerReport, ModelReport

WEIGHT_SUFFIXES = (".h5", ".hdf5", ".he5")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_SUBLAYER_ORDER = ("cell", "layer", "forward_layer", "backward_layer")
"""Keras 3 sub-objects whose variables follow the layer's own, in ``layer.weights`` order."""


class WeightFileError(Exception):
    """A weight file that cannot be read; the message says why."""


class NotKerasWeights(Exception):
    """A readable HDF5 file that holds no Keras weights (a data set, say): skipped with a note."""


@dataclass
class StoredVariable:
    """One stored weight: its name (or HDF5 path) and shape."""

    name: str
    shape: tuple[int, ...]

    @property
    def local_name(self) -> str:
        """``dense/kernel:0`` -> ``kernel``; a Keras 3 ``vars/0`` has no name of its own."""
        return self.name.rsplit("/", 1)[-1].split(":", 1)[0]


@dataclass
class StoredLayer:
    """The variables stored for one layer, in stored order."""

    key: str
    """The layer's name (Keras 2) or its group path (Keras 3)."""
    layer_name: str | None
    variables: list[StoredVariable] = field(default_factory=list)


@dataclass
class WeightFile:
    """Everything read from one weight file."""

    path: str
    layout: str
    """``keras2`` (layer_names/weight_names) or ``keras3`` (layers/.../vars)."""
    layers: list[StoredLayer] = field(default_factory=list)


def h5py_available() -> bool:
    """Whether h5py can be imported; found without importing it, so a run without weight files pays nothing."""
    return importlib.util.find_spec("h5py") is not None


def weight_files_beside(model_path: Path) -> list[Path]:
    """Weight files in the model's folder; those named after the model, when any are."""
    folder = model_path.parent
    try:
        candidates = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in WEIGHT_SUFFIXES)
    except OSError:
        return []
    stem = _base_stem(model_path.name)
    named = [p for p in candidates if _base_stem(p.name) == stem]
    return named or candidates


def _base_stem(name: str) -> str:
    name = name.lower()
    for suffix in (".weights.h5", ".h5", ".hdf5", ".he5", ".json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return re.sub(r"[_.-](architecture|arch|config|structure|weights|model)$", "", name) or name


def _strings(values: Any) -> list[str]:
    if values is None:
        return []
    try:
        items = list(values.tolist()) if hasattr(values, "tolist") else list(values)
    except TypeError:
        items = [values]
    out = []
    for item in items:
        if isinstance(item, bytes):
            out.append(item.decode("utf-8", "replace"))
        elif isinstance(item, str):
            out.append(item)
    return out


def _attr_strings(group: Any, name: str) -> list[str]:
    """A string-list attribute, including Keras's chunked ``name0``, ``name1`` ... form."""
    attrs = group.attrs
    if name in attrs:
        return _strings(attrs[name])
    out: list[str] = []
    index = 0
    while f"{name}{index}" in attrs:
        out += _strings(attrs[f"{name}{index}"])
        index += 1
    return out


def read_weight_file(path: Path, shown: str) -> WeightFile:
    """Read the stored shapes of one HDF5 weight file; raises :class:`WeightFileError`."""
    import h5py

    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as error:
        raise WeightFileError(f"cannot be read: {error}") from None
    if head != HDF5_SIGNATURE:
        raise WeightFileError("is not an HDF5 file (no HDF5 signature at the start)")
    try:
        with h5py.File(path, "r") as handle:
            if "layers" in handle and not _attr_strings(handle, "layer_names"):
                return WeightFile(shown, "keras3", _read_keras3(handle["layers"], "layers"))
            root = handle["model_weights"] if "model_weights" in handle else handle
            if not _attr_strings(root, "layer_names") and "layer_names" not in root.attrs:
                raise NotKerasWeights("holds no Keras weights (no layer_names attribute and no layers group)")
            return WeightFile(shown, "keras2", _read_keras2(root))
    except (WeightFileError, NotKerasWeights):
        raise
    except Exception as error:  # h5py raises many kinds for damaged files: each is one problem, never a traceback
        raise WeightFileError(f"is corrupt or truncated: {type(error).__name__}: {error}") from None


def _read_keras2(root: Any) -> list[StoredLayer]:
    import h5py

    layers = []
    for name in _attr_strings(root, "layer_names"):
        if name not in root:
            raise WeightFileError(f"lists layer {name!r} in layer_names but has no group for it")
        group = root[name]
        stored = StoredLayer(name, name)
        for weight in _attr_strings(group, "weight_names"):
            if weight not in group:
                raise WeightFileError(f"lists weight {weight!r} of layer {name!r} but has no dataset for it")
            item = group[weight]
            if not isinstance(item, h5py.Dataset):
                raise WeightFileError(f"lists weight {weight!r} of layer {name!r}, which is not a dataset")
            stored.variables.append(StoredVariable(weight, tuple(int(d) for d in item.shape)))
        layers.append(stored)
    return layers


def _dataset_shapes(group: Any, prefix: str) -> list[StoredVariable]:
    """Variables of one Keras 3 object: its own ``vars`` then its sub-layers', in weight order."""
    import h5py

    out: list[StoredVariable] = []
    own = group.get("vars")
    if isinstance(own, h5py.Group):
        keys = sorted((k for k in own.keys() if k.isdigit()), key=int)
        for key in keys:
            item = own[key]
            if isinstance(item, h5py.Dataset):
                out.append(StoredVariable(f"{prefix}/vars/{key}", tuple(int(d) for d in item.shape)))
    children = [k for k in group.keys() if k != "vars" and isinstance(group[k], h5py.Group)]
    ordered = [k for k in _SUBLAYER_ORDER if k in children] + sorted(k for k in children if k not in _SUBLAYER_ORDER)
    for key in ordered:
        if key == "layers":
            for layer in _read_keras3(group[key], f"{prefix}/layers"):
                out += layer.variables
        else:
            out += _dataset_shapes(group[key], f"{prefix}/{key}")
    return out


def _read_keras3(container: Any, prefix: str) -> list[StoredLayer]:
    """One entry per child group of a Keras 3 ``layers`` container, in Keras's naming order."""
    import h5py

    layers = []
    for key in _natural(container.keys()):
        group = container[key]
        if not isinstance(group, h5py.Group):
            continue
        own = group.get("vars")
        name = None
        if isinstance(own, h5py.Group) and "name" in own.attrs:
            names = _strings([own.attrs["name"]])
            name = names[0] if names else None
        layers.append(StoredLayer(f"{prefix}/{key}", name, _dataset_shapes(group, f"{prefix}/{key}")))
    return layers


def _natural(keys: Iterable[str]) -> list[str]:
    def order(key: str) -> tuple[str, int]:
        match = re.fullmatch(r"(.*?)(?:_(\d+))?", key)
        assert match is not None
        return match[1], int(match[2]) if match[2] else 0
    return sorted(keys, key=order)


def snake_case(class_name: str) -> str:
    """Keras 3's ``naming.to_snake_case``: the group name of a layer in a ``.weights.h5`` file."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def keras3_keys(layers: Iterable[LayerReport]) -> dict[str, LayerReport]:
    """``{"dense": ..., "dense_1": ...}``: the group names Keras 3 gives a model's layers."""
    used: dict[str, int] = {}
    keys: dict[str, LayerReport] = {}
    for layer in layers:
        base = snake_case("Functional" if layer.class_name == "Model" else layer.class_name)
        if base in used:
            used[base] += 1
            key = f"{base}_{used[base]}"
        else:
            used[base] = 0
            key = base
        keys[key] = layer
    return keys


# --- comparison -----------------------------------------------------------------------------------------


def check_weight_files(model_path: Path, report: ModelReport, shown_dir: str) -> tuple[list[Problem], list[str]]:
    """Compare every weight file beside the model with the recomputed variables.

    Returns ``(problems, notes)``; notes say why a check was skipped (no h5py).
    """
    files = weight_files_beside(model_path)
    if not files:
        return [], []
    if not h5py_available():
        names = ", ".join(p.name for p in files)
        return [], [f"weight files not checked ({names}): h5py is not installed (pip install h5py)"]
    problems: list[Problem] = []
    notes: list[str] = []
    for path in files:
        shown = f"{shown_dir}/{path.name}" if shown_dir else path.name
        try:
            stored = read_weight_file(path, shown)
        except WeightFileError as error:
            problems.append(Problem("weights", shown, str(error)))
            continue
        except NotKerasWeights as error:
            notes.append(f"{shown} not checked: it {error}")
            continue
        problems += compare_weight_file(stored, report)
    return problems, notes


def _pair_layers(stored: WeightFile, report: ModelReport) -> tuple[list[tuple[StoredLayer, LayerReport]],
                                                                  list[StoredLayer], list[LayerReport]]:
    with_weights = [layer for layer in report.layers if layer.variables]
    by_name = {layer.name: layer for layer in report.layers}
    if stored.layout == "keras3":
        keys = keras3_keys(report.layers)

        def find(entry: Any) -> Any:
            return by_name.get(entry.layer_name or "") or keys.get(entry.key.rsplit("/", 1)[-1])
    else:
        holding = [entry for entry in stored.layers if entry.variables]
        if not any(entry.key in by_name for entry in holding) and len(holding) == len(with_weights):
            # Keras loads a weights-only file by position when the names differ: so do we.
            return list(zip(holding, with_weights)), [], []

        def find(entry: Any) -> Any:
            return by_name.get(entry.key)
    pairs, extra = [], []
    for entry in stored.layers:
        layer = find(entry)
        if layer is None:
            if entry.variables:
                extra.append(entry)
            continue
        pairs.append((entry, layer))
    paired = {id(layer) for _, layer in pairs}
    return pairs, extra, [layer for layer in with_weights if id(layer) not in paired]


def compare_weight_file(stored: WeightFile, report: ModelReport) -> list[Problem]:
    """Every disagreement between one weight file and the recomputed variables."""
    problems: list[Problem] = []
    pairs, extra, missing = _pair_layers(stored, report)
    for entry in extra:
        problems.append(Problem("weights", stored.path, f"stores weights for {entry.key}, which names no layer "
                                "of the model", explanation="  stored: " + _stored_list(entry.variables)))
    for layer in missing:
        problems.append(Problem("weights", stored.path, f"stores no weights for layer {layer.name} "
                                f"({layer.class_name}), which has {len(layer.variables)} variable(s)",
                                layer=layer.name, explanation="  expected: " + _expected_list(layer.variables)))
    for entry, layer in pairs:
        problems += _compare_layer(stored.path, entry, layer)
    return problems


def _stored_list(variables: list[StoredVariable]) -> str:
    return ", ".join(f"{v.name} {fmt_shape(v.shape)}" for v in variables) or "nothing"


def _expected_list(variables: Iterable[Variable]) -> str:
    return ", ".join(f"{v.name} {fmt_shape(v.shape)}" for v in variables) or "nothing"


def _compare_layer(path: str, entry: StoredLayer, layer: LayerReport) -> list[Problem]:
    from ..diagnosis import diagnose_count

    expected = list(layer.variables)
    stored = entry.variables
    if len(stored) != len(expected):
        stored_count = sum(_size(v.shape) for v in stored)
        lines = [f"  layer       {layer.name} ({layer.class_name})",
                 f"  stored      {len(stored)} variable(s), {stored_count:,} parameters: {_stored_list(stored)}",
                 f"  recomputed  {len(expected)} variable(s), {layer.params:,} parameters: "
                 f"{_expected_list(expected)}"]
        lines += [f"  likely cause: {cause}" for cause in diagnose_count(layer, stored_count,
                                                                            [v.shape for v in stored])]
        return [Problem("weights", path, f"layer {layer.name} ({layer.class_name}): stores {len(stored)} "
                        f"variable(s), but the config gives {len(expected)}", layer=layer.name,
                        explanation="\n".join(lines))]
    problems = []
    for have, want in zip(stored, expected):
        if have.shape == want.shape:
            continue
        lines = [f"  layer       {layer.name} ({layer.class_name})",
                 f"  variable    {want.name} (stored as {have.name})",
                 f"  stored      {fmt_shape(have.shape)}",
                 f"  recomputed  {fmt_shape(want.shape)}"]
        gate = gate_note(layer.name, want, have.shape)
        if gate:
            lines.append(f"  gates       {gate}")
        stored_count = sum(_size(v.shape) for v in stored)
        lines += [f"  likely cause: {cause}" for cause in diagnose_count(layer, stored_count,
                                                                            [v.shape for v in stored])]
        problems.append(Problem("weights", path, f"layer {layer.name} ({layer.class_name}): {want.name} is stored "
                                f"as {fmt_shape(have.shape)}, but the config gives {fmt_shape(want.shape)}",
                                layer=layer.name, explanation="\n".join(lines)))
    return problems


def _size(shape: tuple[int, ...]) -> int:
    size = 1
    for dim in shape:
        size *= dim
    return size


def gate_note(layer_name: str, variable: Variable, stored: tuple[int, ...]) -> str:
    """Which gate block a mismatch along the blocked (last) axis falls in, in words.

    ``the output-gate columns of lstm's kernel are missing (stored 96 of 128 columns)``.
    """
    blocks = variable.blocks
    if not blocks or len(stored) != len(variable.shape) or stored[:-1] != variable.shape[:-1]:
        return ""
    width = variable.shape[-1] // len(blocks)
    have = stored[-1]
    local = variable.name.rsplit("/", 1)[-1]
    direction = next((part.split("_", 1)[0] + " " for part in variable.name.split("/")[:-1]
                      if part.startswith(("forward", "backward"))), "")
    owner = f"{layer_name}'s {direction}{local}"
    total = variable.shape[-1]
    per_block = f"each of the {len(blocks)} gate blocks ({', '.join(blocks)}) is {have // len(blocks)} " \
        f"columns wide instead of {width}"
    if have < total:
        first = have // width
        if have % width == 0:
            names = " and ".join(b.replace(" ", "-") for b in blocks[first:])
            missing = f"the {names} columns of {owner} are missing"
            if have % len(blocks) == 0:
                return f"stored {have} of {total} columns: either {per_block}, or {missing}"
            return f"{missing} (stored {have} of {total} columns, {len(blocks)} blocks of {width})"
        if have % len(blocks) == 0:
            return f"stored {have} of {total} columns of {owner}: {per_block}"
        return (f"the {blocks[first].replace(' ', '-')} columns of {owner} are cut short (stored {have} of "
                f"{total} columns; the {blocks[first]} spans columns {first * width}-{(first + 1) * width - 1})")
    if have % len(blocks) == 0:
        return f"stored {have} of {total} columns of {owner}: {per_block}"
    return f"{owner} stores {have - total} columns beyond the {blocks[-1]}"
