"""TensorFlow.js layers models: the ``weightsManifest`` in model.json against the recomputed variables.

Weight names follow the layer that owns them (``lstm/lstm_cell/kernel``,
``bidirectional_1/forward_gru_1/kernel``, ``time_distributed/kernel``);
inside a nested model they usually lack the nested model's prefix, and the
order is not guaranteed. So entries are matched by name: the first path
segment names a layer (top level or inside a nested model), the last segment
names the variable, and ``forward``/``backward`` picks a Bidirectional half.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..api import Variable
from ..explain import fmt_shape
from ..problems import Problem

if TYPE_CHECKING:
    from ..analysis import Analysis
    from ..engine import LayerReport, ModelReport


@dataclass
class ManifestEntry:
    """One ``{name, shape, dtype}`` entry of the manifest, with where it was read."""

    name: str
    shape: tuple[int, ...]
    line: int | None


@dataclass
class _Slot:
    """One recomputed variable waiting for its manifest entry."""

    layer: LayerReport
    owner: str
    variable: Variable
    taken: bool = False


def _direction(text: str) -> str:
    for part in text.split("/"):
        if part.startswith("forward"):
            return "forward"
        if part.startswith("backward"):
            return "backward"
    return ""


def read_manifest(analysis: Analysis) -> tuple[list[ManifestEntry], list[Problem]]:
    """The manifest's entries, and a Problem for each entry that is not ``{name, shape: [int, ...]}``."""
    data = analysis.document.data
    shown = analysis.path
    manifest = data.get("weightsManifest") if isinstance(data, dict) else None
    if manifest is None:
        return [], []

    def line(*path: str | int) -> int | None:
        return analysis.document.line_of(("weightsManifest",) + path)

    if not isinstance(manifest, list):
        return [], [Problem("manifest", shown, "weightsManifest is not a list of weight groups", line())]
    entries: list[ManifestEntry] = []
    problems: list[Problem] = []
    for group_index, group in enumerate(manifest):
        weights = group.get("weights") if isinstance(group, dict) else None
        if not isinstance(weights, list):
            problems.append(Problem("manifest", shown, f"weightsManifest[{group_index}] has no 'weights' list",
                                    line(group_index)))
            continue
        for index, weight in enumerate(weights):
            where = line(group_index, "weights", index)
            name = weight.get("name") if isinstance(weight, dict) else None
            if not isinstance(name, str) or not name:
                problems.append(Problem("manifest", shown, f"weightsManifest[{group_index}].weights[{index}] "
                                        "has no name", where))
                continue
            shape = weight.get("shape")
            if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                                       for d in shape):
                problems.append(Problem("manifest", shown, f"weight {name}: shape {shape!r} is not a list of "
                                        "non-negative integers", line(group_index, "weights", index, "shape")
                                        or where))
                continue
            entries.append(ManifestEntry(name, tuple(shape), where))
    return entries, problems


def _slots(report: ModelReport) -> tuple[dict[str, list[_Slot]], dict[str, LayerReport]]:
    """Variables by the layer names a manifest may use: top-level names and nested layers' own names."""
    by_owner: dict[str, list[_Slot]] = {}
    layers: dict[str, LayerReport] = {}

    def add(layer: LayerReport, top: LayerReport) -> None:
        if layer.nested is not None:
            for inner in layer.nested.layers:
                add(inner, top)
            by_owner.setdefault(layer.name, [])
            layers.setdefault(layer.name, layer)
            return
        slots = [_Slot(top, layer.name, variable) for variable in layer.variables]
        by_owner.setdefault(layer.name, []).extend(slots)
        layers.setdefault(layer.name, layer)

    for layer in report.layers:
        add(layer, layer)
    return by_owner, layers


def _take(slots: list[_Slot], entry: ManifestEntry) -> _Slot | None:
    local = entry.name.rsplit("/", 1)[-1].split(":", 1)[0]
    direction = _direction(entry.name.split("/", 1)[1] if "/" in entry.name else "")
    for slot in slots:
        if slot.taken or slot.variable.name.rsplit("/", 1)[-1] != local:
            continue
        if direction and _direction(slot.variable.name) not in ("", direction):
            continue
        slot.taken = True
        return slot
    return None


def _nested_owner(by_owner: dict[str, list[_Slot]], entry: ManifestEntry) -> list[_Slot] | None:
    """``model_1/dense_3/kernel``: a nested model's prefix before the inner layer's name."""
    parts = entry.name.split("/")
    for part in parts[1:-1]:
        if part in by_owner and by_owner[part]:
            return by_owner[part]
    return None


def check_manifest(analysis: Analysis) -> list[Problem]:
    """Every disagreement between the TF.js weightsManifest and the recomputed variables."""
    entries, problems = read_manifest(analysis)
    if not entries:
        return problems
    shown = analysis.path
    by_owner, layers = _slots(analysis.report)
    for entry in entries:
        first = entry.name.split("/", 1)[0]
        slots = by_owner.get(first)
        if not slots:
            slots = _nested_owner(by_owner, entry) or slots
        if slots is None:
            problems.append(Problem("manifest", shown, f"weight {entry.name} {fmt_shape(entry.shape)} names no "
                                    "layer of the model", entry.line))
            continue
        slot = _take(slots, entry)
        if slot is None:
            owner = layers.get(first)
            expected = ", ".join(f"{s.variable.name} {fmt_shape(s.variable.shape)}" for s in slots) or "none"
            problems.append(Problem("manifest", shown, f"weight {entry.name} {fmt_shape(entry.shape)} matches no "
                                    f"variable of layer {first}" + (f" ({owner.class_name})" if owner else ""),
                                    entry.line, layer=first, explanation=f"  recomputed variables: {expected}"))
            continue
        if slot.variable.shape != entry.shape:
            problems.append(_shape_problem(shown, entry, slot))
    for owner, slots in by_owner.items():
        for slot in slots:
            if not slot.taken:
                problems.append(Problem("manifest", shown, f"weightsManifest has no weight for {owner}'s "
                                        f"{slot.variable.name} {fmt_shape(slot.variable.shape)}",
                                        layer=slot.layer.name))
    return problems


def _shape_problem(shown: str, entry: ManifestEntry, slot: _Slot) -> Problem:
    from ..diagnosis import diagnose_count
    from .weights import gate_note

    layer = slot.layer
    lines = [f"  layer       {layer.name} ({layer.class_name})",
             f"  variable    {slot.variable.name} of {slot.owner}",
             f"  stored      {fmt_shape(entry.shape)} (weightsManifest: {entry.name})",
             f"  recomputed  {fmt_shape(slot.variable.shape)}"]
    gate = gate_note(slot.owner, slot.variable, entry.shape)
    if gate:
        lines.append(f"  gates       {gate}")
    size = 1
    for dim in entry.shape:
        size *= dim
    stored_count = layer.params - slot.variable.size + size
    lines += [f"  likely cause: {cause}" for cause in diagnose_count(layer, stored_count)]
    return Problem("manifest", shown, f"weight {entry.name}: stored shape {fmt_shape(entry.shape)}, but the config "
                   f"gives {fmt_shape(slot.variable.shape)}", entry.line, layer=layer.name,
                   explanation="\n".join(lines))


