"""The paper's training-time input pipeline, built on torchvision transforms v2.

One random 224x224 crop per image per iteration, from the image rescaled
isotropically so its shortest side is S (fixed, or drawn per image from
[Smin, Smax] for scale jittering), a random horizontal flip, AlexNet's PCA
colour augmentation, and mean-RGB subtraction on 0-255 pixels.

Each step is registered as an augmentation (``--augment NAME``) through
``vggzoo_register_augmentations``; a registered ``obj`` is a factory
``obj(*, scale, crop, pca) -> transform`` that takes the run's
:class:`TrainScale`, crop size and :class:`PCAStats` and ignores what it does
not need.  The mean subtraction is not an augmentation: it is the model's
preprocessing and is always applied last (:func:`train_transform`).

>>> t = train_transform(["scale", "random-crop", "hflip", "pca-lighting"],
...                     scale=TrainScale.parse("256:512"), crop=224, pca=IMAGENET_PCA,
...                     preprocessing=PAPER)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from ..errors import ConfigError
from ..hookspecs import Register, hookimpl
from ..preprocess import Preprocessing, to_input
from ..registry import AUGMENTATIONS
from ..scales import TrainScale

from . import PAPER_AUGMENTATIONS


@dataclass(frozen=True)
class PCAStats:
    """Eigenvalues and eigenvectors (columns) of the 3x3 covariance of RGB
    pixel values in 0-1 units, for AlexNet's colour augmentation."""

    eigval: tuple[float, float, float]
    eigvec: tuple[tuple[float, float, float], ...]


#: ImageNet's published PCA (0-1 pixels), as used by AlexNet re-implementations
#: (fb.resnet.torch); eigenvectors are the columns.
IMAGENET_PCA = PCAStats(
    eigval=(0.2175, 0.0188, 0.0045),
    eigvec=((-0.5675, 0.7192, 0.4009),
            (-0.5808, -0.0045, -0.8140),
            (-0.5836, -0.6948, 0.4203)),
)


class PCALighting(v2.Transform):
    """AlexNet's colour augmentation: add ``P @ (alpha * lambda)`` to every
    pixel, ``alpha_i ~ N(0, alpha_std)`` drawn once per call (per image).

    Works on 0-1 float images; uint8 images are converted first.  Values are
    not clipped, as in AlexNet.
    """

    def __init__(self, pca: PCAStats, alpha_std: float = 0.1) -> None:
        super().__init__()
        self.eigval = torch.tensor(pca.eigval, dtype=torch.float32)
        self.eigvec = torch.tensor(pca.eigvec, dtype=torch.float32)
        self.alpha_std = alpha_std

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        alpha = torch.randn(3) * self.alpha_std
        return {"offset": self.eigvec @ (alpha * self.eigval)}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if not isinstance(inpt, torch.Tensor) or inpt.ndim < 3:
            return inpt
        image = v2.functional.to_dtype(inpt, torch.float32, scale=True)
        shifted = image + params["offset"].to(image.device).view(3, 1, 1)
        return tv_tensors.wrap(shifted, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else shifted


def isotropic_rescale(scale: TrainScale) -> v2.Transform:
    """Shortest side to S, or to an S drawn uniformly from [Smin, Smax]."""
    if scale.jittered:
        return v2.RandomShortestSize(list(range(scale.smin, scale.smax + 1)), antialias=True)
    return v2.Resize(scale.smin, antialias=True)


def _scale(*, scale: TrainScale, **_: Any) -> v2.Transform:
    return isotropic_rescale(scale)


def _random_crop(*, crop: int, **_: Any) -> v2.Transform:
    return v2.RandomCrop(crop)


def _hflip(**_: Any) -> v2.Transform:
    return v2.RandomHorizontalFlip()


def _pca_lighting(*, pca: PCAStats, **_: Any) -> v2.Transform:
    return PCALighting(pca)


def train_transform(augmentations: Sequence[str], *, scale: TrainScale, crop: int,
                    pca: PCAStats, preprocessing: Preprocessing) -> v2.Compose:
    """PIL image -> training input: the named augmentations, then the model's
    preprocessing (:func:`vggzoo.preprocess.to_input`: mean-RGB subtraction)."""
    steps: list = [v2.ToImage()]
    for name in augmentations:
        steps.append(AUGMENTATIONS.get(name).obj(scale=scale, crop=crop, pca=pca))
    return v2.Compose([*steps, to_input(preprocessing)])


def val_transform(*, scale: TrainScale, crop: int, preprocessing: Preprocessing) -> v2.Compose:
    """PIL image -> validation input: rescale to the single test scale Q and
    take the centre crop the FC head needs."""
    return v2.Compose([to_input(preprocessing, scale=scale.test_scale), v2.CenterCrop(crop)])


@hookimpl
def vggzoo_register_augmentations(register: Register) -> None:
    register("scale", _scale, description="isotropic rescale: shortest side S, or S ~ U[Smin, Smax]")
    register("random-crop", _random_crop, description="one random crop (224x224) per image")
    register("hflip", _hflip, description="random horizontal flip")
    register("pca-lighting", _pca_lighting,
             description="AlexNet PCA colour augmentation, alpha ~ N(0, 0.1)")
