"""Perceptual losses and metrics on vggzoo's VGG trunks (see docs/perceptual.md).

* :class:`FeatureNet`: named layer maps (``relu2_2``, ``conv4_2``) of a
  frozen trunk, with an explicit input range;
* :class:`LPIPS`: LPIPS-VGG v0.1, equal to the ``lpips`` package;
* :class:`ContentLoss`, :class:`StyleLoss`: Gatys et al. and Johnson et al.;
* :func:`lpips_distance`: LPIPS' fastest fp32 and bf16 CPU paths;
* :func:`lpips_pairs`: batched distances over two folders or a list of pairs.
"""

from .features import STAGE_ENDS, FeatureNet
from .losses import PRESETS, ContentLoss, StyleLoss, gram
from .inference import PRECISIONS, lpips_distance
from .lpips import LPIPS
from .pairs import PairDistance, lpips_pairs, pairs_from_csv, pairs_from_folders, resolve_pairs

__all__ = ["STAGE_ENDS", "FeatureNet", "PRESETS", "ContentLoss", "StyleLoss", "gram", "LPIPS",
           "PRECISIONS", "lpips_distance",
           "PairDistance", "lpips_pairs", "pairs_from_csv", "pairs_from_folders",
           "resolve_pairs"]
