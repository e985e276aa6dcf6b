"""One pass over the test images: each process reads its shard in chunks,
runs every network, scale and protocol on each chunk and counts errors;
the counts are reduced into one :class:`EvalResult` per protocol."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence

import torch

from ..errors import VggzooError
from ..progress import Progress, as_progress, no_progress
from .data import ImageSet, SkippedImage, find_images, read_images
from .distributed import current_shard
from .metrics import ErrorCounts
from .budget import check_protocol_memory, network_protocols
from .network import Network
from .posteriors import protocol_posteriors, resolve_protocols
from .protocols import CostMeter, EvalProtocol
from .result import EvalResult, reduce_results
from ..data.scales import choose_test_scales

#: Images decoded and pushed through every network and scale at a time.
DEFAULT_CHUNK = 32


def evaluate_protocols(networks: Sequence[Network], data: str | os.PathLike | ImageSet,
                       protocols: Sequence[str | EvalProtocol], *,
                       scales: str | Sequence[int] | None = None, multi_scale: bool = False,
                       flip: bool = True, batch_size: int = 32, chunk_size: int = DEFAULT_CHUNK,
                       combination_weights: Sequence[float] | None = None,
                       progress: Progress | bool | None = None) -> list[EvalResult]:
    """One :class:`EvalResult` per protocol, all from one pass over the data.

    ``progress(images done, images)`` follows the first process's shard of
    the images, read or skipped (:mod:`vggzoo.progress`); other processes
    report nothing."""
    start = time.perf_counter()
    report = as_progress(progress)
    if not networks:
        raise VggzooError("nothing to evaluate: give at least one network (model and weights)")
    chosen = resolve_protocols(protocols, combination_weights)
    _check_fusable(networks)
    for net in networks:
        chosen_scales = choose_test_scales(scales, net.train_scale, multi_scale=multi_scale,
                                           min_scale=net.runner.min_input_size)
        net.scales, net.scale_note = chosen_scales.scales, chosen_scales.note
    images = data if isinstance(data, ImageSet) else find_images(data)
    for net in networks:
        check_classes(images, net)
    # Before any image is read: one square image at the largest scale.
    check_protocol_memory(networks, [(net.runner.min_input_size,) * 2], network_protocols(chosen),
                          flip=flip, batch_size=batch_size, decoded=False, what="evaluation",
                          derived=scales is None)
    shard = current_shard()
    counts = {p.name: ErrorCounts() for p in chosen}
    meters = [CostMeter() for _ in networks]
    skipped: list[SkippedImage] = []
    items = images.shard(shard.rank, shard.world_size)
    if shard.rank != 0:
        report = no_progress
    report(0, len(items))
    read = 0
    for chunk, labels in read_images(items, chunk_size, skipped):
        posteriors = protocol_posteriors(networks, chunk, chosen, flip=flip,
                                         batch_size=batch_size, meters=meters,
                                         scales_derived=scales is None)
        target = torch.tensor(labels)
        for name, probs in posteriors.items():
            counts[name].update(probs, target)
        read += len(chunk)
        report(read + len(skipped), len(items))
    return reduce_results(chosen, networks, counts, meters, skipped, shard, flip,
                          time.perf_counter() - start)


#: ILSVRC's class folders: WordNet ids, whose sorted order is the standard
#: label order of 1000-class weights that name their classes in words.
WORDNET_ID = re.compile(r"n\d{8}")


def check_classes(images: ImageSet, net: Network) -> None:
    """Labels are folder positions: the data must have the network's class
    count and, when the weights name their classes, those names in that
    order (a 1000-class model's names in words against WordNet-id folders,
    ILSVRC's layout, are the one accepted renaming)."""
    folders, count = images.classes, net.runner.num_classes
    who = net.weights or net.label
    if len(folders) != count:
        raise VggzooError(f"{images.root} has {len(folders)} class folders but {net.label} "
                          f"predicts {count} classes: every label would be wrong; evaluate a "
                          f"checkpoint trained on these classes (or fix num_classes)")
    names = list(getattr(net.runner, "classes", None) or [])
    if not names or names == folders:
        return
    if count == 1000 and all(WORDNET_ID.fullmatch(f) for f in folders):
        return
    wrong = next(i for i, (a, b) in enumerate(zip(folders, names)) if a != b)
    raise VggzooError(f"the class folders of {images.root} are not the classes of {who}: label "
                      f"{wrong} is folder {folders[wrong]!r} but the weights' class "
                      f"{names[wrong]!r} ({len(set(folders) - set(names))} folder(s) the weights "
                      f"do not name); evaluate on data with the weights' class folders")


def _check_fusable(networks: Sequence[Network]) -> None:
    """Fused networks average their posteriors class by class: they must
    predict the same classes, in the same order, where their weights record
    the names (and the same number of classes in any case)."""
    first = networks[0]
    for other in networks[1:]:
        if other.runner.num_classes != first.runner.num_classes:
            raise VggzooError(
                f"cannot fuse {other.weights or other.label} ({other.runner.num_classes} classes) "
                f"with {first.weights or first.label} ({first.runner.num_classes} classes): fused "
                f"networks must predict the same classes; fuse networks trained on the same data")
        names, theirs = first.runner.classes, other.runner.classes
        if names and theirs and list(names) != list(theirs):
            index = next(i for i, (a, b) in enumerate(zip(names, theirs)) if a != b)
            raise VggzooError(
                f"cannot fuse {other.weights or other.label} with {first.weights or first.label}: "
                f"their class names differ (class {index} is {theirs[index]!r} in one and "
                f"{names[index]!r} in the other), so averaging by index would mix classes; "
                f"fuse networks trained on the same classes in the same order")
