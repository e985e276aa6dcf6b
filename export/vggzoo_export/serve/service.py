"""The paper's dense protocol for decoded images, as a Triton model serves it.

A request holds uint8 pixels (H, W, 3) as decoded; the service checks them
against the bounds recorded at export, then runs
:func:`vggzoo.eval.posteriors.protocol_posteriors` (the function ``vggzoo predict``
uses: the same preprocessing, test scales, flips and batching) on a runner
opened with :func:`vggzoo.runtime.open_file`.  The answer therefore equals
``vggzoo predict --protocol dense --onnx FILE`` on the same image file.

The Triton ``python`` backend (:mod:`.backend_model`) and the in-process
side of ``bench/serve_load.py`` both call :class:`DenseService`.

>>> service = DenseService.open("vgg16.onnx", scales=[256, 384, 512])
>>> probs = service.posteriors([pixels])          # (1, K) float32
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from vggzoo.errors import VggzooError

from ..errors import BadImageError

if TYPE_CHECKING:
    from vggzoo.eval.network import Network

#: Largest image height or width a repository accepts unless told otherwise.
DEFAULT_MAX_SIDE = 2048


@dataclass
class DenseService:
    """Posteriors of the dense protocol at fixed test scales, with flips."""

    network: "Network"
    flip: bool = True
    max_side: int = DEFAULT_MAX_SIDE
    batch_size: int = 32

    @classmethod
    def open(cls, model_file: str | os.PathLike, *, scales: Sequence[int], flip: bool = True,
             max_side: int = DEFAULT_MAX_SIDE, batch_size: int = 32,
             backend: str | None = None, **runner_options) -> "DenseService":
        from vggzoo.eval.network import network_of
        from vggzoo.runtime.files import open_file

        network = network_of(open_file(model_file, backend=backend, **runner_options))
        network.scales = [int(q) for q in scales]
        return cls(network, flip=flip, max_side=int(max_side), batch_size=int(batch_size))

    @property
    def num_classes(self) -> int:
        return self.network.runner.num_classes

    def check(self, pixels: np.ndarray) -> list[np.ndarray]:
        """The images of one request: (H, W, 3) or (N, H, W, 3) uint8 within
        the bounds, else :class:`BadImageError` naming the problem; and
        within the memory the server may use (:meth:`check_memory`)."""
        if pixels.dtype != np.uint8:
            raise BadImageError(f"image must be uint8 pixels, got {pixels.dtype}")
        if pixels.ndim == 3:
            pixels = pixels[None]
        if pixels.ndim != 4 or pixels.shape[-1] != 3:
            raise BadImageError(f"image must be (H, W, 3) RGB pixels per request item, got "
                                f"shape {tuple(pixels.shape)}")
        n, h, w = pixels.shape[:3]
        if n == 0 or h == 0 or w == 0:
            raise BadImageError(f"image is empty (shape {tuple(pixels.shape)}): send decoded "
                                f"pixels with height and width of at least 1")
        if max(h, w) > self.max_side:
            raise BadImageError(f"image is {h}x{w} but this model takes at most {self.max_side} "
                                f"pixels a side (bound recorded at export): downscale it")
        largest = max(self.network.scales)
        rescaled = round(largest * max(h, w) / min(h, w))
        if rescaled > self.max_side:
            raise BadImageError(f"image is {h}x{w}: at test scale {largest} it becomes "
                                f"{largest}x{rescaled}, over the {self.max_side}-pixel bound; "
                                f"crop it to a less extreme aspect ratio")
        self.check_memory(n, h, w)
        return list(pixels)

    def check_memory(self, count: int, height: int, width: int) -> None:
        """Refuse (:class:`~vggzoo.errors.MemoryEstimateError`) a request of
        ``count`` images of ``height`` x ``width`` whose dense protocol would
        not fit in what the server process may use, before anything is
        allocated for it: the request gets the error, the server stays up."""
        from vggzoo.errors import MemoryEstimateError
        from vggzoo.eval.budget import protocol_bytes, rescaled
        from vggzoo.eval.posteriors import resolve_protocols
        from vggzoo.runtime.memory import format_bytes, largest_fitting, memory_limit

        top, dense = max(self.network.scales), resolve_protocols(["dense"])

        def bytes_for(images: int) -> int:
            return protocol_bytes(self.network, [(height, width)] * images, top, dense,
                                  flip=self.flip, batch_size=self.batch_size, decoded=True)

        need, limit = bytes_for(count), memory_limit()
        if need <= limit.bytes:
            return
        fits = largest_fitting(bytes_for, count, limit.bytes)
        advice = (f"send at most {fits} image(s) of this size per request" if fits else
                  "not even one such image fits (the dense protocol rescales the short side "
                  "to the test scale, so only a less elongated image needs less): give the "
                  "server more memory or serve smaller test scales")
        big = rescaled((height, width), top)
        raise MemoryEstimateError(
            f"a request of {count} image(s) of {height}x{width} needs about "
            f"{format_bytes(need)} for the dense protocol at test scale {top} (rescaled to "
            f"{big[0]}x{big[1]}, batches of up to {self.batch_size}) but the server process "
            f"may use {format_bytes(limit.bytes)} ({limit.source}): {advice}")

    def posteriors(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """(N, K) float32 posteriors of N (H, W, 3) uint8 images."""
        import torch

        from vggzoo.eval.posteriors import protocol_posteriors, resolve_protocols

        tensors = [torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1) for im in images]
        probs = protocol_posteriors([self.network], tensors, resolve_protocols(["dense"]),
                                    flip=self.flip, batch_size=self.batch_size,
                                    what="serving")["dense"]
        if not torch.isfinite(probs).all():
            raise VggzooError("the network gave non-finite posteriors: the weights hold NaN/inf "
                              "values or overflowed; check the exported file")
        return probs.numpy().astype(np.float32)
