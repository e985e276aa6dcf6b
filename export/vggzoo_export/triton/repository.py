"""A Triton Inference Server model repository for a vggzoo model.

``vggzoo-export vgg16 --triton REPO [--backend onnxruntime|tensorrt]`` writes::

    REPO/vgg16/config.pbtxt
    REPO/vgg16/labels.txt        (class names, when the model records them)
    REPO/vgg16/1/model.onnx      (or model.plan with its .json sidecar)

The config declares dynamic batching (up to ``--max-batch``), the image
input as ``[3, -1, -1]`` (any height and width the model or engine takes;
Triton batches together requests of the same size) and every output with
its real dims, read from the ONNX file or the engine's sidecar, never
assumed.  The preprocessing a client must apply is written both as comments
at the top and as ``parameters`` entries that clients can query through the
model-config API; so is the model's whole facts record
(``vggzoo_facts``, read back by :func:`read_repository_facts`).

>>> write_repository("models", "vgg16.onnx", name="vgg16", max_batch=32)
PosixPath('models/vgg16/config.pbtxt')
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from onnx import TensorProto

from vggzoo import io
from vggzoo.errors import OptionError, VggzooError
from vggzoo.models.cfg import PretrainedCfg

from ..core.integrity import load_onnx
from ..core.contract import CLASSES_KEY, DEFAULT_MAX_BATCH, MODEL_KEY
from vggzoo.plugins.exporters import ExportReport
from ..core.metadata import ExportMetadata
from ..trt.sidecar import read_sidecar
from .files import FACTS_PARAMETER, files_to_copy
from .staging import check_model_name, staged_model

TRITON_BACKENDS: tuple[str, ...] = ("onnxruntime", "tensorrt", "python")
MODEL_FILES = {"onnxruntime": "model.onnx", "tensorrt": "model.plan"}
DEFAULT_QUEUE_DELAY_US = 100
#: Class names, one a line, in label order (Triton's ``label_filename``).
LABELS_FILE = "labels.txt"
_ONNX_TYPES = {TensorProto.FLOAT: "TYPE_FP32", TensorProto.FLOAT16: "TYPE_FP16",
               TensorProto.BFLOAT16: "TYPE_BF16", TensorProto.INT64: "TYPE_INT64",
               TensorProto.INT32: "TYPE_INT32", TensorProto.UINT8: "TYPE_UINT8"}
_NAME_TYPES = {"float32": "TYPE_FP32", "float16": "TYPE_FP16", "bfloat16": "TYPE_BF16",
               "int64": "TYPE_INT64", "int32": "TYPE_INT32", "uint8": "TYPE_UINT8",
               "int8": "TYPE_INT8", "bool": "TYPE_BOOL"}


@dataclass(frozen=True)
class TritonTensor:
    name: str
    data_type: str
    #: Dims without the batch dimension; -1 where the size varies.
    dims: tuple[int, ...]


def onnx_tensors(path: str | os.PathLike) -> tuple[list[TritonTensor], list[TritonTensor], dict]:
    """Inputs, outputs (batch dim removed) and metadata of an ONNX file."""
    model = load_onnx(path, external_data=False)
    initializers = {t.name for t in model.graph.initializer}

    def tensors(values) -> list[TritonTensor]:
        found = []
        for value in values:
            if value.name in initializers:
                continue
            tensor_type = value.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor_type.shape.dim]
            if not dims or dims[0] != -1:
                raise VggzooError(f"{path}: {value.name!r} has no dynamic batch dimension "
                                  f"(shape {dims}); Triton's dynamic batching needs one. "
                                  f"Export with a dynamic batch")
            if tensor_type.elem_type not in _ONNX_TYPES:
                raise VggzooError(f"{path}: {value.name!r} has an element type Triton "
                                  f"support here does not cover ({tensor_type.elem_type})")
            found.append(TritonTensor(value.name, _ONNX_TYPES[tensor_type.elem_type],
                                      tuple(dims[1:])))
        return found

    metadata = {p.key: p.value for p in model.metadata_props}
    return tensors(model.graph.input), tensors(model.graph.output), metadata


def engine_tensors(path: str | os.PathLike, max_batch: int) -> tuple[list[TritonTensor],
                                                                     list[TritonTensor], dict, int]:
    """Inputs, outputs, metadata and profile count of an engine (from its
    sidecar); the profiles must allow ``max_batch``."""
    sidecar = read_sidecar(path)
    largest = max(p.max_batch for p in sidecar.profiles)
    if largest < max_batch:
        raise OptionError(f"engine {path} takes batches of at most {largest} but --max-batch is "
                          f"{max_batch}: use --max-batch {largest} or rebuild the engine with "
                          f"--max-batch {max_batch}")

    def tensors(infos) -> list[TritonTensor]:
        return [TritonTensor(t.name, _NAME_TYPES[t.dtype], tuple(t.shape[1:])) for t in infos]

    return (tensors(sidecar.inputs), tensors(sidecar.outputs), sidecar.onnx_metadata,
            len(sidecar.profiles))


def render_config(name: str, backend: str, inputs: Sequence[TritonTensor],
                  outputs: Sequence[TritonTensor], *, max_batch: int, metadata: dict,
                  profiles: int = 0, queue_delay_us: int = DEFAULT_QUEUE_DELAY_US) -> str:
    """The ``config.pbtxt`` text (protobuf text format of Triton's ModelConfig)."""
    facts = ExportMetadata.from_props(metadata, source=f"the model file of {name}")
    pre, min_size = facts.preprocessing.as_dict(), facts.min_input_size
    lines = [
        f"# Triton model configuration for {name}, written by vggzoo-export.",
        "# Input: float32 RGB images, NCHW, values scaled to [0, 1] then normalised",
        f"#   per channel as (x - mean) / std with mean {list(pre['mean'])} and std",
        f"#   {list(pre['std'])} ({pre['name']} preprocessing); height and width at least",
        f"#   {min_size}, e.g. the shortest side rescaled to the test scale Q.",
        "# Requests are batched together only when their height and width match.",
        "# Outputs: (N, K) logits = spatial mean of the class score map; soft-max,",
        "#   flips and multi-scale averaging are the client's (the paper's dense protocol).",
        f'name: "{name}"',
        f'backend: "{backend}"',
        f"max_batch_size: {max_batch}",
    ]
    labelled = class_labels(metadata) is not None
    for kind, tensors in (("input", inputs), ("output", outputs)):
        for tensor in tensors:
            dims = ", ".join(str(d) for d in tensor.dims)
            # Triton's classification extension names the top classes of a
            # (batch, K) output from a labels file, one class per line.
            label = (f' label_filename: "{LABELS_FILE}"'
                     if kind == "output" and labelled and len(tensor.dims) == 1 else "")
            lines.append(f'{kind} {{ name: "{tensor.name}" data_type: {tensor.data_type} '
                         f"dims: [ {dims} ]{label} }}")
    lines.append(f"dynamic_batching {{ max_queue_delay_microseconds: {queue_delay_us} }}")
    if backend == "tensorrt":
        listed = ", ".join(f'"{i}"' for i in range(profiles))
        lines.append(f"instance_group [ {{ kind: KIND_GPU count: 1 profile: [ {listed} ] }} ]")
    for key, value in (("preprocessing", json.dumps(pre)), ("min_input_size", str(min_size)),
                       ("model", metadata.get(MODEL_KEY, name)),
                       (FACTS_PARAMETER, json.dumps(facts.facts.as_dict(), sort_keys=True))):
        lines.append(f"parameters {{ key: \"{key}\" value: {{ string_value: {json.dumps(value)} }} }}")
    return "\n".join(lines) + "\n"


def read_repository_facts(model_dir: str | os.PathLike) -> PretrainedCfg:
    """The facts record a Triton model folder's ``config.pbtxt`` carries
    (what the model is: classes, preprocessing, channels, scales, ...), so a
    client needs nothing but the repository."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    config_path = Path(model_dir) / "config.pbtxt"
    if not config_path.is_file():
        raise VggzooError(f"{model_dir} has no config.pbtxt: pass a model folder of a repository "
                          f"written by `vggzoo-export MODEL --triton REPO`")
    try:
        config = text_format.Parse(config_path.read_text(), model_config_pb2.ModelConfig())
        text = config.parameters[FACTS_PARAMETER].string_value
        return PretrainedCfg.from_dict(json.loads(text), source=str(config_path))
    except (text_format.ParseError, ValueError, KeyError) as exc:
        raise VggzooError(f"{config_path} holds no readable vggzoo facts ({exc}); write the "
                          f"repository again with `vggzoo-export MODEL --triton REPO`") from exc


def check_triton(repo: str | os.PathLike, /, *, backend: str = "onnxruntime",
                 max_batch: int = DEFAULT_MAX_BATCH, name: str | None = None,
                 scales: Sequence[int] | None = None, max_side: int | None = None,
                 runtime: str | None = None) -> None:
    """Reject a bad backend, batch, model name, image bound, runtime (unknown
    or not installed) or repository folder before any work."""
    if runtime is not None:
        from .runtimes import check_runtime

        check_runtime(runtime)
    if name is not None:
        check_model_name(name)
    if max_side is not None and (int(max_side) != max_side or max_side < max(scales or [1])):
        raise OptionError(f"--triton-max-side must be an integer of at least the largest test "
                          f"scale {max(scales or [1])}, got {max_side}")
    if backend not in TRITON_BACKENDS:
        raise OptionError(f"unknown Triton backend {backend!r}: choose one of "
                          f"{', '.join(TRITON_BACKENDS)}")
    if int(max_batch) != max_batch or max_batch < 1:
        raise OptionError(f"--max-batch must be a positive integer, got {max_batch}")
    io.check_writable_dir(repo, "--triton")


def export_triton(model_file: str | os.PathLike, repo: str | os.PathLike, /, *,
                  backend: str = "onnxruntime", name: str | None = None,
                  max_batch: int = DEFAULT_MAX_BATCH, version: int = 1,
                  scales: Sequence[int] | None = None, multi_scale: bool = False,
                  max_side: int | None = None, queue_delay_us: int | None = None,
                  runtime: str | None = None) -> ExportReport:
    """The ``triton`` exporter: :func:`write_repository` for an ONNX file
    (``backend="onnxruntime"``) or an engine (``"tensorrt"``), or
    :func:`.python_model.write_python_model` (``"python"``: the dense
    protocol on the server, at ``scales`` or the file's own, images up to
    ``max_side``, on the runner ``runtime`` names), named after the model the file records unless ``name``
    is given."""
    start = time.perf_counter()
    python_only = {"scales": scales, "multi_scale": multi_scale or None, "max_side": max_side,
                   "queue_delay_us": queue_delay_us, "runtime": runtime}
    given = {k: v for k, v in python_only.items() if v is not None}
    if backend == "python":
        from .python_model import write_python_model

        check_triton(repo, backend=backend, max_batch=max_batch, name=name)
        config = write_python_model(repo, model_file, name=name, max_batch=max_batch,
                                    version=version, **given)
    elif given:
        raise OptionError(f"{', '.join(sorted(given))} only apply to --backend python (the server "
                          f"runs the protocol); drop them for --backend {backend}")
    else:
        config = write_repository(repo, model_file, name=name, backend=backend,
                                  max_batch=max_batch, version=version)
    model_dir = config.parent
    files = sorted(p for p in model_dir.rglob("*") if p.is_file())
    metadata = (read_sidecar(model_file).onnx_metadata if backend == "tensorrt"
                else load_onnx(model_file, external_data=False).metadata_props)
    if backend != "tensorrt":
        metadata = {p.key: p.value for p in metadata}
    return ExportReport(config, files, ExportMetadata.from_props(metadata, source=str(model_file)),
                        {}, time.perf_counter() - start,
                        [f"Triton model {model_dir.name!r}, backend {backend}, max batch "
                         f"{max_batch}"])


def write_repository(repo: str | os.PathLike, model_file: str | os.PathLike, *,
                     name: str | None = None, backend: str = "onnxruntime",
                     max_batch: int = DEFAULT_MAX_BATCH, version: int = 1) -> Path:
    """Copy ``model_file`` into ``repo/name/version/`` and write
    ``repo/name/config.pbtxt``; the model folder is built aside and renamed
    into place, replacing an older one whole (:mod:`.staging`).  Returns
    the config path.
    ``name`` defaults to the model the file records (``vggzoo.model``)."""
    check_triton(repo, backend=backend, max_batch=max_batch, name=name)
    if backend == "python":
        from .python_model import write_python_model

        return write_python_model(repo, model_file, name=name, max_batch=max_batch,
                                  version=version)
    source = Path(model_file)
    if not source.is_file():
        raise VggzooError(f"model file {source} does not exist")
    profiles = 0
    if backend == "tensorrt":
        inputs, outputs, metadata, profiles = engine_tensors(source, max_batch)
    else:
        inputs, outputs, metadata = onnx_tensors(source)
    name = check_model_name(name or metadata.get(MODEL_KEY) or source.stem)
    config = render_config(name, backend, inputs, outputs, max_batch=max_batch,
                           metadata=metadata, profiles=profiles)
    with staged_model(repo, name) as model_dir:
        version_dir = model_dir / str(version)
        version_dir.mkdir()
        target = version_dir / MODEL_FILES[backend]
        for src, dst in files_to_copy(source, target, backend):
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
        labels = class_labels(metadata)
        if labels is not None:
            (model_dir / LABELS_FILE).write_text("".join(f"{label}\n" for label in labels))
        (model_dir / "config.pbtxt").write_text(config)
    return Path(repo) / name / "config.pbtxt"


def class_labels(metadata: dict) -> list[str] | None:
    """The class names an exported file records (``vggzoo.classes``), if any."""
    text = metadata.get(CLASSES_KEY)
    names = json.loads(text) if text else None
    return [str(n).replace("\n", " ") for n in names] if names else None
