"""The paper's test protocols, written once against the runner interface.

A protocol turns a list of images, already rescaled to one test scale Q and
preprocessed, into one posterior vector per image.  It never knows which
backend runs the network: it only calls ``runner.posteriors(batch)`` on
batches of one size.  Multi-scale testing and model fusion average these
posteriors and live in :mod:`vggzoo.eval.posteriors`.

Protocols are registered in ``EVAL_PROTOCOLS`` through the public hook, so a
plugin adds one the same way::

    @vggzoo.hookimpl
    def vggzoo_register_eval_protocols(register):
        register("tencrop", TenCrop(), description="...")

A protocol with ``components`` (like ``dense+multicrop``) is computed from
the posteriors of other protocols, so evaluating several protocols in one
run computes each network pass once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import torch

from ..errors import InputSizeError, OptionError
from ..plugins.hookspecs import Register, hookimpl
from ..runtime.base import Runner
from .crops import multi_crops


@dataclass
class CostMeter:
    """Network inputs (by size) and seconds spent in the runner, per
    protocol: what "time and FLOPs per image" are computed from."""

    inputs: dict[str, dict[tuple[int, int], int]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def record(self, protocol: str, batch: torch.Tensor, seconds: float) -> None:
        sizes = self.inputs.setdefault(protocol, {})
        size = (batch.shape[-2], batch.shape[-1])
        sizes[size] = sizes.get(size, 0) + batch.shape[0]
        self.seconds[protocol] = self.seconds.get(protocol, 0.0) + seconds


class EvalProtocol:
    """Posteriors of images at one test scale.

    Subclasses set ``name`` and implement :meth:`posteriors`; combinations set
    ``components`` and implement :meth:`combine` instead.
    """

    name: str = "protocol"
    description: str = ""
    #: Protocols whose posteriors this one combines (empty: runs the network).
    components: tuple[str, ...] = ()
    #: Whether the network sees ``min_input_size`` crops rather than the
    #: whole rescaled image (what memory is estimated for; see
    #: :mod:`vggzoo.eval.budget`).  Unknown protocols count as whole images.
    crop_inputs: bool = False

    def posteriors(self, runner: Runner, images: Sequence[torch.Tensor], *, flip: bool,
                   batch_size: int, meter: CostMeter | None = None) -> torch.Tensor:
        """(N, K) posteriors of N preprocessed (3, H, W) images at one scale."""
        raise NotImplementedError(f"{self.name} combines {self.components}; call combine()")

    def combine(self, parts: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """(N, K) posteriors from those of :attr:`components`."""
        raise NotImplementedError(f"{self.name} runs the network; call posteriors()")


def averaged_posteriors(runner: Runner, inputs: Iterable[tuple[int, torch.Tensor]], count: int,
                        *, batch_size: int, protocol: str,
                        meter: CostMeter | None = None) -> torch.Tensor:
    """Mean posterior per image of a stream of (image index, network input).

    Inputs are batched up to ``batch_size``; a batch is sent early when the
    input size changes, so every batch has one size as runners require.
    """
    sums = torch.zeros(count, runner.num_classes, dtype=torch.float64)
    seen = torch.zeros(count, dtype=torch.float64)
    owners: list[int] = []
    tensors: list[torch.Tensor] = []

    def flush() -> None:
        batch = torch.stack(tensors)
        start = time.perf_counter()
        probs = runner.posteriors(batch).double()
        if meter is not None:
            meter.record(protocol, batch, time.perf_counter() - start)
        index = torch.tensor(owners)
        sums.index_add_(0, index, probs)
        seen.index_add_(0, index, torch.ones(len(owners), dtype=torch.float64))
        owners.clear()
        tensors.clear()

    for owner, tensor in inputs:
        if tensors and (len(tensors) == batch_size or tensor.shape != tensors[0].shape):
            flush()
        owners.append(owner)
        tensors.append(tensor)
    if tensors:
        flush()
    return (sums / seen[:, None]).float()


def check_scale(images: Sequence[torch.Tensor], needed: int, what: str) -> None:
    small = [tuple(im.shape[-2:]) for im in images if min(im.shape[-2:]) < needed]
    if small:
        h, w = small[0]
        raise InputSizeError(f"{what} needs test scale Q >= {needed}, but an image was rescaled "
                             f"to {h}x{w}: pass scales (--scales) of at least {needed}")


class Single(EvalProtocol):
    name = "single"
    crop_inputs = True
    description = ("centre 224x224 crop of the image rescaled to Q, no flip "
                   "(the torchvision-style baseline)")

    def posteriors(self, runner, images, *, flip, batch_size, meter=None):
        from torchvision.transforms.v2 import functional as F

        size = runner.min_input_size
        check_scale(images, size, "single (centre-crop) evaluation")
        inputs = ((i, F.center_crop(image, [size, size])) for i, image in enumerate(images))
        return averaged_posteriors(runner, inputs, len(images), batch_size=batch_size,
                                   protocol=self.name, meter=meter)


class Dense(EvalProtocol):
    name = "dense"
    description = ("fully-convolutional net over the whole image, score map averaged; "
                   "posteriors of the image and its flip averaged")

    def posteriors(self, runner, images, *, flip, batch_size, meter=None):
        check_scale(images, runner.min_input_size, "dense evaluation")
        # Images of one size are batched together: sort by size, keep owners.
        order = sorted(range(len(images)), key=lambda i: tuple(images[i].shape))

        def inputs() -> Iterator[tuple[int, torch.Tensor]]:
            from torchvision.transforms.v2 import functional as F

            for i in order:
                yield i, images[i]
                if flip:
                    yield i, F.horizontal_flip(images[i])

        return averaged_posteriors(runner, inputs(), len(images), batch_size=batch_size,
                                   protocol=self.name, meter=meter)


class MultiCrop(EvalProtocol):
    name = "multicrop"
    crop_inputs = True
    description = "5x5 grid of 224x224 crops, times 2 flips (50 per scale), posteriors averaged"

    def posteriors(self, runner, images, *, flip, batch_size, meter=None):
        size = runner.min_input_size
        check_scale(images, size, "multi-crop evaluation")
        inputs = ((i, crop) for i, image in enumerate(images)
                  for crop in multi_crops(image, size, flip=flip))
        return averaged_posteriors(runner, inputs, len(images), batch_size=batch_size,
                                   protocol=self.name, meter=meter)


class WeightedAverage(EvalProtocol):
    """A weighted average of other protocols' posteriors (the paper's
    combination of dense and multi-crop evaluation)."""

    def __init__(self, name: str, components: Sequence[str],
                 weights: Sequence[float] | None = None, description: str = "") -> None:
        weights = list(weights) if weights is not None else [1.0] * len(components)
        if len(weights) != len(components) or any(w < 0 for w in weights) or sum(weights) <= 0:
            raise OptionError(f"{name}: need one non-negative weight per component "
                             f"{list(components)}, not all zero; got {weights}")
        self.name = name
        self.components = tuple(components)
        self.weights = [w / sum(weights) for w in weights]
        self.description = description

    def combine(self, parts):
        return sum(w * parts[c] for c, w in zip(self.components, self.weights))


def dense_multicrop(weights: Sequence[float] | None = None) -> WeightedAverage:
    """``dense+multicrop`` with ``weights`` (dense, multicrop); equal by default."""
    return WeightedAverage("dense+multicrop", ("dense", "multicrop"), weights,
                           "weighted average of dense and multicrop posteriors")


@hookimpl
def vggzoo_register_eval_protocols(register: Register) -> None:
    for protocol in (Single(), Dense(), MultiCrop(), dense_multicrop()):
        register(protocol.name, protocol, description=protocol.description)
