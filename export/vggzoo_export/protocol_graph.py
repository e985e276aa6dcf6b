"""The paper's dense test protocol as one ONNX graph.

``vggzoo-export vgg16 --protocol dense --scales 256,384,512`` writes a graph
that takes raw RGB pixels and returns class posteriors, so any ONNX runtime
evaluates an image the paper's way with a single call:

    image (N, 3, H, W) uint8
      -> for each test scale Q: isotropic resize to shortest side Q
         (bilinear, antialiased), mean/std normalisation, the image and its
         horizontal flip as one batch, the fully-convolutional network, the
         spatial mean of its score map, soft-max
      -> average of the 2 x len(Q) posteriors -> ``posteriors`` (N, K)

The resize is written as two matrix products with interpolation weights
computed in the graph from the input size.  That is exactly torch's
antialiased bilinear filter (``interpolate(antialias=True)``, used by
torchvision's ``Resize``) at any scale; ONNX ``Resize(antialias=1)`` in
ONNX Runtime differs from it by several grey levels when shrinking.  The
output size follows torchvision: shortest side Q, the other
``int(Q * long / short)``.  Resizing happens in float on the decoded
uint8 pixels, exactly as ``vggzoo eval`` does (:func:`vggzoo.preprocess.to_input`
converts to float before resizing), so the graph's posteriors equal
``vggzoo eval --protocol dense``'s; the export checks that through the
evaluation code itself (:func:`eval_dense_posteriors`).

The network's nodes are copied once per scale with their weights shared, so
the file is as large as the network's.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vggzoo.preprocess import Preprocessing
from vggzoo.runtime.base import Runner

from .artifacts import staged_artifact
from .errors import ArtifactError, ExportError
from .contract import (EXTERNAL_DATA_THRESHOLD, GRAPH_KEY, IMAGE_NAME, INPUT_NAME, LOGITS_NAME,
                       POSTERIORS_NAME, PROTOCOL_GRAPH, PROTOCOL_KEY, data_file_name)
from .metadata import ExportMetadata
from .parity import FP32_TOLERANCE

MIN_OPSET = 13


@dataclass
class ProtocolReport:
    path: Path
    files: list[Path]
    scales: list[int]
    parity: dict[str, float]
    seconds: float


class _Builder:
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


def _interpolation_matrix(b: _Builder, in_len: str, out_len: str) -> str:
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


def _scalar(b: _Builder, vector: str, index: int) -> str:
    return b.op("Gather", [vector, b.const(np.array(index, np.int64))], axis=0)


def _resize_shortest_side(b: _Builder, x: str, height: str, width: str, q: int) -> str:
    """torchvision ``Resize(q)`` of a float (N, 3, H, W) tensor."""
    qc = b.const(np.array(q, np.int64))
    short, long = b.op("Min", [height, width]), b.op("Max", [height, width])
    new_long = b.op("Div", [b.op("Mul", [long, qc]), short])  # int64: truncates like int()
    width_is_short = b.op("LessOrEqual", [width, height])
    new_h = b.op("Where", [width_is_short, new_long, qc])
    new_w = b.op("Where", [width_is_short, qc, new_long])
    rows = _interpolation_matrix(b, height, new_h)        # (new_h, H)
    cols = _interpolation_matrix(b, width, new_w)         # (new_w, W)
    x = b.op("MatMul", [x, b.op("Transpose", [cols], perm=[1, 0])])
    return b.op("MatMul", [rows, x])


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
    b = _Builder()
    x = b.op("Cast", [IMAGE_NAME], to=TensorProto.FLOAT)
    shape = b.op("Shape", [x])
    height, width = _scalar(b, shape, 2), _scalar(b, shape, 3)
    # (p/255 - mean) / std as one multiply-add per channel.
    gain = b.const((1 / (255 * np.array(pre.std))).astype(np.float32).reshape(1, 3, 1, 1), "gain")
    bias = b.const((-np.array(pre.mean) / np.array(pre.std)).astype(np.float32).reshape(1, 3, 1, 1),
                   "bias")
    weights = {init.name for init in network.graph.initializer}
    per_scale = []
    for q in scales:
        resized = _resize_shortest_side(b, x, height, width, q)
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


def _inline_network(b: _Builder, network, batch: str, *, prefix: str, shared: set[str]) -> str:
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


def export_protocol_graph(network_path: str | os.PathLike, output: str | os.PathLike, *,
                          scales: Sequence[int] = (256, 384, 512), flip: bool = True,
                          check_size: tuple[int, int] = (240, 320)) -> ProtocolReport:
    """Write the dense-protocol graph of an exported network and check it
    against ``vggzoo eval``'s dense protocol on the same network
    (:func:`eval_dense_posteriors`) on a random image (``check_size``).

    The reference runs the exported network itself (ONNX Runtime), whose
    agreement with PyTorch the network export has already checked; so any
    network exports, batch-norm ones included (their normalisation is
    folded into the convolutions and has no weights of its own in the file).
    """
    import onnx

    from .ort_runner import OrtRunner

    start = time.perf_counter()
    output = Path(output)
    network = onnx.load(str(network_path))
    model = build_protocol_graph(network, scales, flip=flip)
    del network
    with staged_artifact(output, (data_file_name(output),)) as stage:
        external = model.ByteSize() > EXTERNAL_DATA_THRESHOLD if _fits(model) else True
        staged = stage / output.name
        onnx.save_model(model, str(staged), save_as_external_data=external,
                        all_tensors_to_one_file=True, location=data_file_name(output),
                        size_threshold=1024)
        del model
        try:
            onnx.checker.check_model(str(staged), full_check=True)
        except Exception as exc:
            raise ExportError(f"onnx.checker rejects the protocol graph: {exc}") from exc
        image = torch.randint(0, 256, (1, 3, *check_size), dtype=torch.uint8,
                              generator=torch.Generator().manual_seed(0))
        with ProtocolSession(staged) as session:
            got = session.posteriors(image)
        with OrtRunner(network_path) as runner:
            expected = eval_dense_posteriors(runner, image, scales, flip=flip)
        diff = log_posterior_diff(got, expected)
        if not diff <= FP32_TOLERANCE:
            raise ExportError(f"the protocol graph disagrees with vggzoo's dense protocol: max abs "
                              f"log-posterior difference {diff:.3g} > {FP32_TOLERANCE}; not written")
        files = [output] + ([output.parent / data_file_name(output)] if external else [])
    return ProtocolReport(output, files, list(scales), {f"{check_size[0]}x{check_size[1]}": diff},
                          time.perf_counter() - start)


def log_posterior_diff(got: torch.Tensor, expected: torch.Tensor) -> float:
    """Max abs difference of log-posteriors: relative, so it stays sensitive
    when posteriors are near uniform (untrained weights)."""
    return float((got.double().log() - expected.double().log()).abs().max())


def _fits(model) -> bool:
    try:
        model.ByteSize()
        return True
    except Exception:  # protobuf refuses to size messages over 2 GB
        return False


def eval_dense_posteriors(runner: Runner, image: torch.Tensor, scales: Sequence[int], *,
                          flip: bool = True) -> torch.Tensor:
    """(N, K) posteriors of ``vggzoo eval --protocol dense`` for uint8
    (N, 3, H, W) or (3, H, W) images: :func:`vggzoo.eval.predict` itself,
    on any runner."""
    from vggzoo.eval.evaluate import network_of, predict
    from vggzoo.registry import EVAL_PROTOCOLS

    images = list(image[None] if image.dim() == 3 else image)
    network = network_of(runner)
    network.scales = list(scales)
    return predict([network], images, [EVAL_PROTOCOLS.get("dense").obj], flip=flip)["dense"]


def torch_dense_posteriors(model: nn.Module, pre: Preprocessing, image: torch.Tensor,
                           scales: Sequence[int], *, flip: bool = True) -> torch.Tensor:
    """:func:`eval_dense_posteriors` of a PyTorch model with preprocessing ``pre``."""
    from vggzoo.runtime import TorchRunner

    runner = TorchRunner(model)
    runner.preprocessing = pre
    return eval_dense_posteriors(runner, image, scales, flip=flip)


class ProtocolSession:
    """Runs a protocol graph: uint8 images in, posteriors out.

    >>> with ProtocolSession("vgg16.dense.onnx") as session:
    ...     session.posteriors(image_uint8_nchw).argmax(1)
    """

    def __init__(self, path: str | os.PathLike, providers: str = "auto") -> None:
        from .ort_runner import open_session

        self.path = Path(path)
        self.session = open_session(self.path, providers=providers)
        props = self.session.get_modelmeta().custom_metadata_map
        if props.get(GRAPH_KEY) != PROTOCOL_GRAPH:
            raise ArtifactError(f"{self.path} is not a protocol graph; export one with "
                                f"`vggzoo-export MODEL --protocol dense`")
        self.protocol = json.loads(props[PROTOCOL_KEY])
        self.metadata = ExportMetadata.from_props(props, source=str(self.path))

    def posteriors(self, image: torch.Tensor) -> torch.Tensor:
        """(N, K) posteriors for a uint8 (N, 3, H, W) or (3, H, W) RGB image."""
        if image.dim() == 3:
            image = image[None]
        if image.dtype != torch.uint8 or image.dim() != 4 or image.shape[1] != 3:
            raise ArtifactError(f"the protocol graph takes uint8 RGB images (N, 3, H, W), got "
                                f"{image.dtype} {tuple(image.shape)}")
        out = self.session.run([POSTERIORS_NAME], {IMAGE_NAME: image.contiguous().numpy()})[0]
        return torch.from_numpy(out)

    def close(self) -> None:
        self.session = None

    def __enter__(self) -> "ProtocolSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
