"""Input preprocessing that travels with a model.

The paper subtracts the training set's mean RGB from 0-255 pixels and nothing
else; torchvision's released weights expect 0-1 pixels normalised by the
ImageNet mean and std.  Both are a :class:`Preprocessing` on 0-1 tensors, so
one transform pipeline serves either kind of weights.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from torchvision.transforms import v2


@dataclass(frozen=True)
class Preprocessing:
    """``(x - mean) / std`` on RGB tensors scaled to [0, 1]."""

    name: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, fields: dict) -> "Preprocessing":
        """Inverse of :meth:`as_dict` (JSON gives lists for the tuples)."""
        return cls(fields["name"], tuple(fields["mean"]), tuple(fields["std"]))

    @property
    def mean_rgb_255(self) -> tuple[float, ...]:
        """The mean in 0-255 pixel units, as the paper states it."""
        return tuple(round(m * 255, 3) for m in self.mean)


#: Mean RGB of ILSVRC-2012 train as published with the paper's Caffe models,
#: subtracted from 0-255 pixels (std 1/255 undoes the 0-1 scaling).
PAPER = Preprocessing("mean-rgb", (123.68 / 255, 116.779 / 255, 103.939 / 255), (1 / 255,) * 3)
#: What torchvision's IMAGENET1K_V1 VGG weights were trained with.
TORCHVISION = Preprocessing("torchvision", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def to_input(pre: Preprocessing, *, scale: int | None = None) -> "v2.Compose":
    """Transform that turns a PIL image / uint8 tensor into a network input.

    ``scale`` rescales isotropically so the shortest side equals it (the
    paper's test scale Q); ``None`` keeps the image's own size.

    The resize (bilinear, antialiased) runs on float pixels, after the uint8
    image is converted, not on uint8 pixels rounded back to integers: this is
    the one resize semantics of vggzoo's test protocols, shared by ``vggzoo
    eval``, training's validation and the exported dense-protocol graph
    (whose posteriors therefore equal evaluation's).

    >>> t = to_input(PAPER, scale=256)
    """
    from torchvision.transforms import v2

    steps: list = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    if scale is not None:
        steps.append(v2.Resize(scale, antialias=True))
    steps.append(v2.Normalize(list(pre.mean), list(pre.std)))
    return v2.Compose(steps)
