"""The JSON file that travels with every engine (``vgg16.plan.json``).

A TensorRT engine runs only on the TensorRT version and GPU family that
built it, and only for the shapes of its profiles; a mismatch otherwise
shows up as a cryptic deserialisation failure or a wrong-shape error deep in
the runtime.  The sidecar records what the engine was built with, so loading
can say exactly what is wrong and which command rebuilds it:

TensorRT version, GPU name and compute capability, precision, profiles,
input/output tensors, SHA-256 of the source ONNX and of the engine itself,
vggzoo versions, the model's metadata (name, preprocessing) and the options
the build used.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vggzoo.io import atomic_path

from ..core.contract import MODEL_KEY
from ..errors import EngineMismatchError  # noqa: F401  (re-exported)
from ..core.integrity import sha256_file
from .availability import parse_version
from .profiles import Profile, format_shape

FORMAT = "vggzoo-tensorrt-engine"
FORMAT_VERSION = 1
SIDECAR_SUFFIX = ".json"


@dataclass(frozen=True)
class GpuInfo:
    name: str
    #: ``"major.minor"``, e.g. ``"9.0"`` for Hopper.
    compute_capability: str


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    #: -1 for dynamic dimensions.
    shape: tuple[int, ...]


@dataclass
class EngineSidecar:
    tensorrt_version: str
    gpu: GpuInfo
    precision: str
    profiles: list[Profile]
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    source_onnx: dict[str, str]
    engine_sha256: str
    vggzoo_version: str
    vggzoo_export_version: str
    #: The source ONNX file's metadata (model name, preprocessing, ...).
    onnx_metadata: dict[str, str] = field(default_factory=dict)
    #: Options the build used (to print the rebuild command).
    build: dict[str, Any] = field(default_factory=dict)
    #: Agreement with fp32 ONNX Runtime, when it was checked.
    check: dict[str, Any] | None = None
    created: str = ""

    @property
    def input(self) -> TensorInfo:
        return self.inputs[0]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["profiles"] = [p.as_dict() for p in self.profiles]
        return {"format": FORMAT, "format_version": FORMAT_VERSION, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EngineSidecar":
        fields = {k: v for k, v in data.items() if k not in ("format", "format_version")}
        fields["gpu"] = GpuInfo(**fields["gpu"])
        fields["profiles"] = [Profile.from_dict(p) for p in fields["profiles"]]
        for key in ("inputs", "outputs"):
            fields[key] = [TensorInfo(t["name"], t["dtype"], tuple(t["shape"]))
                           for t in fields[key]]
        return cls(**fields)


def sidecar_path(engine: str | os.PathLike) -> Path:
    """``vgg16.plan`` -> ``vgg16.plan.json``."""
    engine = Path(engine)
    return engine.with_name(engine.name + SIDECAR_SUFFIX)


def write_sidecar(engine: str | os.PathLike, sidecar: EngineSidecar) -> Path:
    """Write the sidecar of ``engine`` atomically."""
    target = sidecar_path(engine)
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(sidecar.as_dict(), indent=2) + "\n")
    return target


def read_sidecar(engine: str | os.PathLike) -> EngineSidecar:
    """The sidecar of ``engine``; a clear error when it is missing or unreadable."""
    engine = Path(engine)
    path = sidecar_path(engine)
    if not engine.is_file():
        raise EngineMismatchError(f"engine file {engine} does not exist; build one with "
                                  f"`vggzoo-export MODEL --trt -o {engine}`")
    if not path.is_file():
        raise EngineMismatchError(
            f"{engine} has no sidecar {path.name}: vggzoo cannot tell which TensorRT, GPU and "
            f"shapes it was built for. Rebuild it with `vggzoo-export MODEL --trt -o {engine}`")
    try:
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise ValueError(f"format is {data.get('format')!r}, not {FORMAT!r}")
        if data.get("format_version", 0) > FORMAT_VERSION:
            raise ValueError(f"format version {data['format_version']} is newer than this "
                             f"vggzoo-export reads ({FORMAT_VERSION}); upgrade vggzoo-export")
        return EngineSidecar.from_dict(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise EngineMismatchError(f"cannot read engine sidecar {path}: {exc}. Rebuild the "
                                  f"engine with `vggzoo-export MODEL --trt -o {engine}`") from exc


def rebuild_command(sidecar: EngineSidecar, engine: str | os.PathLike) -> str:
    """The ``vggzoo-export`` command that builds this engine again."""
    model = sidecar.onnx_metadata.get(MODEL_KEY, "MODEL")
    parts = ["vggzoo-export", model, "--trt", "--onnx", sidecar.source_onnx.get("path", "MODEL.onnx"),
             "-o", str(engine), "--precision", sidecar.precision]
    build = sidecar.build
    if build.get("scales"):
        parts += ["--scales", ",".join(map(str, build["scales"])),
                  "--max-batch", str(build["max_batch"]), "--max-aspect", str(build["max_aspect"])]
    else:
        profile = sidecar.profiles[0]
        parts += ["--min", format_shape(profile.min), "--opt", format_shape(profile.opt),
                  "--max", format_shape(profile.max)]
    return " ".join(parts)


def check_environment(sidecar: EngineSidecar, engine: str | os.PathLike, *,
                      tensorrt_version: str, gpu: GpuInfo) -> None:
    """Refuse an engine built by another TensorRT or for another GPU
    architecture; warn when only the GPU model differs (it runs, but was
    tuned for another card)."""
    command = rebuild_command(sidecar, engine)
    built = parse_version(sidecar.tensorrt_version)
    here = parse_version(tensorrt_version)
    if built[:3] != here[:3]:
        raise EngineMismatchError(
            f"{engine} was built with TensorRT {sidecar.tensorrt_version} but this machine has "
            f"TensorRT {tensorrt_version}; engines only load in the version that built them. "
            f"Rebuild it here: {command}")
    if sidecar.gpu.compute_capability != gpu.compute_capability:
        raise EngineMismatchError(
            f"{engine} was built for {sidecar.gpu.name} (compute capability "
            f"{sidecar.gpu.compute_capability}) but this GPU is {gpu.name} (compute capability "
            f"{gpu.compute_capability}). Rebuild it on this GPU: {command}")
    if sidecar.gpu.name != gpu.name:
        warnings.warn(f"{engine} was tuned on {sidecar.gpu.name} and runs on {gpu.name} "
                      f"(same architecture): it works, but rebuilding here may be faster: "
                      f"{command}", RuntimeWarning, stacklevel=3)


def verify_engine_file(sidecar: EngineSidecar, engine: str | os.PathLike) -> None:
    """The engine file must be the one the sidecar describes (both are
    replaced on every build; a copy of one without the other is stale)."""
    actual = sha256_file(engine)
    if actual != sidecar.engine_sha256:
        raise EngineMismatchError(
            f"{engine} does not match its sidecar {sidecar_path(engine).name} (SHA-256 "
            f"{actual[:12]}... vs {sidecar.engine_sha256[:12]}...): one of them was replaced. "
            f"Rebuild both: {rebuild_command(sidecar, engine)}")
