"""Model diagrams without TensorFlow: Mermaid for Markdown hosts, DOT for Graphviz.

Both are drawn from one :class:`Diagram` (nodes and edges from the engine's
figures), so the two formats always show the same graph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .engine import LayerReport, ModelReport
from .explain import fmt_shape, fmt_shapes


@dataclass(frozen=True)
class Node:
    key: str
    name: str
    class_name: str
    output: str
    params: int
    cluster: str | None = None

    def lines(self) -> list[str]:
        return [self.name, self.class_name, self.output, f"{self.params:,} params"]


@dataclass
class Diagram:
    title: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)
    clusters: dict[str, str] = field(default_factory=dict)
    """cluster key -> label (nested models drawn as clusters)."""


def _class_label(report: LayerReport) -> str:
    """``TimeDistributed(Dense)``: a wrapper shows the layer it wraps."""
    config = report.spec.config
    inner = config.get("layer") if isinstance(config, dict) else None
    if isinstance(inner, dict) and isinstance(inner.get("class_name"), str):
        return f"{report.class_name}({inner['class_name']})"
    return report.class_name


def _output_label(report: LayerReport) -> str:
    output = report.summary_output()
    if output is None:
        return "?"
    return fmt_shapes(output) if isinstance(output, list) else fmt_shape(output)


def build_diagram(report: ModelReport, title: str, nested: str = "collapse") -> Diagram:
    """Nodes and edges of a model; ``nested`` is ``collapse`` (one node) or ``cluster``."""
    diagram = Diagram(title)
    _add_model(diagram, report, prefix="", nested=nested, cluster=None)
    return diagram


def _entry_exit(report: ModelReport, prefix: str, nested: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """For each layer: the node keys an edge into it should reach, and leave from."""
    entries: dict[str, list[str]] = {}
    exits: dict[str, list[str]] = {}
    for layer in report.layers:
        key = prefix + layer.name
        if nested == "cluster" and layer.nested is not None:
            inner_prefix = key + "/"
            inner_inputs = [inner_prefix + ref.layer for ref in layer.nested.spec.inputs]
            inner_outputs = [inner_prefix + ref.layer for ref in layer.nested.spec.outputs]
            entries[layer.name] = inner_inputs
            exits[layer.name] = inner_outputs
        else:
            entries[layer.name] = [key]
            exits[layer.name] = [key]
    return entries, exits


def _add_model(diagram: Diagram, report: ModelReport, prefix: str, nested: str, cluster: str | None) -> None:
    entries, exits = _entry_exit(report, prefix, nested)
    for layer in report.layers:
        key = prefix + layer.name
        if nested == "cluster" and layer.nested is not None:
            diagram.clusters[key] = f"{layer.name} ({layer.class_name}, {layer.params:,} params)"
            _add_model(diagram, layer.nested, key + "/", nested, key)
            continue
        diagram.nodes.append(Node(key, layer.name, _class_label(layer), _output_label(layer), layer.params, cluster))
    for layer in report.layers:
        for call in layer.spec.calls:
            for ref in call.inputs:
                for source in exits.get(ref.layer, []):
                    for target in entries[layer.name]:
                        if (source, target) not in diagram.edges:
                            diagram.edges.append((source, target))


def _ids(diagram: Diagram) -> dict[str, str]:
    return {node.key: f"n{index}" for index, node in enumerate(diagram.nodes)}


def _mermaid_text(text: str) -> str:
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(diagram: Diagram) -> str:
    ids = _ids(diagram)
    lines = ["flowchart TD"]
    by_cluster: dict[str | None, list[Node]] = {}
    for node in diagram.nodes:
        by_cluster.setdefault(node.cluster, []).append(node)

    def node_line(node: Node, indent: str) -> str:
        label = "<br/>".join(_mermaid_text(part) for part in node.lines())
        return f'{indent}{ids[node.key]}["{label}"]'

    for node in by_cluster.get(None, []):
        lines.append(node_line(node, "    "))
    for index, (cluster, label) in enumerate(diagram.clusters.items()):
        lines.append(f'    subgraph c{index}["{_mermaid_text(label)}"]')
        for node in by_cluster.get(cluster, []):
            lines.append(node_line(node, "        "))
        lines.append("    end")
    for source, target in diagram.edges:
        lines.append(f"    {ids[source]} --> {ids[target]}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(diagram: Diagram) -> str:
    ids = _ids(diagram)
    lines = [f'digraph "{_dot_text(diagram.title)}" {{', "    rankdir=TB;",
             '    node [shape=box, style="rounded", fontname="Helvetica", fontsize=10];']
    by_cluster: dict[str | None, list[Node]] = {}
    for node in diagram.nodes:
        by_cluster.setdefault(node.cluster, []).append(node)

    def node_line(node: Node, indent: str) -> str:
        label = "\\n".join(_dot_text(part) for part in node.lines())
        return f'{indent}{ids[node.key]} [label="{label}"];'

    for node in by_cluster.get(None, []):
        lines.append(node_line(node, "    "))
    for index, (cluster, label) in enumerate(diagram.clusters.items()):
        lines.append(f"    subgraph cluster_{index} {{")
        lines.append(f'        label="{_dot_text(label)}";')
        for node in by_cluster.get(cluster, []):
            lines.append(node_line(node, "        "))
        lines.append("    }")
    for source, target in diagram.edges:
        lines.append(f"    {ids[source]} -> {ids[target]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_with_graphviz(dot_source: str, output_format: str, timeout: float = 60.0) -> bytes:
    """Run Graphviz's ``dot`` on our own DOT text (never on user input) to make SVG or PNG."""
    import shutil
    import subprocess

    program = shutil.which("dot")
    if program is None:
        raise RuntimeError("Graphviz's dot program is not installed (Debian: apt-get install graphviz)")
    if not re.fullmatch(r"svg|png|json|plain", output_format):
        raise ValueError(f"unsupported Graphviz format {output_format!r}")
    run = subprocess.run([program, f"-T{output_format}"], input=dot_source.encode("utf-8"),
                         capture_output=True, timeout=timeout, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"dot failed: {run.stderr.decode('utf-8', 'replace').strip()}")
    return run.stdout


def diagram_for(analysis: Any, nested: str = "collapse") -> Diagram:
    return build_diagram(analysis.report, analysis.model.name, nested)
