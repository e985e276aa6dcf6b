"""Image folders and image files the way users have them, read one way
everywhere: training, ``vggzoo data stats``, evaluation and prediction.

Listing (:func:`list_classes`, :func:`list_images`).  Class folders are the
sub-folders of a split, sorted by name (torchvision's ``ImageFolder`` order);
hidden folders (``.ipynb_checkpoints``, ``.DS_Store``-like ``.cache``) are not
classes.  Images are found recursively, following symbolic links to files and
to folders like torchvision (``os.walk(followlinks=True)``), but every folder
is entered once and every file (by device and inode, so hard links too) is
counted once: a link loop such as ``train/0/loop -> ..`` can neither hang
the walk nor repeat an image, and a link back to the split or to another
class folder adds nothing.  The same file under two classes has no single
label and is an error.

Decoding (:func:`load_image`).  The header is read first and an image whose
decoded size exceeds :func:`max_image_pixels` (``VGGZOO_MAX_IMAGE_PIXELS``)
is refused before any pixel is decoded (:class:`ImageTooLargeError`, a
:class:`~vggzoo.errors.DataError`: listed as skipped like any unreadable
file).  EXIF orientation is applied (``ImageOps.exif_transpose``), so a
portrait phone photo stored sideways is read upright.  Every Pillow mode becomes 8-bit RGB with its
real brightness: 16-bit grey (``I;16*``, e.g. 16-bit PNG) and 32-bit integer
(``I``) pixels are scaled from their range (0-65535, or 0-2**32-1 when values
exceed 16 bits) instead of being clipped at 255 as ``convert("RGB")`` does;
float (``F``) pixels are read as 0-1 when they all lie in [0, 1], else as
Pillow's own 0-255 convention; images with transparency (``RGBA``, ``LA``,
``PA``, ``P`` with a transparent colour, premultiplied modes) are composited
over :data:`BACKGROUND` (white, as viewers show them) instead of keeping the
colour stored under transparent pixels; ``CMYK``, ``YCbCr``, ``1``, ``L`` and
the rest use Pillow's conversion.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import ExifTags, Image, ImageOps

from ..errors import DataError, ImageTooLargeError, OptionError

log = logging.getLogger("vggzoo.data")

#: File name endings read as images, any letter case: torchvision's
#: ``datasets.folder.IMG_EXTENSIONS`` (a test keeps them equal), written out
#: because importing torchvision would slow every command's start-up.
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif",
                                     ".tiff", ".webp")
#: What transparent pixels are composited over.
BACKGROUND: tuple[int, int, int] = (255, 255, 255)
#: Environment variable bounding the decoded size of an image (pixels).
MAX_PIXELS_ENV = "VGGZOO_MAX_IMAGE_PIXELS"
#: Largest image decoded without the variable: Pillow's own refusal
#: threshold (twice ``PIL.Image.MAX_IMAGE_PIXELS``), about 179 megapixels
#: (0.5 GB as 8-bit RGB, 2 GB as float32).
DEFAULT_MAX_IMAGE_PIXELS = 178_956_970
#: EXIF orientations that turn the image by 90 degrees (width and height swap).
_TURNED = (5, 6, 7, 8)


def is_image_file(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def list_classes(split_dir: str | os.PathLike) -> list[str]:
    """Class names of a split: its non-hidden sub-folders (links to folders
    included), sorted by name, so label ``i`` is the ``i``-th name."""
    with os.scandir(split_dir) as entries:
        return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))


def list_images(split_dir: str | os.PathLike,
                classes: list[str] | None = None) -> dict[str, list[Path]]:
    """The image files of each class of ``split_dir`` (``classes`` or
    :func:`list_classes`), each list in a fixed, sorted order.

    Raises :class:`DataError` when one file is an image of two classes.
    """
    split_dir = Path(split_dir)
    classes = list_classes(split_dir) if classes is None else classes
    # The split and its class folders are entered only as themselves: a link
    # to them from inside a class (a loop, or another class's images) adds nothing.
    entered = {_identity(split_dir)} | {_identity(split_dir / name) for name in classes}
    owner: dict[tuple[int, int], tuple[str, Path]] = {}
    found: dict[str, list[Path]] = {}
    for name in classes:
        files = []
        for path in _walk(split_dir / name, entered):
            key = _identity(path)
            if key in owner:
                first_class, first_path = owner[key]
                if first_class != name:
                    raise DataError(f"{path} and {first_path} are the same file in classes "
                                    f"{first_class!r} and {name!r}; an image needs one class: "
                                    f"remove one of them")
                log.debug("%s is %s again (link); counted once", path, first_path)
                continue
            owner[key] = (name, path)
            files.append(path)
        found[name] = files
    return found


def _identity(path: Path) -> tuple[int, int]:
    st = os.stat(path)  # follows links: the file or folder itself
    return st.st_dev, st.st_ino


def has_images(split_dir: str | os.PathLike, name: str) -> bool:
    """Whether class ``name`` of ``split_dir`` holds at least one image file
    (stops at the first one; same link rules as :func:`list_images`)."""
    split_dir = Path(split_dir)
    entered = {_identity(split_dir), _identity(split_dir / name)}
    return next(_found(split_dir / name, entered), None) is not None


def walk_images(folder: str | os.PathLike, *,
                hidden: bool = True) -> tuple[list[Path], list[Path]]:
    """The one walk of an image folder (training, evaluation, prediction,
    int8 calibration): ``(images, others)`` under ``folder``, each sorted
    like torchvision's walk, links followed with every folder entered and
    every file counted once (see the module notes); ``others`` are the files
    that are not images by their extension.  ``hidden=False`` leaves out
    files and folders whose name starts with a dot (``.ipynb_checkpoints``).
    """
    folder = Path(folder)
    others: list[tuple[str, str]] = []
    seen: set[tuple[int, int]] = set()
    images = []
    for root, name in sorted(_found(folder, {_identity(folder)}, others=others, hidden=hidden)):
        path = Path(root, name)
        key = _identity(path)
        if key not in seen:  # a link to (or hard link of) a file already found
            seen.add(key)
            images.append(path)
    return images, [Path(r, n) for r, n in sorted(others)]


def _walk(folder: Path, entered: set[tuple[int, int]]) -> list[Path]:
    """Image files under ``folder`` sorted like torchvision's walk (by folder
    path, then name)."""
    return [Path(root, name) for root, name in sorted(_found(folder, entered))]


def _found(folder: Path, entered: set[tuple[int, int]], *,
           others: list[tuple[str, str]] | None = None,
           hidden: bool = True) -> Iterator[tuple[str, str]]:
    """(folder, file name) of the image files under ``folder``, entering each
    folder (by identity, links followed) once; other files go to ``others``."""
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(current) as scan:
                entries = list(scan)
        except OSError as exc:
            log.warning("skipping unreadable folder %s: %s", current, exc)
            continue
        for entry in entries:
            if not hidden and entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():  # follows links
                    key = _identity(Path(entry.path))
                    if entry.is_symlink() and _is_ancestor(entry.path, current):
                        log.warning("not following %s: it links to a folder that contains "
                                    "it (a loop)", entry.path)
                        continue
                    if key in entered:
                        log.warning("not following %s: it leads to a folder already read "
                                    "(link loop or repeated link)", entry.path)
                        continue
                    entered.add(key)
                    pending.append(Path(entry.path))
                elif entry.is_file() and is_image_file(entry.name):
                    yield str(current), entry.name
                elif others is not None and entry.is_file():
                    others.append((str(current), entry.name))
            except OSError as exc:  # a broken link, a file removed meanwhile
                log.warning("skipping %s: %s", entry.path, exc)


def _is_ancestor(link: str, folder: Path) -> bool:
    """Whether ``link`` leads to ``folder`` or a folder above it."""
    target = Path(os.path.realpath(link))
    here = Path(os.path.realpath(folder))
    return here == target or target in here.parents


def max_image_pixels() -> int:
    """The largest decoded image (width x height) vggzoo reads:
    :data:`MAX_PIXELS_ENV` when set, else :data:`DEFAULT_MAX_IMAGE_PIXELS`."""
    text = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_IMAGE_PIXELS
    try:
        value = int(float(text))
    except ValueError:
        value = 0
    if value < 1:
        raise OptionError(f"{MAX_PIXELS_ENV}={text!r}: give the largest image to read as a "
                          f"number of pixels, e.g. {DEFAULT_MAX_IMAGE_PIXELS}")
    return value


@contextlib.contextmanager
def open_image(path: str | os.PathLike, max_pixels: int | None = None) -> Iterator[Image.Image]:
    """``Image.open`` (lazy: only the header is read) that refuses, with
    :class:`ImageTooLargeError`, an image over ``max_pixels`` (default
    :func:`max_image_pixels`): the one bound every reader of images uses."""
    bound = max_image_pixels() if max_pixels is None else max_pixels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the bound below rules
        if Image.MAX_IMAGE_PIXELS is not None and bound > 2 * Image.MAX_IMAGE_PIXELS:
            Image.MAX_IMAGE_PIXELS = bound // 2 + 1  # Pillow's own refusal must not come first
        try:
            image = Image.open(path)
        except Image.DecompressionBombError as exc:
            raise ImageTooLargeError(f"{exc} (Pillow's bound); set {MAX_PIXELS_ENV} to read "
                                     f"larger images") from None
    with image:
        width, height = image.size
        if width * height > bound:
            raise ImageTooLargeError(
                f"its header says {width}x{height} pixels ({width * height / 1e6:.1f} "
                f"megapixels), over the bound of {bound / 1e6:.1f} megapixels (a decompression "
                f"bomb, or a huge image); not decoded: set {MAX_PIXELS_ENV} to read larger images")
        yield image


def header_size(path: str | os.PathLike, max_pixels: int | None = None) -> tuple[int, int]:
    """(height, width) of the image at ``path`` as :func:`load_image` will
    give it (EXIF orientation applied), read from the header without
    decoding; refuses images over the bound like :func:`open_image`."""
    with open_image(path, max_pixels) as image:
        width, height = image.size
        turned = image.getexif().get(ExifTags.Base.Orientation, 1) in _TURNED
    return (width, height) if turned else (height, width)


def load_image(path: str | os.PathLike, max_pixels: int | None = None) -> Image.Image:
    """The image at ``path`` as an 8-bit RGB PIL image, upright (its EXIF
    orientation applied, as viewers show phone photos; see the module notes
    for how each mode is converted); raises ``OSError``/``ValueError`` on a
    file that is not a readable image and :class:`ImageTooLargeError` on
    one over the decoded-size bound (:func:`open_image`)."""
    with open_image(path, max_pixels) as image:
        ImageOps.exif_transpose(image, in_place=True)
        return to_rgb(image)


def read_image(path: str | os.PathLike, max_pixels: int | None = None) -> torch.Tensor:
    """:func:`load_image` as a uint8 (3, H, W) tensor (what evaluation and
    :func:`vggzoo.eval.protocol_posteriors` take)."""
    image = load_image(path, max_pixels)
    return torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1).contiguous()


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL image as 8-bit RGB with its real brightness."""
    mode = image.mode
    if mode == "RGB":
        image.load()
        return image.copy()
    if mode.startswith("I;16") or mode == "I" or mode == "F":
        return Image.fromarray(_to_uint8(np.asarray(image), mode), "L").convert("RGB")
    if mode == "La":  # premultiplied grey: Pillow converts it to LA only
        image, mode = image.convert("LA"), "LA"
    if mode == "P" and "transparency" in image.info or mode in ("PA", "RGBa"):
        image, mode = image.convert("RGBA"), "RGBA"
    if mode in ("RGBA", "LA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _to_uint8(pixels: np.ndarray, mode: str) -> np.ndarray:
    """Grey pixels of a 16/32-bit integer or float mode scaled to 0-255."""
    values = pixels.astype(np.float64)
    if mode == "F":
        finite = values[np.isfinite(values)]
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
        top = 1.0 if finite.size and finite.min() >= 0 and finite.max() <= 1 else 255.0
    elif mode == "I" and values.size and values.max() > 0xFFFF:
        top = float(2 ** 32 - 1) if values.min() >= 0 else float(2 ** 31 - 1)
    else:  # I;16*, and I holding 16-bit values (how 16-bit files often decode)
        top = float(0xFFFF)
    return np.clip(np.rint(values * (255.0 / top)), 0, 255).astype(np.uint8)
