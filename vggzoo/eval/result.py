"""What an evaluation reports: :class:`EvalResult`, one per protocol, and
its reduction over the ``torchrun`` processes (integer counts summed, so
the errors equal a single process's exactly)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import VggzooError
from .cost import total_macs
from .data import SkippedImage
from .distributed import Shard
from .metrics import TOP_K, ErrorCounts
from .network import Network
from .protocols import CostMeter, EvalProtocol


@dataclass
class EvalResult:
    """Top-1/top-5 error (%) of one protocol, with its cost.

    Non-finite posteriors (NaN, inf) count as wrong at every k and are
    counted in ``nonfinite``; a network whose outputs are all non-finite is
    an error, never a result.

    ``seconds_per_image`` is time inside the runners (summed over processes),
    so it compares protocols and backends; ``wall_seconds`` is the whole run,
    reading and resizing included.  ``macs_per_image`` counts every network
    input (flips, crops, scales, fused networks); ``None`` when a runner's
    architecture is unknown.
    """

    protocol: str
    models: list[str]
    configs: list[str | None]
    weights: list[str | None]
    train_scales: list[str | None]
    scales: list[list[int]]
    flip: bool
    backend: str
    images: int
    top1_err: float
    top5_err: float
    skipped: list[SkippedImage]
    seconds_per_image: float
    wall_seconds: float
    macs_per_image: float | None
    processes: int = 1
    #: Images whose posteriors held a NaN or infinity (each counted as wrong).
    nonfinite: int = 0
    #: What the output must say about how the result was obtained (clamped scales).
    notes: list[str] = field(default_factory=list)

    @property
    def gflops_per_image(self) -> float | None:
        """FLOPs (2 per MAC) per image, in billions."""
        return None if self.macs_per_image is None else 2 * self.macs_per_image / 1e9

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["gflops_per_image"] = self.gflops_per_image
        return data


def reduce_results(chosen: Sequence[EvalProtocol], networks: Sequence[Network],
             counts: Mapping[str, ErrorCounts], meters: Sequence[CostMeter],
             skipped: list[SkippedImage], shard: Shard, flip: bool,
             wall: float) -> list[EvalResult]:
    """One :class:`EvalResult` per protocol from this process's counts and
    costs, summed over all processes."""
    results = []
    all_skipped = shard.gather(skipped)
    wall = shard.max(wall)
    for protocol in chosen:
        parts = protocol.components or (protocol.name,)
        macs: int | None = 0
        seconds = 0.0
        for net, meter in zip(networks, meters):
            seconds += sum(meter.seconds.get(p, 0.0) for p in parts)
            if net.macs is None or macs is None:
                macs = None
            else:
                macs += sum(total_macs(meter.inputs.get(p, {}), net.macs) for p in parts)
        c = counts[protocol.name]
        summed = shard.sum_ints([c.images, c.nonfinite, *(c.correct[k] for k in TOP_K),
                                 -1 if macs is None else macs])
        seconds = shard.sum_floats([seconds])[0]
        total = ErrorCounts(summed[0], dict(zip(TOP_K, summed[2:-1])), summed[1])
        if total.images == 0:
            raise VggzooError(f"no image could be read ({len(all_skipped)} skipped, e.g. "
                              f"{all_skipped[0].path}: {all_skipped[0].reason}); check the data")
        if total.nonfinite == total.images:
            labels = ", ".join(n.weights or n.label for n in networks)
            raise VggzooError(f"every one of the {total.images} images gave non-finite outputs "
                              f"(NaN or inf) with protocol {protocol.name!r}: the network is "
                              f"broken, not accurate ({labels} on {networks[0].runner.name}); "
                              f"check for a diverged training run or a corrupted weights or "
                              f"exported file")
        results.append(EvalResult(
            protocol=protocol.name, models=[n.label for n in networks],
            configs=[n.config for n in networks], weights=[n.weights for n in networks],
            train_scales=[None if n.train_scale is None else str(n.train_scale) for n in networks],
            scales=[list(n.scales) for n in networks], flip=flip,
            backend=networks[0].runner.name, images=total.images,
            top1_err=total.error(1), top5_err=total.error(5), skipped=all_skipped,
            seconds_per_image=seconds / total.images, wall_seconds=wall,
            macs_per_image=None if macs is None else summed[-1] / total.images,
            processes=shard.world_size, nonfinite=total.nonfinite,
            notes=list(dict.fromkeys(n.scale_note for n in networks if n.scale_note))))
    return results
