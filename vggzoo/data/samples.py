"""Real photos that ship inside an installed package (scikit-image), so the
demo, examples and tests need no downloads."""

from __future__ import annotations

import numpy as np

from ..errors import OptionError

#: Colour photos bundled with scikit-image (no fetching needed).
PHOTOS = ("chelsea", "coffee", "astronaut")


def load_photo(name: str = "chelsea") -> np.ndarray:
    """An RGB uint8 (H, W, 3) photo from scikit-image's bundled data."""
    if name not in PHOTOS:
        raise OptionError(f"unknown sample photo {name!r}; choose one of {', '.join(PHOTOS)}")
    try:
        from skimage import data
    except ImportError as exc:
        raise ImportError("the sample photos come from scikit-image: "
                          "pip install 'vggzoo[demo]'") from exc
    return getattr(data, name)()


def imagenet_categories() -> list[str]:
    """The 1000 ILSVRC-2012 class names, in label order (from torchvision)."""
    from torchvision.models import VGG16_Weights

    return list(VGG16_Weights.IMAGENET1K_V1.meta["categories"])
