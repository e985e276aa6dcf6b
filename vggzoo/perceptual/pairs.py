"""LPIPS over many image pairs: two folders matched by relative path, or a
CSV of pairs, in size-sorted batches, on any runtime.

A runtime is any ``distance(x, y) -> (N,)`` on float 0-1 batches: the
torch :class:`~vggzoo.perceptual.lpips.LPIPS` (``input_range="0-1"``), or an
exported LPIPS graph run by ONNX Runtime
(``vggzoo_export.perceptual.runner.onnx_distance``).  Pairs are grouped by image
size so every batch is one tensor; results come back in the pairs' order.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..data.images import is_image_file, read_image
from ..errors import DataError, OptionError
from ..progress import Progress, as_progress

Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: Pixels (H*W*3 floats, both images) one batch may hold: about 1.2 GiB of inputs.
MAX_BATCH_VALUES = 150_000_000


@dataclass(frozen=True)
class PairDistance:
    """One pair's distance."""

    a: str
    b: str
    width: int
    height: int
    distance: float

    def as_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "width": self.width, "height": self.height,
                "distance": self.distance}


def pairs_from_folders(a: str | os.PathLike, b: str | os.PathLike) -> list[tuple[Path, Path]]:
    """Images of folder ``a`` and the files of the same relative path in ``b``."""
    a, b = Path(a), Path(b)
    left, right = _images_under(a), _images_under(b)
    missing = sorted(set(left) - set(right))
    extra = sorted(set(right) - set(left))
    if missing or extra:
        shown = ", ".join(str(p) for p in (missing or extra)[:3])
        where = f"in {a} but not in {b}" if missing else f"in {b} but not in {a}"
        raise DataError(f"{len(missing or extra)} image(s) {where} ({shown}): the folders must "
                        f"hold the same relative paths; remove or add them")
    if not left:
        raise DataError(f"no images in {a}: pass two folders of images with the same names")
    return [(a / rel, b / rel) for rel in sorted(left)]


def _images_under(folder: Path) -> set[Path]:
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder")
    found = set()
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.update(Path(root, f).relative_to(folder) for f in files
                     if is_image_file(f) and not f.startswith("."))
    return found


def pairs_from_csv(path: str | os.PathLike) -> list[tuple[Path, Path]]:
    """Pairs of a two-column CSV (paths relative to the CSV's folder; a first
    row naming no files is a header)."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [r for r in csv.reader(handle) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read pairs CSV {path}: {exc}") from exc
    pairs = [tuple(path.parent / c.strip() for c in row) for row in rows]
    if pairs and len(rows[0]) == 2 and not any(p.is_file() for p in pairs[0]):
        pairs = pairs[1:]  # header
    for line, pair in enumerate(pairs, start=1):
        if len(pair) != 2:
            raise DataError(f"{path}: row {line} has {len(pair)} columns; a pairs CSV has two "
                            f"(image_a,image_b)")
        for p in pair:
            if not p.is_file():
                raise DataError(f"{path}: row {line} names {p}, which does not exist")
    if not pairs:
        raise DataError(f"{path} holds no pairs: write one row image_a,image_b per pair")
    return pairs


def lpips_pairs(pairs: Sequence[tuple[str | os.PathLike, str | os.PathLike]],
                distance: Distance, *, batch_size: int = 16,
                progress: Progress | None = None) -> list[PairDistance]:
    """Distances of image pairs (equal sizes within a pair), batched by size."""
    if batch_size < 1:
        raise OptionError(f"batch size {batch_size} is not allowed: pass 1 or more")
    report = as_progress(progress)
    sizes = pair_sizes(pairs)
    order = sorted(range(len(pairs)), key=lambda i: (sizes[i], i))
    results: dict[int, PairDistance] = {}
    report(0, len(pairs), description="lpips")
    start = 0
    while start < len(order):
        width, height = sizes[order[start]]
        fit = max(1, min(batch_size, MAX_BATCH_VALUES // (6 * width * height)))
        batch = [i for i in order[start:start + fit] if sizes[i] == (width, height)]
        start += len(batch)
        x = torch.stack([_load(pairs[i][0]) for i in batch])
        y = torch.stack([_load(pairs[i][1]) for i in batch])
        with torch.inference_mode():
            values = distance(x, y).detach().float().flatten().tolist()
        for i, value in zip(batch, values):
            if value != value or value in (float("inf"), float("-inf")):
                raise DataError(f"LPIPS of {pairs[i][0]} and {pairs[i][1]} is not finite "
                                f"({value}): the runtime or its weights are broken")
            results[i] = PairDistance(str(pairs[i][0]), str(pairs[i][1]), width, height, value)
        report(len(results), len(pairs), description="lpips")
    return [results[i] for i in range(len(pairs))]


def pair_sizes(pairs: Sequence[tuple[str | os.PathLike, str | os.PathLike]]
               ) -> list[tuple[int, int]]:
    """(width, height) of each pair, read from the files' headers; an error
    for a pair of two sizes (checked before any network is built)."""
    return [_pair_size(Path(a), Path(b)) for a, b in pairs]


def _pair_size(a: Path, b: Path) -> tuple[int, int]:
    from PIL import Image

    try:
        with Image.open(a) as ia, Image.open(b) as ib:
            sa, sb = ia.size, ib.size
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read image {exc}: pass readable image files") from exc
    if sa != sb:
        raise DataError(f"{a} is {sa[0]}x{sa[1]} but {b} is {sb[0]}x{sb[1]}: LPIPS compares "
                        f"images of one size; resize one of them")
    return sa


def _load(path: str | os.PathLike) -> torch.Tensor:
    try:
        return read_image(path).float() / 255.0
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read image {path}: {exc}") from exc


def resolve_pairs(a: str | os.PathLike, b: str | os.PathLike | None = None
                  ) -> list[tuple[Path, Path]]:
    """Pairs from what a user names: two images, two folders (matched by
    relative path) or one CSV of pairs."""
    a = Path(a)
    if b is None:
        if a.suffix.lower() != ".csv":
            raise OptionError(f"one argument ({a}) must be a CSV of pairs (image_a,image_b); "
                              f"or pass two images or two folders")
        return pairs_from_csv(a)
    b = Path(b)
    if a.is_dir() and b.is_dir():
        return pairs_from_folders(a, b)
    for path in (a, b):
        if not path.exists():
            raise DataError(f"{path} does not exist: pass two images, two folders or a CSV")
    if a.is_file() and b.is_file():
        return [(a, b)]
    raise OptionError(f"{a} and {b}: pass two images or two folders, not one of each")
