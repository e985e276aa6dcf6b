"""``vggzoo.predict``: what is in these photos?

The paper's test protocols (``dense``, ``multicrop``, ``single``, their
combination, or a plugin's) at one or more test scales, on any runner
backend, over images named by path, folder (walked) or glob.  Unreadable
files are listed and skipped, never fatal.  Images are read in chunks
sorted by size, so images of one size share network batches.  The result is
plain data (dataclasses with ``as_dict``), ready for JSON or CSV; printing
belongs to the CLI.

>>> result = vggzoo.predict(["photos/"], weights="vgg16.tv_in1k", protocol="dense")
>>> best = result.predictions[0].top[0]      # ClassScore(index, name, probability)
>>> result.skipped                            # [SkippedImage(path, reason), ...]
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import VggzooError
from .data import READ_ERRORS, SkippedImage, read_image
from .network import Network, load_network, network_of
from .posteriors import protocol_posteriors, resolve_protocols
from ..data.scales import choose_test_scales
from .budget import check_protocol_memory, network_protocols
from ..progress import Progress
from ..runtime.base import Runner

#: Images decoded and pushed through the network at a time.
DEFAULT_CHUNK = 32
GLOB_CHARACTERS = set("*?[")


@dataclass(frozen=True)
class ClassScore:
    """One of an image's top-k classes."""

    index: int
    name: str
    probability: float


@dataclass(frozen=True)
class ImagePrediction:
    """The top-k classes of one image."""

    path: str
    #: (height, width) of the image as read.
    size: tuple[int, int]
    top: list[ClassScore]


@dataclass
class PredictResult:
    """Predictions in input order, what was skipped, and how they were made."""

    predictions: list[ImagePrediction]
    skipped: list[SkippedImage]
    model: str | None
    weights: str | None
    backend: str
    protocol: str
    scales: list[int]
    flip: bool
    #: Where the class names come from: ``weights``, ``imagenet`` (a
    #: 1000-class model recording no names) or ``indices`` (no names known).
    class_names: str
    topk: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per (image, rank): what a CSV file holds."""
        return [{"path": p.path, "rank": rank, "index": s.index, "class": s.name,
                 "probability": s.probability}
                for p in self.predictions for rank, s in enumerate(p.top, start=1)]


def find_inputs(paths: Sequence[str | os.PathLike]) -> tuple[list[Path], list[SkippedImage]]:
    """Files named by ``paths`` (files, folders walked, globs), in order and
    without repeats, and the names that gave nothing."""
    from ..data.images import walk_images

    found: list[Path] = []
    missing: list[SkippedImage] = []
    for item in paths:
        text = str(item)
        path = Path(text)
        if path.is_dir():
            images, others = walk_images(path, hidden=False)
            found += images + _by_extension(others, missing)
        elif path.is_file():
            found += _by_extension([path], missing)
        elif GLOB_CHARACTERS & set(text):
            matched = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
            if matched:
                found += _by_extension(matched, missing)
            else:
                missing.append(SkippedImage(text, "the pattern matches no file"))
        else:
            missing.append(SkippedImage(text, "no such file or folder"))
    unique = list(dict.fromkeys(found))
    return unique, missing


def _by_extension(paths: Sequence[Path], skipped: list[SkippedImage]) -> list[Path]:
    """The image files of ``paths`` by the one extension rule of folders
    (:func:`vggzoo.data.images.is_image_file`), the others added to
    ``skipped``: a GIF named on the command line is skipped like one in a
    folder."""
    from ..data.images import IMAGE_EXTENSIONS, is_image_file

    kept = [p for p in paths if is_image_file(p.name)]
    skipped += [SkippedImage(str(p), f"not an image file by its extension (vggzoo reads "
                                     f"{', '.join(IMAGE_EXTENSIONS)})")
                for p in paths if not is_image_file(p.name)]
    return kept


def image_size(path: Path) -> tuple[int, int]:
    """(height, width) from the file header, without decoding the pixels;
    an image over the decoded-size bound is refused here
    (:func:`vggzoo.data.images.header_size`)."""
    from ..data.images import header_size

    return header_size(path)


def predict(paths: str | os.PathLike | Sequence[str | os.PathLike], *,
            weights: str | os.PathLike | None = None, model: str | None = None,
            backend: str = "torch", runner: Runner | None = None, protocol: str = "dense",
            scales: str | Sequence[int] | None = None, multi_scale: bool = False,
            flip: bool = True, topk: int = 5, batch_size: int = 32,
            chunk_size: int = DEFAULT_CHUNK,
            progress: Progress | None = None,
            **runner_options: Any) -> PredictResult:
    """Top-``topk`` classes of every image under ``paths``.

    The network is ``weights`` (a file, run directory or named weights such
    as ``vgg16.tv_in1k``; its recorded facts give the architecture, classes
    and preprocessing) on ``backend`` with ``runner_options`` (``onnx=``,
    ``engine=``, ``package=``, ``device=``), or a ready ``runner``.  Test
    scales follow evaluation's rule (:func:`vggzoo.data.scales.choose_test_scales`):
    ``scales``, else derived from the weights' training scale (three with
    ``multi_scale``, none below the network's minimum input), else from S=256.  ``progress(done, total)`` is
    called after each chunk of images (:mod:`vggzoo.progress`).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if topk < 1:
        raise VggzooError(f"topk must be at least 1, got {topk}")
    chosen = resolve_protocols([protocol])
    files, skipped = find_inputs(paths)
    network = (network_of(runner) if runner is not None
               else load_network(model, weights, backend=backend, **runner_options))
    network.scales = _scales(network, scales, multi_scale)
    names, source = _class_names(network.runner)
    sized = _sized(files, skipped)
    if not sized:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:3]) or "no paths given"
        raise VggzooError(f"no image to predict ({reasons}); pass image files, folders of "
                          f"images or globs such as 'photos/*.jpg'")
    for start in range(0, len(sized), chunk_size):  # before any image is decoded
        check_protocol_memory([network], [size for size, _, _ in sized[start:start + chunk_size]],
                              network_protocols(chosen), flip=flip, batch_size=batch_size,
                              decoded=False, what="predict", derived=scales is None)
    results: dict[int, ImagePrediction] = {}
    total, done = len(sized), 0
    for start in range(0, total, chunk_size):
        chunk = sized[start:start + chunk_size]
        results.update(_predict_chunk(network, chunk, chosen, names, skipped, topk=topk,
                                      flip=flip, batch_size=batch_size,
                                      scales_derived=scales is None))
        done += len(chunk)
        if progress is not None:
            progress(done, total)
    if not results:
        raise VggzooError(f"no image could be read ({len(skipped)} skipped, e.g. "
                          f"{skipped[0].path}: {skipped[0].reason})")
    return PredictResult(
        predictions=[results[k] for k in sorted(results)], skipped=skipped,
        model=network.model, weights=network.weights, backend=network.runner.name,
        protocol=chosen[0].name, scales=list(network.scales), flip=flip, class_names=source,
        topk=topk)


def _predict_chunk(network: Any, chunk: Sequence[tuple[Any, int, Any]], chosen: Sequence[Any],
                   names: Sequence[str] | None, skipped: list[SkippedImage], *, topk: int,
                   flip: bool, batch_size: int, scales_derived: bool) -> dict[int, ImagePrediction]:
    """Decode one chunk of ``(size, order, path)`` and predict it: its predictions by
    order; images that cannot be read are appended to ``skipped``."""
    images, owners = [], []
    for _, order, path in chunk:
        try:
            images.append(read_image(path))
            owners.append((order, path))
        except READ_ERRORS as exc:
            skipped.append(SkippedImage(str(path), f"{type(exc).__name__}: {exc}"))
    if not images:
        return {}
    probs = protocol_posteriors([network], images, chosen, flip=flip,
                                batch_size=batch_size, what="predict",
                                scales_derived=scales_derived)[chosen[0].name]
    if not torch.isfinite(probs).all():
        raise VggzooError(f"the network gave non-finite posteriors for "
                          f"{owners[0][1]} (and its chunk): the weights hold NaN/inf "
                          f"values or overflowed; check the weights file")
    values, indices = probs.topk(min(topk, probs.shape[1]), dim=1)
    return {order: ImagePrediction(
                str(path), (int(image.shape[-2]), int(image.shape[-1])),
                [ClassScore(k, names[k] if names else str(k), float(v)) for v, k in zip(p, i)])
            for (order, path), image, p, i in zip(owners, images, values.tolist(),
                                                  indices.tolist())}


def _sized(files: Sequence[Path], skipped: list[SkippedImage]
           ) -> list[tuple[tuple[int, int], int, Path]]:
    """(size from the header, input order, path) of the readable files,
    sorted by size so images of one size share network batches; the others
    go to ``skipped``."""
    sized = []
    for order, path in enumerate(files):
        try:
            sized.append((image_size(path), order, path))
        except READ_ERRORS as exc:
            skipped.append(SkippedImage(str(path), f"{type(exc).__name__}: {exc}"))
    return sorted(sized, key=lambda item: (item[0], item[1]))


def _scales(network: Network, scales: str | Sequence[int] | None,
            multi_scale: bool) -> list[int]:
    """Evaluation's rule (:func:`vggzoo.data.scales.choose_test_scales`)."""
    return choose_test_scales(scales, network.train_scale, multi_scale=multi_scale,
                              min_scale=network.runner.min_input_size).scales


def _class_names(runner: Runner) -> tuple[list[str] | None, str]:
    classes = getattr(runner, "classes", None)
    if classes and len(classes) == runner.num_classes:
        return list(classes), "weights"
    if runner.num_classes == 1000:
        from ..data.samples import imagenet_categories

        return imagenet_categories(), "imagenet"
    return None, "indices"
