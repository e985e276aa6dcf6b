"""The dense protocol as one ONNX ``ModelProto``: uint8 images in, for each
test scale a resize, the normalisation, the flip and a copy of the network
(weights shared), the averaged posteriors out (see :mod:`.protocol_graph`)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from ..core.contract import (GRAPH_KEY, IMAGE_NAME, INPUT_NAME, LOGITS_NAME, POSTERIORS_NAME,
                       PROTOCOL_GRAPH, PROTOCOL_KEY)
from ..errors import ExportError
from ..core.metadata import ExportMetadata
from .ops import OpBuilder, resize_shortest_side, scalar

MIN_OPSET = 13


def build_protocol_graph(network, scales: Sequence[int], *, flip: bool = True):
    """The protocol ModelProto around a loaded network ModelProto."""
    import onnx
    from onnx import TensorProto, helper

    meta = ExportMetadata.from_props({p.key: p.value for p in network.metadata_props},
                                     source="the network")
    opset = next(o.version for o in network.opset_import if o.domain in ("", "ai.onnx"))
    if opset < MIN_OPSET:
        raise ExportError(f"the network uses opset {opset}; the protocol graph needs >= {MIN_OPSET}: "
                          f"re-export with --opset 18")
    if meta.config.get("batch", "dynamic") != "dynamic":
        raise ExportError("--protocol needs a dynamic batch (the flip doubles it); drop --batch")
    too_small = [q for q in scales if q < meta.min_input_size]
    if too_small or not scales:
        raise ExportError(f"test scales must be >= {meta.min_input_size}, got {list(scales)}")
    pre = meta.preprocessing
    b = OpBuilder()
    x = b.op("Cast", [IMAGE_NAME], to=TensorProto.FLOAT)
    shape = b.op("Shape", [x])
    height, width = scalar(b, shape, 2), scalar(b, shape, 3)
    # (p/255 - mean) / std as one multiply-add per channel.
    gain = b.const((1 / (255 * np.array(pre.std))).astype(np.float32).reshape(1, 3, 1, 1), "gain")
    bias = b.const((-np.array(pre.mean) / np.array(pre.std)).astype(np.float32).reshape(1, 3, 1, 1),
                   "bias")
    weights = {init.name for init in network.graph.initializer}
    per_scale = []
    for q in scales:
        resized = resize_shortest_side(b, x, height, width, q)
        normalised = b.op("Add", [b.op("Mul", [resized, gain]), bias])
        views = [normalised]
        if flip:
            views.append(b.op("Slice", [normalised, b.const(np.array([-1], np.int64)),
                                        b.const(np.array([np.iinfo(np.int64).min], np.int64)),
                                        b.const(np.array([3], np.int64)),
                                        b.const(np.array([-1], np.int64))]))
        batch = b.op("Concat", views, axis=0) if flip else normalised
        logits = _inline_network(b, network, batch, prefix=f"q{q}/", shared=weights)
        probs = b.op("Softmax", [logits], axis=1)
        grouped = b.op("Reshape", [probs, b.const(np.array([len(views), -1, meta.num_classes],
                                                           np.int64))])
        per_scale.append(b.op("ReduceMean", [grouped, b.const(np.array([0], np.int64))],
                              keepdims=0))
    b.nodes.append(helper.make_node("Mean", per_scale, [POSTERIORS_NAME]))
    graph = helper.make_graph(
        b.nodes, f"{meta.model}_dense_protocol",
        [helper.make_tensor_value_info(IMAGE_NAME, TensorProto.UINT8, ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info(POSTERIORS_NAME, TensorProto.FLOAT,
                                       ["batch", meta.num_classes])],
        initializer=[*network.graph.initializer, *b.initializers])
    model = helper.make_model(graph, opset_imports=list(network.opset_import),
                              ir_version=network.ir_version, producer_name="vggzoo-export")
    props = {**{p.key: p.value for p in network.metadata_props},
             GRAPH_KEY: PROTOCOL_GRAPH,
             PROTOCOL_KEY: json.dumps({"name": "dense", "scales": list(scales), "flip": flip,
                                            "input": "uint8 RGB (N, 3, H, W), any H, W",
                                            "output": "posteriors (N, K)"})}
    onnx.helper.set_model_props(model, props)
    return model


def _inline_network(b: OpBuilder, network, batch: str, *, prefix: str, shared: set[str]) -> str:
    """Copy the network's nodes, renaming every intermediate value (weights
    stay shared); returns the name of its logits."""
    from onnx import helper

    def rename(name: str) -> str:
        if name == INPUT_NAME:
            return batch
        return name if not name or name in shared else prefix + name

    for node in network.graph.node:
        copy = helper.make_node(node.op_type, [rename(n) for n in node.input],
                                [rename(n) for n in node.output], name=prefix + node.name,
                                domain=node.domain)
        copy.attribute.extend(node.attribute)
        b.nodes.append(copy)
    return rename(LOGITS_NAME)
