"""Write scikit-learn's handwritten digits (1,797 real 8x8 scans that ship
inside the scikit-learn package, no download) as an ImageFolder:
``OUT/train/0..9/*.png`` and ``OUT/val/0..9/*.png``.

    python examples/make_digits.py data/digits
    vggzoo train --model vgg11_bn --data data/digits --out runs/digits --width-mult 0.0625 \\
        --batch-size 16 --scale 224 --augment scale random-crop pca-lighting --epochs 3 --channels-last

The split is stratified and fixed (every 5th image of each class is in val/).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

#: Every VAL_EVERY-th image of a class goes to val/.
VAL_EVERY = 5


def make_digits(out: str | Path) -> Path:
    """Write the digits as 8x8 grayscale PNGs (grey levels 0-16 scaled to 0-255)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    out = Path(out)
    seen: dict[int, int] = {}
    for image, label in zip(digits.images, digits.target):
        index = seen[label] = seen.get(label, -1) + 1
        split = "val" if index % VAL_EVERY == 0 else "train"
        folder = out / split / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.round(image * (255 / 16)).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(folder / f"{index:04d}.png")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="directory to create (train/ and val/ inside)")
    print(f"wrote {make_digits(parser.parse_args().out)}")


if __name__ == "__main__":
    main()
