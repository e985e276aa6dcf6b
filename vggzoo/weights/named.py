"""Named weights: what a weights file is, said once (torchvision's
``Weights`` enums, timm's ``pretrained_cfg``).

Each :class:`NamedWeights` says which model it fits, its file name and hash,
the preprocessing it was trained with, its class names, the accuracy its
authors report and where it comes from.  vggzoo registers torchvision's
ImageNet weights of every VGG torchvision has (``vgg16.tv_in1k``, ...);
plugins add theirs through the ``vggzoo_register_weights`` hook::

    @vggzoo.hookimpl
    def vggzoo_register_weights(register):
        register("vgg16.my_in21k", NamedWeights(model="vgg16", ...))

A file is recognised by its SHA-256, never by its name: torchvision's file
renamed to ``vgg16.pth`` still gets torchvision's preprocessing.

>>> model = vggzoo.create("vgg16", pretrained=True)        # vgg16.tv_in1k
>>> vggzoo.list_models(pretrained=True)[:2]
['vgg11.tv_in1k', 'vgg11_bn.tv_in1k']
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
from dataclasses import asdict, dataclass, field
import functools
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..errors import WeightsError
from ..plugins.hookspecs import Register, hookimpl
from ..data.preprocess import TORCHVISION, Preprocessing
from ..plugins import Lazy
from ..plugins.registry import MODELS, WEIGHTS
from .files import read_state_dict

if TYPE_CHECKING:
    from ..models.cfg import PretrainedCfg
    from .files import WeightsFacts


@dataclass(frozen=True)
class NamedWeights:
    """One published weights file and its facts."""

    #: Registered model name the weights fit (``vgg16``).
    model: str
    #: File name in the torch hub cache (``vgg16-397923af.pth``).
    file_name: str
    #: SHA-256 of the file, or a prefix of it (torchvision publishes 8 hex digits).
    sha256: str
    preprocessing: Preprocessing
    num_classes: int
    #: Class names in label order (None: the publisher gives none).
    classes: tuple[str, ...] | None = None
    width_mult: float = 1.0
    #: Where to download it from (None: the user must supply the file).
    url: str | None = None
    #: Training scale S (what test scales default to).
    train_scale: str | None = None
    #: Reported accuracy, e.g. ``{"ImageNet-1K": {"acc@1": 71.592, "acc@5": 90.382}}``.
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Who published the weights and how they were trained.
    source: str = ""
    #: Input channels of the first convolution.
    in_chans: int = 3

    def facts(self, name: str) -> "PretrainedCfg":
        """The model's facts record these weights give (what ``create``
        builds and every export and runner carries), as ``name``."""
        from ..models.cfg import PretrainedCfg

        return PretrainedCfg(name=MODELS.get(self.model).name, num_classes=self.num_classes,
                             width_mult=self.width_mult, in_chans=self.in_chans,
                             preprocessing=self.preprocessing, classes=self.classes,
                             train_scale=self.train_scale, named_weights=name)
    #: Only the trunk holds values (torchvision's IMAGENET1K_FEATURES: a NaN
    #: classifier); a model with a head is refused.
    features_only: bool = False

    def cache_path(self) -> Path:
        """Where the file is looked for: the torch hub cache."""
        return Path(torch.hub.get_dir()) / "checkpoints" / self.file_name

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["preprocessing"] = self.preprocessing.as_dict()
        data["classes"] = None if self.classes is None else len(self.classes)
        return data


def get_weights(name: str) -> tuple[str, NamedWeights]:
    """The canonical name and facts of registered weights."""
    entry = WEIGHTS.get(name)
    return entry.name, entry.obj


def named_facts(name: str) -> "WeightsFacts":
    """What registered weights state about the model (every field their
    entry gives; the rest of the record stays unstated)."""
    from .files import WeightsFacts

    name, spec = get_weights(name)
    cfg = spec.facts(name)
    stated = ("name", "num_classes", "width_mult", "in_chans", "preprocessing", "classes",
              "train_scale", "named_weights")
    return WeightsFacts(name, {key: getattr(cfg, key) for key in stated
                               if getattr(cfg, key) is not None})


def is_named(text: object) -> bool:
    """Whether ``text`` names registered weights (and is not an existing file)."""
    return isinstance(text, str) and text in WEIGHTS and not Path(text).exists()


def default_weights(model: str) -> str:
    """The name of ``model``'s default named weights (``vgg16`` -> ``vgg16.tv_in1k``)."""
    canonical = MODELS.get(model).name
    names = weights_of(canonical)
    if not names:
        have = sorted({WEIGHTS.get(n).obj.model for n in WEIGHTS.names()})
        raise WeightsError(f"no named weights for {canonical!r}; there are weights for "
                           f"{', '.join(have) or 'no model'} (vggzoo.list_models(pretrained=True))")
    return names[0]


def weights_of(model: str) -> list[str]:
    """Names of the registered weights for a model, default first."""
    found = [e for e in WEIGHTS.entries() if e.obj.model == model]
    return [e.name for e in sorted(found, key=lambda e: (not e.info.get("default"), e.name))]


def load_named(name: str, *, progress: bool = False) -> tuple[dict[str, torch.Tensor], str]:
    """Tensors of named weights and the file they came from: the torch hub
    cache, downloaded there when the network allows; offline, the error says
    which file to put where."""
    name, spec = get_weights(name)
    path = spec.cache_path()
    if not path.is_file():
        if spec.url is None:
            raise WeightsError(f"weights {name} are not in the torch hub cache: put "
                               f"{spec.file_name} at {path} ({spec.source})")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(spec.url, str(path), hash_prefix=spec.sha256,
                                           progress=progress)
        except (urllib.error.URLError, OSError, RuntimeError) as exc:
            raise WeightsError(
                f"cannot load weights {name}: {exc}. Without network access, download "
                f"{spec.url} elsewhere and put it at {path} (or pass weights='path/to/file.pth')"
            ) from exc
    digest = _sha256(*_file_key(path))
    if not digest.startswith(spec.sha256.lower()):
        raise WeightsError(f"{path} is not the file of weights {name}: its SHA-256 is "
                           f"{digest[:16]}..., expected {spec.sha256[:16]}...; delete it and "
                           f"put {spec.file_name} from {spec.url or spec.source} there")
    return read_state_dict(path), str(path)


def identify(path: str | os.PathLike) -> str | None:
    """The registered weights a file is, by its SHA-256 (any file name)."""
    digest = _sha256(*_file_key(Path(path)))
    for entry in WEIGHTS.entries():
        prefix = entry.obj.sha256.lower()
        if len(prefix) >= 8 and digest.startswith(prefix):
            return entry.name
    return None


def _file_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


@lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def torchvision_weights(enum_name: str, model: str) -> NamedWeights:
    """Facts of torchvision's ``IMAGENET1K_V1`` weights, from torchvision's
    own (offline) metadata."""
    from torchvision.models import get_weight

    weights = get_weight(f"{enum_name}.IMAGENET1K_V1")
    file_name = Path(weights.url).name
    meta = weights.meta
    return NamedWeights(
        model=model, file_name=file_name, sha256=file_name.rsplit("-", 1)[1].split(".")[0],
        preprocessing=TORCHVISION, num_classes=len(meta["categories"]),
        classes=tuple(meta["categories"]), url=weights.url, train_scale="256",
        metrics={k: dict(v) for k, v in meta.get("_metrics", {}).items()},
        source=f"torchvision {enum_name}.IMAGENET1K_V1: {meta.get('_docs', '').strip()} "
               f"Recipe: {meta.get('recipe', '')}")


def torchvision_features_weights() -> NamedWeights:
    """torchvision's ``VGG16_Weights.IMAGENET1K_FEATURES``: the paper's
    original (Caffe) VGG16 ported by amdegroot for SSD, mean-RGB on 0-255
    input, a NaN classifier; for feature extraction only."""
    from torchvision.models import get_weight

    weights = get_weight("VGG16_Weights.IMAGENET1K_FEATURES")
    file_name = Path(weights.url).name
    transform = weights.transforms.keywords
    return NamedWeights(
        model="vgg16", file_name=file_name, sha256=file_name.rsplit("-", 1)[1].split(".")[0],
        preprocessing=Preprocessing("mean-rgb", tuple(transform["mean"]), tuple(transform["std"])),
        num_classes=0, url=weights.url, train_scale="256", features_only=True,
        source=f"torchvision VGG16_Weights.IMAGENET1K_FEATURES: {weights.meta['_docs'].strip()} "
               f"Recipe: {weights.meta['recipe']}")


@hookimpl
def vggzoo_register_weights(register: Register) -> None:
    for entry in MODELS.entries():
        enum_name = entry.info.get("torchvision_weights")
        if enum_name and entry.source == "vggzoo.models.builtin":
            # torchvision's metadata is read when the weights are first used:
            # importing torchvision here would slow every command down.
            spec = Lazy(functools.partial(torchvision_weights, enum_name, entry.name))
            register(f"{entry.name}.tv_in1k", spec, default=True,
                     description=f"torchvision ImageNet-1K weights ({enum_name}.IMAGENET1K_V1)")
    register("vgg16.tv_features", Lazy(torchvision_features_weights),
             description="torchvision VGG16_Weights.IMAGENET1K_FEATURES (trunk only, "
                         "mean-RGB on 0-255 pixels; for perceptual losses and detection)")
