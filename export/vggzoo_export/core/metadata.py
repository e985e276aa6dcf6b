"""What an exported file says about itself.

Every artifact (ONNX ``metadata_props``, AOTInductor package metadata)
carries the same string key/value pairs, so a runtime can rebuild the
preprocessing, check input sizes and name classes without the Python model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

import vggzoo
from vggzoo.data.preprocess import Preprocessing
from vggzoo.weights.checks import check_metadata

from .contract import GRAPH_KEY, PROTOCOL_GRAPH
from .contract import METADATA_PREFIX as PREFIX
from ..errors import ArtifactError


@dataclass(frozen=True)
class ExportMetadata:
    """Facts stored in an exported file (all keys prefixed ``vggzoo.``)."""

    model: str
    config: dict[str, Any]
    preprocessing: Preprocessing
    min_input_size: int
    num_classes: int
    classes: list[str] | None
    weights: str
    weights_sha256: str
    vggzoo_version: str = vggzoo.__version__
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def architecture(self) -> dict[str, Any]:
        """What :attr:`vggzoo.runtime.Runner.architecture` reports."""
        return {"name": self.model, "width_mult": float(self.config.get("width_mult", 1.0)),
                "num_classes": self.num_classes}

    @property
    def fixed_batch(self) -> int | None:
        """The batch size the file was exported with, or None when dynamic."""
        batch = self.config.get("batch", "dynamic")
        return batch if isinstance(batch, int) else None

    @property
    def is_protocol_graph(self) -> bool:
        """The file is a whole-protocol graph (raw image in, posteriors out),
        not a network a runner can take batches of."""
        return self.extra.get(GRAPH_KEY.removeprefix(PREFIX)) == PROTOCOL_GRAPH

    def describe_runner(self, runner: Any) -> None:
        """Set what a :class:`vggzoo.runtime.Runner` of this file reports
        (classes, preprocessing, minimum size, architecture, class names,
        training scale): every runtime of exported files calls it, so each
        backend labels results and picks default test scales alike."""
        runner.num_classes = self.num_classes
        runner.preprocessing = self.preprocessing
        runner.min_input_size = self.min_input_size
        runner.architecture = self.architecture
        runner.classes = self.classes
        runner.train_scale = self.extra.get("train_scale")

    def check_batch(self, batch: torch.Tensor, source: str) -> None:
        """Raise :class:`vggzoo.InputSizeError` (one line) for a batch this
        file cannot take; every runtime of exported files calls it."""
        from vggzoo.errors import InputSizeError

        if batch.dim() != 4 or batch.shape[1] != 3:
            raise InputSizeError(f"expected a (N, 3, H, W) batch, got shape {tuple(batch.shape)}")
        h, w = batch.shape[-2:]
        if min(h, w) < self.min_input_size:
            raise InputSizeError(
                f"input is {h}x{w} but {self.model} needs at least "
                f"{self.min_input_size}x{self.min_input_size}: rescale the image so its shortest "
                f"side is >= {self.min_input_size}")
        if self.fixed_batch is not None and batch.shape[0] != self.fixed_batch:
            raise InputSizeError(f"{source} was exported with a fixed batch of "
                                 f"{self.fixed_batch}, got {batch.shape[0]}; re-export with "
                                 f"--batch dynamic or feed batches of {self.fixed_batch}")

    def to_props(self) -> dict[str, str]:
        """Flat ``{key: str}`` as ONNX ``metadata_props`` want it."""
        props = {
            "model": self.model,
            "config": json.dumps(self.config, sort_keys=True),
            "preprocessing": json.dumps(self.preprocessing.as_dict()),
            "min_input_size": str(self.min_input_size),
            "num_classes": str(self.num_classes),
            "classes": json.dumps(self.classes),
            "weights": self.weights,
            "weights_sha256": self.weights_sha256,
            "version": self.vggzoo_version,
            **self.extra,
        }
        return {PREFIX + k: v for k, v in props.items()}

    @classmethod
    def from_props(cls, props: dict[str, str], *, source: str) -> "ExportMetadata":
        own = {k.removeprefix(PREFIX): v for k, v in props.items() if k.startswith(PREFIX)}
        check_metadata(own, source)  # preprocessing, classes, train scale: sane before use
        try:
            pre = json.loads(own.pop("preprocessing"))
            known = dict(
                model=own.pop("model"), config=json.loads(own.pop("config")),
                preprocessing=Preprocessing.from_dict(pre),
                min_input_size=int(own.pop("min_input_size")),
                num_classes=int(own.pop("num_classes")),
                classes=json.loads(own.pop("classes")), weights=own.pop("weights"),
                weights_sha256=own.pop("weights_sha256"), vggzoo_version=own.pop("version"))
        except (KeyError, ValueError, TypeError) as exc:
            raise ArtifactError(
                f"{source} is not a vggzoo export (its vggzoo.* metadata is missing or broken: "
                f"{type(exc).__name__}: {exc}); export it with `vggzoo-export MODEL`") from exc
        return cls(**known, extra=own)


def read_onnx_metadata(path: str | os.PathLike) -> ExportMetadata:
    """The vggzoo metadata of an exported ONNX file (weights are not read)."""
    from .integrity import load_onnx

    model = load_onnx(path, external_data=False)
    return ExportMetadata.from_props({p.key: p.value for p in model.metadata_props},
                                     source=str(path))


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_state_dict(model: nn.Module) -> str:
    """Hash of the tensors themselves, for weights that came from no file."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def describe(model: nn.Module, **config: Any) -> ExportMetadata:
    """Metadata of a vggzoo model about to be exported; ``config`` adds
    export settings (precision, batch, opset, ...)."""
    cfg = model.pretrained_cfg
    source = cfg.weights
    if source and Path(str(source)).is_file():
        weights, digest = str(source), sha256_file(source)
    else:
        weights = source or "random (no weights given)"
        digest = sha256_state_dict(model)
    num_classes = cfg.num_classes
    return ExportMetadata(
        model=cfg.name,
        config={"config": cfg.config, "width_mult": cfg.width_mult,
                "num_classes": num_classes, "fully_conv": True, **config},
        preprocessing=cfg.preprocessing, min_input_size=cfg.min_input_size,
        num_classes=num_classes, classes=class_names(model), weights=weights,
        weights_sha256=digest,
        extra={"train_scale": cfg.train_scale} if cfg.train_scale else {})


def class_names(model: nn.Module) -> list[str] | None:
    """The class names the model's weights record (training's folder names,
    named weights' categories), else ImageNet's for a 1000-class model."""
    cfg = model.pretrained_cfg
    if cfg.classes:
        return list(cfg.classes)
    if cfg.num_classes != 1000:
        return None
    from vggzoo.data.samples import imagenet_categories

    return imagenet_categories()


def torch_model(meta: ExportMetadata, state: dict[str, torch.Tensor] | None = None) -> nn.Module:
    """The eager PyTorch model an export was made from (same architecture;
    the given weights or random ones), for comparisons."""
    model = vggzoo.create(meta.model, fully_conv=True, num_classes=meta.num_classes,
                          width_mult=meta.config.get("width_mult", 1.0), weights=state)
    model.pretrained_cfg = dataclasses.replace(model.pretrained_cfg, preprocessing=meta.preprocessing)
    return model.eval()
