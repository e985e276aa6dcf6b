"""``vggzoo.evaluate``: test protocols x scales x models over an image folder.

For each chunk of images, each network and each test scale Q, the base
protocols needed (``dense``, ``multicrop``, ...) run once; posteriors are
averaged over scales (multi-scale testing), then over networks (fusion), and
combined protocols (``dense+multicrop``) are formed from them.  Under
``torchrun`` every process takes its shard of the images and the integer
counts are summed with ``all_reduce``, so the errors equal a single
process's exactly.

>>> r = vggzoo.evaluate("vgg16", "vgg16_jitter.safetensors", "imagenet",
...                     protocol="dense", multi_scale=True)
>>> r.top1_err, r.top5_err, r.images, r.gflops_per_image
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from ..errors import VggzooError, WeightsError
from ..preprocess import to_input
from ..registry import EVAL_PROTOCOLS, MODELS
from ..runtime.base import Runner, create_runner
from ..runtime.base import runner_options as runner_options_of
from .cost import MacsPerInput, runner_macs_counter, total_macs
from .data import ImageSet, SkippedImage, find_images, read_images
from .distributed import Shard, current_shard
from .metrics import TOP_K, ErrorCounts
from .protocols import CostMeter, EvalProtocol, WeightedAverage
from ..weights import WeightsFacts, read_facts
from .scales import TrainScale, resolve_scales

#: Images decoded and pushed through every network and scale at a time.
DEFAULT_CHUNK = 32


@dataclass
class Network:
    """One network under evaluation: its runner and what we know about it."""

    runner: Runner
    model: str | None = None
    config: str | None = None
    weights: str | None = None
    train_scale: TrainScale | None = None
    scales: list[int] = field(default_factory=list)
    macs: MacsPerInput | None = None
    #: Why :attr:`scales` differ from the paper's rule (clamped to the minimum input).
    scale_note: str | None = None

    @property
    def label(self) -> str:
        return self.model or self.runner.name


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


def load_network(model: str | None, weights: str | os.PathLike | None = None, *,
                 backend: str = "torch", width_mult: float | None = None,
                 num_classes: int | None = None, train_scale: str | None = None,
                 **runner_options: Any) -> Network:
    """Build the runner for ``model``/``weights`` on ``backend``.

    ``weights`` is a file, a run directory or named weights
    (``vgg16.tv_in1k``; ``"torchvision"`` with ``model``).  What the weights
    record (``model``, ``width_mult``, ``num_classes``, ``train_scale``, see
    :func:`vggzoo.weights.read_facts`) fills what is not given; a value given
    that contradicts them is an error rather than a silent mismatch.
    """
    if weights == "torchvision":
        if model is None:
            raise WeightsError("weights='torchvision' needs the model name (--model vgg16)")
        weights = f"{MODELS.get(model).name}.tv_in1k"
    facts = read_facts(weights) if weights is not None else WeightsFacts("no weights")
    model = facts.agree("model", model)
    accepted = runner_options_of(backend)  # None: a factory that checks its own options
    if (accepted is not None and "model" not in accepted) or (
            accepted is None and model is None and weights is None):
        # An exported file (--onnx, --engine) holds its own weights and says
        # which architecture it is: what was given must agree with it.
        if weights is not None:
            raise WeightsError(f"--weights is for the torch backend; the {backend} backend runs "
                               f"an exported file that carries its own weights: drop --weights")
        network = network_of(create_runner(backend, **runner_options), train_scale)
        _agree_with_file(network.runner, model=model, width_mult=width_mult,
                         num_classes=num_classes)
        return network
    if model is None:
        where = f"{weights} has no 'model' metadata" if weights else "no weights were given"
        raise WeightsError(f"which architecture? {where}: pass the model name (--model vgg16)")
    model = MODELS.get(model).name
    width_mult = facts.agree("width_mult", width_mult)
    num_classes = facts.agree("num_classes", num_classes)
    runner = create_runner(backend, model=model, weights=weights, width_mult=width_mult,
                           num_classes=num_classes, **runner_options)
    scale = train_scale or facts.train_scale
    return Network(runner, model=model, config=MODELS.get(model).info.get("config"),
                   weights=None if weights is None else str(weights),
                   train_scale=TrainScale.parse(scale) if scale else None,
                   macs=runner_macs_counter(runner))


def _agree_with_file(runner: Runner, **given: Any) -> None:
    """Refuse a model, width or class count that contradicts the exported file."""
    recorded = runner.architecture or {}
    for key, value in given.items():
        if value is None:
            continue
        if key == "model":
            key, value = "name", MODELS.get(value).name
        if key not in recorded:
            raise WeightsError(f"the exported file does not record its {key}, so {value!r} cannot "
                               f"be checked: drop the option (the file decides)")
        if (float(recorded[key]) != float(value) if key == "width_mult"
                else recorded[key] != value):
            raise WeightsError(f"the exported file holds {key}={recorded[key]!r}, not {value!r}: "
                               f"drop the option or pass the file exported for {value!r}")


def network_of(runner: Runner, train_scale: str | None = None) -> Network:
    """Wrap a ready runner (any backend) for evaluation."""
    cfg = getattr(getattr(runner, "model", None), "pretrained_cfg", None) or {}
    name = (runner.architecture or {}).get("name")
    train_scale = train_scale or runner.train_scale
    return Network(runner, model=name,
                   config=MODELS.get(name).info.get("config") if name else None,
                   weights=cfg.get("weights"),
                   train_scale=TrainScale.parse(train_scale) if train_scale else None,
                   macs=runner_macs_counter(runner))


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


def predict(networks: Sequence[Network], images: Sequence[torch.Tensor],
            protocols: Sequence[EvalProtocol], *, flip: bool = True, batch_size: int = 32,
            meters: Sequence[CostMeter] | None = None) -> dict[str, torch.Tensor]:
    """Posteriors (N, K) per protocol for uint8 (3, H, W) images: averaged
    over each network's test scales, then over networks (fusion)."""
    bases = _base_protocols(protocols)
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


def evaluate_protocols(networks: Sequence[Network], data: str | os.PathLike | ImageSet,
                       protocols: Sequence[str | EvalProtocol], *,
                       scales: str | Sequence[int] | None = None, multi_scale: bool = False,
                       flip: bool = True, batch_size: int = 32, chunk_size: int = DEFAULT_CHUNK,
                       combination_weights: Sequence[float] | None = None,
                       progress: bool = False) -> list[EvalResult]:
    """One :class:`EvalResult` per protocol, all from one pass over the data."""
    start = time.perf_counter()
    if not networks:
        raise VggzooError("nothing to evaluate: give at least one network (model and weights)")
    chosen = resolve_protocols(protocols, combination_weights)
    _check_fusable(networks)
    for net in networks:
        smallest = net.runner.min_input_size
        net.scales = resolve_scales(scales, net.train_scale, multi_scale=multi_scale,
                                    source=net.weights or net.label, min_scale=smallest)
        net.scale_note = (net.train_scale.clamp_note(multi_scale=multi_scale, min_scale=smallest)
                          if scales is None and net.train_scale is not None else None)
    images = data if isinstance(data, ImageSet) else find_images(data)
    for net in networks:
        if len(images.classes) > net.runner.num_classes:
            raise VggzooError(f"{images.root} has {len(images.classes)} class folders but "
                              f"{net.label} predicts {net.runner.num_classes} classes: evaluate "
                              f"a checkpoint trained on these classes (or fix num_classes)")
    shard = current_shard()
    counts = {p.name: ErrorCounts() for p in chosen}
    meters = [CostMeter() for _ in networks]
    skipped: list[SkippedImage] = []
    items = images.shard(shard.rank, shard.world_size)
    with _progress(len(items), progress and shard.rank == 0) as advance:
        read = 0
        for chunk, labels in read_images(items, chunk_size, skipped):
            posteriors = predict(networks, chunk, chosen, flip=flip, batch_size=batch_size,
                                 meters=meters)
            target = torch.tensor(labels)
            for name, probs in posteriors.items():
                counts[name].update(probs, target)
            read += len(chunk)
            advance(read + len(skipped))
    return _results(chosen, networks, counts, meters, skipped, shard, flip,
                    time.perf_counter() - start)


def _check_fusable(networks: Sequence[Network]) -> None:
    """Fused networks average their posteriors class by class: they must
    predict the same number of classes."""
    first = networks[0]
    for other in networks[1:]:
        if other.runner.num_classes != first.runner.num_classes:
            raise VggzooError(
                f"cannot fuse {other.weights or other.label} ({other.runner.num_classes} classes) "
                f"with {first.weights or first.label} ({first.runner.num_classes} classes): fused "
                f"networks must predict the same classes; fuse networks trained on the same data")


def _results(chosen: Sequence[EvalProtocol], networks: Sequence[Network],
             counts: Mapping[str, ErrorCounts], meters: Sequence[CostMeter],
             skipped: list[SkippedImage], shard: Shard, flip: bool,
             wall: float) -> list[EvalResult]:
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


class _progress:
    """A rich progress bar over images (read or skipped), or nothing
    (non-zero ranks, tests); yields ``advance(completed)``."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled = total, enabled

    def __enter__(self):
        if not self.enabled:
            return lambda completed: None
        from rich.progress import Progress

        from ..cli.output import get_console

        self._bar = Progress(console=get_console(stderr=True), transient=False)
        self._bar.start()
        task = self._bar.add_task("evaluating", total=self.total)

        return lambda completed: self._bar.update(task, completed=completed)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._bar.stop()


def evaluate(model: str | None = None, weights: str | os.PathLike | None = None,
             data: str | os.PathLike | None = None, *, protocol: str = "dense",
             scales: str | Sequence[int] | None = None, multi_scale: bool = False,
             train_scale: str | None = None, flip: bool = True, batch_size: int = 32,
             backend: str = "torch", fuse: Sequence[str | os.PathLike] = (),
             runner: Runner | Sequence[Runner] | None = None, width_mult: float | None = None,
             num_classes: int | None = None,
             combination_weights: Sequence[float] | None = None, progress: bool = False,
             **runner_options: Any) -> EvalResult:
    """Evaluate one protocol on the labelled images of ``data``.

    The network is ``model`` with ``weights`` on ``backend`` (or ready
    ``runner`` objects); ``fuse`` adds more weights files whose posteriors are
    averaged with it (ConvNet fusion).  Scales are ``scales`` or derived from
    the training scale (weights metadata or ``train_scale``), three of them
    with ``multi_scale``.

    >>> r = evaluate("vgg16", "vgg16.safetensors", "val", protocol="dense+multicrop",
    ...              scales="256,384,512")
    >>> print(f"{r.top1_err:.1f} / {r.top5_err:.1f}")
    """
    if data is None:
        raise VggzooError("evaluate needs data=: a folder of class sub-folders of test images")
    if runner is not None:
        runners = [runner] if isinstance(runner, Runner) else list(runner)
        networks = [network_of(r, train_scale) for r in runners]
    else:
        networks = [load_network(model, weights, backend=backend, width_mult=width_mult,
                                 num_classes=num_classes, train_scale=train_scale,
                                 **runner_options)]
    for extra in fuse:
        # Fused checkpoints name their own architecture in their metadata;
        # without it they are taken to be the same model as the first.
        if read_facts(extra).model:
            networks.append(load_network(None, extra, backend=backend, train_scale=train_scale,
                                         **runner_options))
        else:
            networks.append(load_network(networks[0].model, extra, backend=backend,
                                         width_mult=width_mult, num_classes=num_classes,
                                         train_scale=train_scale, **runner_options))
    return evaluate_protocols(networks, data, [protocol], scales=scales, multi_scale=multi_scale,
                              flip=flip, batch_size=batch_size,
                              combination_weights=combination_weights, progress=progress)[0]
