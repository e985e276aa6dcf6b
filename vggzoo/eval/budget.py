"""The memory of the test protocols, estimated before they allocate.

:func:`vggzoo.eval.posteriors.protocol_posteriors` rescales a chunk of images to each
test scale Q (all of them held at once, as float32) and runs each base
protocol on them: ``dense`` feeds the whole rescaled image and its flip
to the network, crop protocols (``single``, ``multicrop``) feed
``min_input_size`` crops.  :func:`check_protocol_memory` adds these to the
network's forward pass (:func:`vggzoo.runtime.memory.forward_bytes`) for the
largest scale of every network and refuses, in one line naming the largest
scale that fits, what would not fit (:mod:`vggzoo.runtime.memory`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..runtime.memory import FLOAT_BYTES, forward_bytes, network_shape, require_fits
from .network import Network
from .protocols import EvalProtocol

Size = tuple[int, int]


def network_protocols(protocols: Sequence[EvalProtocol]) -> list[EvalProtocol]:
    """The protocols that run the network for ``protocols`` (a combination
    such as ``dense+multicrop`` runs its components)."""
    from ..plugins.registry import EVAL_PROTOCOLS

    return [EVAL_PROTOCOLS.get(c).obj if c != p.name else p
            for p in protocols for c in (p.components or (p.name,))]


def rescaled(size: Size, scale: int) -> Size:
    """(height, width) of a ``size`` image whose shortest side is rescaled
    to ``scale`` (torchvision's ``Resize(int)``: the long side is
    ``int(scale * long / short)``)."""
    h, w = size
    short, long = min(h, w), max(h, w)
    other = max(1, int(scale * long / short))
    return (scale, other) if h <= w else (other, scale)


def protocol_bytes(net: Network, sizes: Sequence[Size], scale: int,
                   protocols: Sequence[EvalProtocol], *, flip: bool, batch_size: int,
                   decoded: bool) -> int:
    """Peak bytes of the base ``protocols`` on images of ``sizes`` at
    ``scale``: the rescaled chunk (and, unless ``decoded``, the uint8
    images themselves) plus the largest network pass."""
    shape = network_shape(net.runner)
    inputs = [rescaled(s, scale) for s in sizes]
    held = sum(3 * h * w for h, w in inputs) * FLOAT_BYTES
    if not decoded:
        held += sum(3 * h * w for h, w in sizes)
    views = 2 if flip else 1
    crop = net.runner.min_input_size
    passes = [forward_bytes(shape, crop, crop, batch=batch_size) if p.crop_inputs
              else forward_bytes(shape, *max(inputs, key=lambda s: s[0] * s[1]),
                                 batch=min(batch_size, views * len(inputs)))
              for p in protocols]
    return held + max(passes)


def check_protocol_memory(networks: Sequence[Network], sizes: Sequence[Size],
                          protocols: Sequence[EvalProtocol], *, flip: bool, batch_size: int,
                          decoded: bool, what: str, derived: bool = False) -> None:
    """Refuse (:class:`~vggzoo.runtime.memory.MemoryEstimateError`) before
    allocating when ``protocols`` on images of ``sizes`` at a network's
    largest test scale would not fit in memory; ``derived``: the scales
    come from the training scale the weights record (the message says so)."""
    if not sizes:
        return
    for net in networks:
        if not net.scales:
            continue
        top = max(net.scales)

        def bytes_at(q: int, net: Network = net) -> int:
            return protocol_bytes(net, sizes, q, protocols, flip=flip, batch_size=batch_size,
                                  decoded=decoded)

        big = max(sizes, key=lambda s: s[0] * s[1])
        largest = rescaled(max(sizes, key=lambda s: max(s) / min(s)), top)
        source = (f" (from the training scale S={net.train_scale} that "
                  f"{net.weights or net.label} records)" if derived and net.train_scale else "")
        require_fits(f"{what} at test scale {top}{source} ({len(sizes)} image(s) up to "
                     f"{big[0]}x{big[1]}, rescaled up to {largest[0]}x{largest[1]}, "
                     f"batch {batch_size})",
                     bytes_at, top, option="--scales", lowest=net.runner.min_input_size,
                     fix="or a smaller --batch-size")
