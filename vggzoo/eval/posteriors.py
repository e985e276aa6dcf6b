"""Posteriors of images under the test protocols: each base protocol run once
per network and test scale, averaged over scales (multi-scale testing), then
over networks (fusion); combined protocols (``dense+multicrop``) formed from
them."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..errors import VggzooError
from ..data.preprocess import to_input
from ..plugins.registry import EVAL_PROTOCOLS
from .budget import check_protocol_memory
from .network import Network
from .protocols import CostMeter, EvalProtocol, WeightedAverage


def resolve_protocols(names: Sequence[str | EvalProtocol],
                      combination_weights: Sequence[float] | None = None) -> list[EvalProtocol]:
    """Registered protocols by name; ``combination_weights`` re-weights the
    combined ones (e.g. ``dense+multicrop``)."""
    protocols = []
    for name in names:
        protocol = name if isinstance(name, EvalProtocol) else EVAL_PROTOCOLS.get(name).obj
        if combination_weights is not None and isinstance(protocol, WeightedAverage):
            protocol = WeightedAverage(protocol.name, protocol.components, combination_weights,
                                       protocol.description)
        protocols.append(protocol)
    return protocols


def _base_protocols(protocols: Sequence[EvalProtocol]) -> dict[str, EvalProtocol]:
    """The protocols that run the network, each once, for ``protocols``."""
    bases: dict[str, EvalProtocol] = {}
    for protocol in protocols:
        for name in protocol.components or (protocol.name,):
            base = protocol if name == protocol.name else EVAL_PROTOCOLS.get(name).obj
            if base.components:
                raise VggzooError(f"protocol {protocol.name!r} combines {name!r}, which is itself "
                                  f"a combination; combine protocols that run the network")
            bases[name] = base
    return bases


def protocol_posteriors(networks: Sequence[Network], images: Sequence[torch.Tensor],
                        protocols: Sequence[EvalProtocol], *, flip: bool = True,
                        batch_size: int = 32, meters: Sequence[CostMeter] | None = None,
                        what: str = "evaluation",
                        scales_derived: bool = False) -> dict[str, torch.Tensor]:
    """Posteriors (N, K) per protocol for uint8 (3, H, W) images: averaged
    over each network's test scales, then over networks (fusion).

    Raises :class:`~vggzoo.runtime.memory.MemoryEstimateError` before
    rescaling when the images at a network's largest scale would not fit
    in memory (``what`` names the work, ``scales_derived`` says the scales
    come from the recorded training scale; :mod:`vggzoo.eval.budget`)."""
    bases = _base_protocols(protocols)
    check_protocol_memory(networks, [tuple(im.shape[-2:]) for im in images],
                          list(bases.values()), flip=flip, batch_size=batch_size, decoded=True,
                          what=what, derived=scales_derived)
    fused: dict[str, torch.Tensor] = {}
    for index, net in enumerate(networks):
        meter = meters[index] if meters is not None else None
        for scale in net.scales:
            prepare = to_input(net.runner.preprocessing, scale=scale)
            inputs = [prepare(image).as_subclass(torch.Tensor) for image in images]
            for name, base in bases.items():
                probs = base.posteriors(net.runner, inputs, flip=flip, batch_size=batch_size,
                                        meter=meter)
                weight = 1.0 / (len(net.scales) * len(networks))
                fused[name] = fused.get(name, 0) + weight * probs
    return {p.name: fused[p.name] if not p.components else p.combine(fused) for p in protocols}
