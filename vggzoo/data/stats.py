"""Training-set statistics the paper's preprocessing needs: the mean RGB
value (subtracted from every pixel) and the eigenvalues/eigenvectors of the
3x3 RGB covariance (AlexNet's PCA colour augmentation).

``vggzoo data stats DIR`` writes them to ``DIR/stats.json``; training uses
that file when it exists, else ImageNet's published values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from ..io import atomic_path
from .preprocess import PAPER, Preprocessing
from ..progress import Progress, as_progress
from .folder import SkippingImageFolder, check_layout
from .transforms import IMAGENET_PCA, PCAStats

STATS_FILE = "stats.json"


@dataclass(frozen=True)
class DataStats:
    """Mean RGB and RGB-covariance eigen-decomposition, 0-1 pixel units."""

    mean: tuple[float, float, float]
    pca: PCAStats
    images: int
    pixels: int

    @property
    def preprocessing(self) -> Preprocessing:
        """Mean-RGB subtraction on 0-255 pixels with this mean."""
        return Preprocessing("mean-rgb", self.mean, PAPER.std)

    def as_dict(self) -> dict:
        return {"mean": list(self.mean), "mean_rgb_255": [round(m * 255, 3) for m in self.mean],
                "eigval": list(self.pca.eigval), "eigvec": [list(r) for r in self.pca.eigvec],
                "images": self.images, "pixels": self.pixels}

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.as_dict(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> DataStats:
        data = json.loads(Path(path).read_text())
        return cls(tuple(data["mean"]), PCAStats(tuple(data["eigval"]),
                                                 tuple(tuple(r) for r in data["eigvec"])),
                   data["images"], data["pixels"])


#: What training uses without a stats file: the paper's ImageNet mean RGB and
#: ImageNet's published PCA.
IMAGENET_STATS = DataStats(PAPER.mean, IMAGENET_PCA, images=0, pixels=0)


def compute_stats(root: str | Path, *, max_images: int | None = None,
                  progress: Progress | bool | None = None) -> DataStats:
    """Mean and covariance of RGB pixels over ``root/train`` (every image at
    its own size, or the first ``max_images`` of an evenly spaced subset);
    ``progress(images done, images)`` follows it (:mod:`vggzoo.progress`).

    Sums are accumulated in float64, so the result does not depend on the
    order or size of the images.
    """
    report = as_progress(progress)
    check_layout(root)
    dataset = SkippingImageFolder(Path(root) / "train", transform=None)
    indices = np.arange(len(dataset))
    if max_images is not None and max_images < len(indices):
        indices = np.linspace(0, len(indices) - 1, max_images).round().astype(int)
    total = torch.zeros(3, dtype=torch.float64)
    outer = torch.zeros(3, 3, dtype=torch.float64)
    pixels = images = 0
    report(0, len(indices))
    for done, index in enumerate(indices.tolist(), start=1):
        item = dataset[index]
        report(done, len(indices))
        if item is None:
            continue
        rgb = torch.from_numpy(np.asarray(item[0], dtype=np.float64) / 255.0).reshape(-1, 3)
        total += rgb.sum(0)
        outer += rgb.T @ rgb
        pixels += rgb.shape[0]
        images += 1
    if pixels == 0:
        raise DataError(f"no readable image in {Path(root) / 'train'}")
    mean = total / pixels
    cov = outer / pixels - torch.outer(mean, mean)
    eigval, eigvec = torch.linalg.eigh(cov)
    order = torch.argsort(eigval, descending=True)
    eigval, eigvec = eigval[order].clamp(min=0), eigvec[:, order]
    return DataStats(tuple(mean.tolist()),
                     PCAStats(tuple(eigval.tolist()), tuple(tuple(r) for r in eigvec.tolist())),
                     images, pixels)


def stats_for(root: str | Path, stats_file: str | Path | None = None) -> tuple[DataStats, str]:
    """Statistics for a run and where they came from: ``stats_file``, else
    ``root/stats.json``, else ImageNet's."""
    candidate = Path(stats_file) if stats_file else Path(root) / STATS_FILE
    if candidate.is_file():
        return DataStats.load(candidate), str(candidate)
    if stats_file:
        raise DataError(f"stats file {stats_file} does not exist; create it with "
                        f"`vggzoo data stats {root}`")
    return IMAGENET_STATS, "ImageNet (paper mean RGB, published PCA)"
