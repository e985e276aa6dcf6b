"""The ONNX pieces the protocol graph is built from: a node builder with
unique names, and torchvision's ``Resize(Q)`` (antialiased bilinear, shortest
side Q) as two matrix products whose weights the graph computes from the
input size, because ONNX ``Resize(antialias=1)`` differs from torch's filter
when shrinking (see :mod:`.protocol_graph`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class OpBuilder:
    """Accumulates nodes and constants with unique names."""

    def __init__(self) -> None:
        self.nodes: list = []
        self.initializers: list = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"protocol/{hint}_{self._count}"

    def const(self, value: np.ndarray, hint: str = "const") -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, inputs: Sequence[str], **attrs) -> str:
        from onnx import helper

        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out


def interpolation_matrix(b: OpBuilder, in_len: str, out_len: str) -> str:
    """(out, in) weights of torch's antialiased bilinear filter: a triangle
    of half-width max(in/out, 1) around each output centre, rows normalised."""
    from onnx import TensorProto

    f = TensorProto.FLOAT
    zero, one = b.const(np.array(0, np.int64)), b.const(np.array(1, np.int64))
    half, onef = b.const(np.array(0.5, np.float32)), b.const(np.array(1.0, np.float32))
    in_f, out_f = b.op("Cast", [in_len], to=f), b.op("Cast", [out_len], to=f)
    scale = b.op("Div", [in_f, out_f])
    support = b.op("Max", [scale, onef])
    out_idx = b.op("Cast", [b.op("Range", [zero, out_len, one])], to=f)
    in_idx = b.op("Cast", [b.op("Range", [zero, in_len, one])], to=f)
    centres = b.op("Mul", [b.op("Add", [out_idx, half]), scale])
    pixels = b.op("Add", [in_idx, half])
    distance = b.op("Sub", [b.op("Unsqueeze", [pixels, b.const(np.array([0], np.int64))]),
                            b.op("Unsqueeze", [centres, b.const(np.array([1], np.int64))])])
    weights = b.op("Relu", [b.op("Sub", [onef, b.op("Abs", [b.op("Div", [distance, support])])])])
    total = b.op("ReduceSum", [weights, b.const(np.array([1], np.int64))], keepdims=1)
    return b.op("Div", [weights, total])


def scalar(b: OpBuilder, vector: str, index: int) -> str:
    return b.op("Gather", [vector, b.const(np.array(index, np.int64))], axis=0)


def resize_shortest_side(b: OpBuilder, x: str, height: str, width: str, q: int) -> str:
    """torchvision ``Resize(q)`` of a float (N, 3, H, W) tensor."""
    qc = b.const(np.array(q, np.int64))
    short, long = b.op("Min", [height, width]), b.op("Max", [height, width])
    new_long = b.op("Div", [b.op("Mul", [long, qc]), short])  # int64: truncates like int()
    width_is_short = b.op("LessOrEqual", [width, height])
    new_h = b.op("Where", [width_is_short, new_long, qc])
    new_w = b.op("Where", [width_is_short, qc, new_long])
    rows = interpolation_matrix(b, height, new_h)        # (new_h, H)
    cols = interpolation_matrix(b, width, new_w)         # (new_w, W)
    x = b.op("MatMul", [x, b.op("Transpose", [cols], perm=[1, 0])])
    return b.op("MatMul", [rows, x])
