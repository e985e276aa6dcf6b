"""``make demo``'s export half: the inputs it times, the bundled photos at
each test scale.  ``vggzoo-export demo``
(:func:`vggzoo_export.cli.output.show_demo`) exports VGG16 fully-
convolutionally and times ONNX Runtime against PyTorch eager on them."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchvision.transforms import v2

from vggzoo.data.preprocess import Preprocessing, to_input
from vggzoo.data.samples import PHOTOS, load_photo

from .bench import Case


def photo_cases(pre: Preprocessing, scales: Sequence[int]) -> list[Case]:
    """At each scale Q, the bundled photos rescaled isotropically to shortest
    side Q and centre-cropped to QxQ, as one batch."""
    cases = []
    for q in scales:
        transform = v2.Compose([to_input(pre, scale=q), v2.CenterCrop(q)])
        batch = torch.stack([transform(load_photo(name)) for name in PHOTOS])
        cases.append(Case(f"Q={q} photos", batch))
    return cases
