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
from typing import TYPE_CHECKING, Any


from ..errors import ConfigError
from ..plugins.hookspecs import Register, hookimpl
from .preprocess import Preprocessing, to_input
from .._lazy import lazy_attributes
from ..plugins.registry import AUGMENTATIONS
from .scales import TrainScale

from . import PAPER_AUGMENTATIONS

if TYPE_CHECKING:
    from torchvision.transforms import v2

# torchvision is imported where a transform is built, not here: this module
# registers the augmentations for every command, `vggzoo list` included, and
# importing torchvision costs more than importing torch.


# PCALighting lives beside torchvision's Transform base class: imported on use.
__getattr__, __dir__ = lazy_attributes(__package__, {"PCALighting": "lighting"}, globals(),
                                       submodules=False)


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


def isotropic_rescale(scale: TrainScale) -> v2.Transform:
    """Shortest side to S, or to an S drawn uniformly from [Smin, Smax]."""
    from torchvision.transforms import v2

    if scale.jittered:
        return v2.RandomShortestSize(list(range(scale.smin, scale.smax + 1)), antialias=True)
    return v2.Resize(scale.smin, antialias=True)


def _scale(*, scale: TrainScale, **_: Any) -> v2.Transform:
    return isotropic_rescale(scale)


def _random_crop(*, crop: int, **_: Any) -> v2.Transform:
    from torchvision.transforms import v2

    return v2.RandomCrop(crop)


def _hflip(**_: Any) -> v2.Transform:
    from torchvision.transforms import v2

    return v2.RandomHorizontalFlip()


def _pca_lighting(*, pca: PCAStats, **_: Any) -> v2.Transform:
    from .lighting import PCALighting

    return PCALighting(pca)


def train_transform(augmentations: Sequence[str], *, scale: TrainScale, crop: int,
                    pca: PCAStats, preprocessing: Preprocessing) -> v2.Compose:
    """PIL image -> training input: the named augmentations, then the model's
    preprocessing (:func:`vggzoo.data.preprocess.to_input`: mean-RGB subtraction)."""
    from torchvision.transforms import v2

    steps: list = [v2.ToImage()]
    for name in augmentations:
        steps.append(AUGMENTATIONS.get(name).obj(scale=scale, crop=crop, pca=pca))
    return v2.Compose([*steps, to_input(preprocessing)])


def val_transform(*, scale: TrainScale, crop: int, preprocessing: Preprocessing) -> v2.Compose:
    """PIL image -> validation input: rescale to the single test scale Q and
    take the centre crop the FC head needs."""
    from torchvision.transforms import v2

    return v2.Compose([to_input(preprocessing, scale=scale.test_scale), v2.CenterCrop(crop)])


@hookimpl
def vggzoo_register_augmentations(register: Register) -> None:
    register("scale", _scale, description="isotropic rescale: shortest side S, or S ~ U[Smin, Smax]")
    register("random-crop", _random_crop, description="one random crop (224x224) per image")
    register("hflip", _hflip, description="random horizontal flip")
    register("pca-lighting", _pca_lighting,
             description="AlexNet PCA colour augmentation, alpha ~ N(0, 0.1)")
