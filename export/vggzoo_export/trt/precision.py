"""Reduced precision written into the ONNX graph, for strongly typed TensorRT.

TensorRT 11 removed the FP16/BF16 builder flags: a network runs in exactly
the types its ONNX graph declares.  So fp16/bf16 engines are built from an
ONNX file whose weights are stored in the low type and whose compute nodes
run in it, with ``Cast`` nodes where the precision changes.  The same file
builds the same engine on TensorRT 10.12+ (with the STRONGLY_TYPED flag) and
on 11, and ONNX Runtime can run it to check it against fp32.

What stays fp32, and why:

- the graph inputs and outputs, so callers feed and read float32 as with the
  fp32 model (a ``Cast`` follows each input and precedes each output);
- reductions and normalisations (``ReduceMean`` over the score map,
  ``Softmax``, ``LRN``, ...): any op not in :data:`LOW_PRECISION_OPS`.  They
  are cheap, and accumulating or squaring in fp16 loses accuracy or
  overflows (LRN squares activations of 0-255 inputs).

>>> convert_onnx_file("vgg16.onnx", "vgg16.fp16.onnx", "fp16")
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from vggzoo.errors import OptionError, VggzooError
from vggzoo.io import atomic_path

from ..core.contract import PRECISION_KEY, PROTOBUF_LIMIT

#: Precisions an engine can be built in (``--precision``).
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "bf16")
LOW_TYPES: dict[str, int] = {"fp16": TensorProto.FLOAT16, "bf16": TensorProto.BFLOAT16}

#: Ops that run in the low precision.  Everything else keeps fp32: an
#: allow-list, so an op nobody has checked never silently loses accuracy.
LOW_PRECISION_OPS: frozenset[str] = frozenset({
    "Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Constant", "Conv",
    "ConvTranspose", "Div", "Dropout", "Expand", "Flatten", "Gemm", "Identity", "LeakyRelu",
    "MatMul", "Max", "MaxPool", "Min", "Mul", "Neg", "Pad", "Relu", "Reshape", "Sigmoid",
    "Slice", "Split", "Squeeze", "Sub", "Tanh", "Tile", "Transpose", "Unsqueeze",
})
#: bfloat16 Conv, MaxPool, ... enter the ONNX standard at opset 22.
BF16_MIN_OPSET = 22
FP16_MAX = float(np.finfo(np.float16).max)


def check_precision(precision: str) -> str:
    """``precision`` if it is one of :data:`PRECISIONS`, else a clear error."""
    if precision not in PRECISIONS:
        raise OptionError(f"unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    return precision


def convert_precision(model: onnx.ModelProto, precision: str) -> onnx.ModelProto:
    """A copy of ``model`` computing in ``precision`` (``fp16`` or ``bf16``)
    with float32 inputs and outputs.  ``fp32`` returns an unchanged copy.

    >>> low = convert_precision(onnx.load("vgg16.onnx"), "bf16")
    """
    check_precision(precision)
    converted = onnx.ModelProto()
    converted.CopyFrom(model)
    if precision == "fp32":
        return converted
    if precision == "bf16" and _opset(converted) < BF16_MIN_OPSET:
        converted = _upgrade_opset(converted, BF16_MIN_OPSET)
    _GraphConversion(converted, LOW_TYPES[precision], precision).run()
    _set_metadata(converted, PRECISION_KEY, precision)
    onnx.checker.check_model(converted, full_check=True)
    return converted


def convert_onnx_file(source: str | os.PathLike, target: str | os.PathLike,
                      precision: str) -> Path:
    """Convert an ONNX file (external data included) and write the result
    atomically as one file; returns ``target``."""
    from ..core.integrity import load_onnx

    model = load_onnx(source)
    converted = convert_precision(model, precision)
    return save_single_file(converted, target)


def save_single_file(model: onnx.ModelProto, target: str | os.PathLike) -> Path:
    """Write ``model`` atomically as one ``.onnx`` file (no external data)."""
    target = Path(target)
    if model.ByteSize() > PROTOBUF_LIMIT:
        raise VggzooError(f"the converted model is over 2 GB and cannot be written as one "
                          f"ONNX file ({target}); convert a smaller model or use fp16/bf16")
    from ..core.integrity import seal

    with atomic_path(target) as tmp:
        onnx.save_model(seal(model), str(tmp))
    return target


def _opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def _upgrade_opset(model: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    from onnx import version_converter

    try:
        upgraded = version_converter.convert_version(model, opset)
    except Exception as exc:  # the converter raises bare RuntimeErrors
        raise VggzooError(f"bf16 needs ONNX opset {opset} or newer (earlier opsets do not allow "
                          f"bfloat16 convolutions) and converting this model from opset "
                          f"{_opset(model)} failed ({exc}); export it with --opset {opset}") from exc
    # the converter keeps the old IR version, which older readers reject for opset 22
    upgraded.ir_version = max(upgraded.ir_version,
                              helper.find_min_ir_version_for(list(upgraded.opset_import)))
    return upgraded


def _set_metadata(model: onnx.ModelProto, key: str, value: str) -> None:
    for prop in model.metadata_props:
        if prop.key == key:
            prop.value = value
            return
    model.metadata_props.add(key=key, value=value)


class _GraphConversion:
    """One pass over a topologically sorted graph: decide each node's
    precision, convert initializers used only in the low precision, insert
    the ``Cast`` nodes where a tensor's type differs from what its consumer
    runs in, and keep float32 at the graph boundary."""

    def __init__(self, model: onnx.ModelProto, low: int, suffix: str) -> None:
        self.graph = model.graph
        self.low = low
        self.suffix = suffix
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True).graph
        self.float_tensors = {
            vi.name for vi in [*inferred.value_info, *inferred.input, *inferred.output]
            if vi.type.tensor_type.elem_type == TensorProto.FLOAT}
        self.float_tensors |= {t.name for t in self.graph.initializer
                               if t.data_type == TensorProto.FLOAT}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in self.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        #: Tensors that must keep their name in float32: graph outputs and the
        #: outer tensors that If/Loop/Scan bodies read (bodies stay as they are).
        self.keep_fp32_names = {o.name for o in self.graph.output}
        for node in self.graph.node:
            self.keep_fp32_names |= _outer_names(node)
        #: original tensor name -> {elem type: name of the tensor holding it}
        self.variants: dict[str, dict[int, str]] = {}

    # -- decisions ---------------------------------------------------------
    def _is_float(self, name: str) -> bool:
        return bool(name) and name in self.float_tensors

    def _runs_low(self, node: onnx.NodeProto) -> bool:
        if node.op_type not in LOW_PRECISION_OPS:
            return False
        if node.op_type == "Constant":  # a weight: low only if every consumer is
            out = node.output[0]
            return (self._is_float(out) and out not in self.keep_fp32_names
                    and all(self._runs_low(c) for c in self.consumers.get(out, [])))
        return any(self._is_float(n) for n in [*node.input, *node.output])

    # -- rewriting ---------------------------------------------------------
    def run(self) -> None:
        low_nodes = {id(n) for n in self.graph.node if self._runs_low(n)}
        for graph_input in self.graph.input:
            self.variants[graph_input.name] = {TensorProto.FLOAT: graph_input.name}
        self._convert_initializers(low_nodes)
        rewritten: list[onnx.NodeProto] = []
        for node in self.graph.node:
            wanted = self.low if id(node) in low_nodes else TensorProto.FLOAT
            for i, name in enumerate(node.input):
                if self._is_float(name):
                    node.input[i] = self._tensor_as(name, wanted, rewritten)
            if node.op_type == "Constant" and wanted == self.low:
                _convert_constant(node, self.low)
            rewritten.append(node)
            for j, name in enumerate(node.output):
                if not self._is_float(name):
                    continue
                if wanted != TensorProto.FLOAT and name in self.keep_fp32_names:
                    node.output[j] = f"{name}_{self.suffix}"
                    self.variants[name] = {wanted: node.output[j]}
                    rewritten.append(_cast(node.output[j], name, TensorProto.FLOAT))
                    self.variants[name][TensorProto.FLOAT] = name
                else:
                    self.variants[name] = {wanted: name}
        del self.graph.node[:]
        self.graph.node.extend(rewritten)
        del self.graph.value_info[:]  # stale types; the checker re-infers them

    def _convert_initializers(self, low_nodes: set[int]) -> None:
        for index, init in enumerate(self.graph.initializer):
            if init.data_type != TensorProto.FLOAT:
                continue
            users = self.consumers.get(init.name, [])
            if (users and init.name not in self.keep_fp32_names
                    and all(id(u) in low_nodes for u in users)):
                self.graph.initializer[index].CopyFrom(_to_low(init, self.low))
                self.variants[init.name] = {self.low: init.name}
            else:
                self.variants[init.name] = {TensorProto.FLOAT: init.name}

    def _tensor_as(self, name: str, elem_type: int, nodes: list[onnx.NodeProto]) -> str:
        """The name of ``name`` in ``elem_type``, adding a ``Cast`` once."""
        have = self.variants.setdefault(name, {TensorProto.FLOAT: name})
        if elem_type not in have:
            source = next(iter(have.values()))
            target = f"{name}_as_{'fp32' if elem_type == TensorProto.FLOAT else self.suffix}"
            nodes.append(_cast(source, target, elem_type))
            have[elem_type] = target
        return have[elem_type]


def _outer_names(node: onnx.NodeProto) -> set[str]:
    """Names a node's subgraphs (If/Loop/Scan bodies) read from outside."""
    names: set[str] = set()
    for attr in node.attribute:
        for graph in [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs):
            local = ({i.name for i in graph.input} | {t.name for t in graph.initializer}
                     | {o for n in graph.node for o in n.output})
            for inner in graph.node:
                names |= {i for i in inner.input if i and i not in local}
                names |= _outer_names(inner) - local
    return names


def _cast(source: str, target: str, elem_type: int) -> onnx.NodeProto:
    return helper.make_node("Cast", [source], [target], to=elem_type, name=f"cast_{target}")


def _to_low(tensor: TensorProto, low: int) -> TensorProto:
    values = numpy_helper.to_array(tensor)
    if low == TensorProto.FLOAT16:
        overflow = int(np.count_nonzero(np.abs(values) > FP16_MAX))
        if overflow:
            warnings.warn(f"{overflow} values of {tensor.name!r} exceed the fp16 range and are "
                          f"clipped to +-{FP16_MAX:g}; use bf16 for this model", RuntimeWarning,
                          stacklevel=4)
        values = np.clip(values, -FP16_MAX, FP16_MAX)
    return numpy_helper.from_array(values.astype(helper.tensor_dtype_to_np_dtype(low)), tensor.name)


def _convert_constant(node: onnx.NodeProto, low: int) -> None:
    for attr in node.attribute:
        if attr.name == "value" and attr.t.data_type == TensorProto.FLOAT:
            attr.t.CopyFrom(_to_low(attr.t, low))
