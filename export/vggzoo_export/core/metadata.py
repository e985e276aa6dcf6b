"""What an exported file says about itself.

Every artifact (ONNX ``metadata_props``, AOTInductor package metadata, an
engine's sidecar, a Triton repository's config) carries the same string
key/value pairs: the model's facts record
(:class:`~vggzoo.models.cfg.PretrainedCfg`, under ``vggzoo.facts``) and the
export settings, so a runtime can rebuild the preprocessing, check input
sizes and channels, name classes, pick test scales and count FLOPs without
the Python model.  Files written before the record was stored whole are
read from their flat keys.
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
from vggzoo.errors import VggzooError
from vggzoo.models.cfg import PretrainedCfg
from vggzoo.weights.checks import check_metadata

from .contract import GRAPH_KEY, PROTOCOL_GRAPH
from .integrity import sha256_file
from .contract import METADATA_PREFIX as PREFIX
from ..errors import ArtifactError


#: Keys of the facts that files written before :data:`.contract.FACTS_KEY` existed
#: hold (still written, for readers of those versions), and their copies
#: inside the export settings.
LEGACY_KEYS = ("model", "preprocessing", "min_input_size", "num_classes", "classes", "weights")
LEGACY_CONFIG = ("config", "width_mult", "num_classes", "fully_conv")


@dataclass(frozen=True)
class ExportMetadata:
    """What an exported file stores (all keys prefixed ``vggzoo.``): the
    model's facts record, the export settings (format, precision, batch,
    opset, ...) and the weights' digest."""

    #: What the model is: the record weights files, runners and Triton carry.
    facts: PretrainedCfg
    #: Export settings (``format``, ``precision``, ``batch``, ``opset``, ...).
    config: dict[str, Any]
    weights_sha256: str
    vggzoo_version: str = vggzoo.__version__
    extra: dict[str, str] = field(default_factory=dict)

    # Views of the facts, for the readers of every backend.
    @property
    def model(self) -> str:
        return self.facts.name

    @property
    def preprocessing(self) -> Preprocessing:
        return self.facts.preprocessing

    @property
    def min_input_size(self) -> int:
        return self.facts.min_input_size

    @property
    def num_classes(self) -> int:
        return self.facts.num_classes

    @property
    def classes(self) -> list[str] | None:
        return list(self.facts.classes) if self.facts.classes else None

    @property
    def weights(self) -> str:
        return self.facts.weights or "random (no weights given)"

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
        """Hand the file's facts record to a :class:`vggzoo.runtime.Runner`
        (classes, preprocessing, minimum size, channels, training scale, ...):
        every runtime of exported files calls it, so each backend labels
        results, picks test scales and counts FLOPs alike."""
        runner.carry(self.facts)

    def check_batch(self, batch: torch.Tensor, source: str) -> None:
        """Raise :class:`vggzoo.InputSizeError` (one line) for a batch this
        file cannot take; every runtime of exported files calls it (a batch
        of another size than a fixed one is split by the runner, not here)."""
        from vggzoo.errors import InputSizeError

        channels = self.facts.in_chans
        if batch.dim() != 4 or batch.shape[1] != channels:
            raise InputSizeError(f"expected a (N, {channels}, H, W) batch, got shape "
                                 f"{tuple(batch.shape)}")
        h, w = batch.shape[-2:]
        if min(h, w) < self.min_input_size:
            raise InputSizeError(
                f"input is {h}x{w} but {self.model} needs at least "
                f"{self.min_input_size}x{self.min_input_size}: rescale the image so its shortest "
                f"side is >= {self.min_input_size}")

    def to_props(self) -> dict[str, str]:
        """Flat ``{key: str}`` as ONNX ``metadata_props`` want it: the facts
        record as one JSON value, plus the keys earlier readers look for."""
        facts = self.facts
        legacy_config = {"config": facts.config, "width_mult": facts.width_mult,
                         "num_classes": facts.num_classes, "fully_conv": True}
        props = {
            "facts": json.dumps(facts.as_dict(), sort_keys=True),
            "model": facts.name,
            "config": json.dumps({**legacy_config, **self.config}, sort_keys=True),
            "preprocessing": json.dumps(facts.preprocessing.as_dict()),
            "min_input_size": str(facts.min_input_size),
            "num_classes": str(facts.num_classes),
            "classes": json.dumps(self.classes),
            "weights": self.weights,
            "weights_sha256": self.weights_sha256,
            "version": self.vggzoo_version,
            **({"train_scale": facts.train_scale} if facts.train_scale else {}),
            **self.extra,
        }
        return {PREFIX + k: v for k, v in props.items()}

    @classmethod
    def from_props(cls, props: dict[str, str], *, source: str) -> "ExportMetadata":
        own = {k.removeprefix(PREFIX): v for k, v in props.items() if k.startswith(PREFIX)}
        check_metadata(own, source)  # preprocessing, classes, train scale: sane before use
        try:
            config = json.loads(own.pop("config"))
            facts_json = own.pop("facts", None)
            facts = (PretrainedCfg.from_dict(json.loads(facts_json), source=source)
                     if facts_json is not None else _legacy_facts(own, config, source))
            for key in (*LEGACY_KEYS, "train_scale"):
                own.pop(key, None)
            known = dict(facts=facts, weights_sha256=own.pop("weights_sha256"),
                         vggzoo_version=own.pop("version"),
                         config={k: v for k, v in config.items() if k not in LEGACY_CONFIG})
        except (KeyError, ValueError, TypeError, VggzooError) as exc:
            raise ArtifactError(
                f"{source} is not a vggzoo export (its vggzoo.* metadata is missing or broken: "
                f"{type(exc).__name__}: {exc}); export it with `vggzoo-export MODEL`") from exc
        return cls(**known, extra=own)


def _legacy_facts(own: dict[str, str], config: dict[str, Any], source: str) -> PretrainedCfg:
    """The facts of a file written before the record was stored whole."""
    weights = own.get("weights")
    return PretrainedCfg(
        name=own["model"], config=config.get("config"), fully_conv=True,
        num_classes=int(own["num_classes"]), width_mult=float(config.get("width_mult", 1.0)),
        min_input_size=int(own["min_input_size"]),
        preprocessing=Preprocessing.from_dict(json.loads(own["preprocessing"])),
        classes=json.loads(own["classes"]), train_scale=own.get("train_scale"),
        weights=None if weights is None or weights.startswith("random") else weights)


def read_onnx_metadata(path: str | os.PathLike) -> ExportMetadata:
    """The vggzoo metadata of an exported ONNX file (weights are not read)."""
    from .integrity import load_onnx

    model = load_onnx(path, external_data=False)
    return ExportMetadata.from_props({p.key: p.value for p in model.metadata_props},
                                     source=str(path))


def sha256_state_dict(model: nn.Module) -> str:
    """Hash of the tensors themselves, for weights that came from no file."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def describe(model: nn.Module, **config: Any) -> ExportMetadata:
    """Metadata of a vggzoo model about to be exported: its facts record
    (fully convolutional, with the class names it predicts) and ``config``,
    the export settings (precision, batch, opset, ...)."""
    cfg = model.pretrained_cfg
    source = cfg.weights
    if source and Path(str(source)).is_file():
        digest = sha256_file(source)
    else:
        digest = sha256_state_dict(model)
    names = class_names(model)
    facts = dataclasses.replace(cfg, fully_conv=True, classes=tuple(names) if names else None)
    return ExportMetadata(facts=facts, config=dict(config), weights_sha256=digest)


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
    """The eager PyTorch model an export was made from (its facts replayed;
    the given weights or random ones), for comparisons."""
    facts = meta.facts
    model = vggzoo.create(facts.name, **{**facts.builder_arguments(), "fully_conv": True},
                          weights=state)
    model.pretrained_cfg = dataclasses.replace(model.pretrained_cfg,
                                               preprocessing=facts.preprocessing)
    return model.eval()
