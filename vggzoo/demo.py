"""The main job on embedded defaults: dense (fully-convolutional) inference
of a full-size VGG on a real photo.  ``vggzoo demo`` (:mod:`vggzoo.cli.demo`)
prints it beside the model's facts."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from .models.factory import create
from .data.preprocess import to_input
from .plugins.registry import MODELS
from .data.samples import imagenet_categories, load_photo


@dataclass
class DenseResult:
    model: str
    weights: str
    image_size: tuple[int, int]
    input_size: tuple[int, int]
    score_map_shape: tuple[int, ...]
    top5: list[tuple[str, float]]
    seconds: float


def cached_torchvision_weights(model: str) -> Path | None:
    """The torchvision weights file if it is already in the torch hub cache."""
    from torchvision.models import get_weight

    enum_name = MODELS.get(model).info.get("torchvision_weights")
    if not enum_name:
        return None
    url = get_weight(f"{enum_name}.IMAGENET1K_V1").url
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name
    return path if path.is_file() else None


def dense_inference(model: str = "vgg16", *, photo: str = "chelsea", scale: int = 384,
                    weights: str | None = None) -> DenseResult:
    """Run the fully-convolutional ``model`` over a whole photo rescaled so its
    shortest side is ``scale``; returns the score-map shape and top-5."""
    if weights is None:
        cached = cached_torchvision_weights(model)
        weights = str(cached) if cached else None
    if weights is None:
        warnings.warn(f"no weights given and no torchvision {model} weights in the torch hub cache "
                      f"({Path(torch.hub.get_dir()) / 'checkpoints'}): using RANDOM weights, so the "
                      f"top-5 below is meaningless. Pass --weights FILE for real predictions.",
                      stacklevel=2)
    net = create(model, fully_conv=True, weights=weights).eval()
    image = load_photo(photo)
    x = to_input(net.pretrained_cfg.preprocessing, scale=scale)(image).unsqueeze(0)
    start = time.perf_counter()
    with torch.inference_mode():
        scores = net.score_map(x)
        probs = scores.mean(dim=(2, 3)).softmax(dim=1)[0]
    seconds = time.perf_counter() - start
    categories = net.pretrained_cfg.classes or (
        imagenet_categories() if net.num_classes == 1000 else None)
    top = probs.topk(5)
    top5 = [(categories[i] if categories else str(i), float(p))
            for p, i in zip(top.values.tolist(), top.indices.tolist())]
    return DenseResult(model, weights or "random", tuple(image.shape[:2]), tuple(x.shape[-2:]),
                       tuple(scores.shape), top5, seconds)
