"""What a model is, said once: :class:`PretrainedCfg` (timm's name and idea).

``vggzoo.create`` records every argument it built a model with (and what its
weights said) in ``model.pretrained_cfg``, a frozen dataclass.  Everything
that rebuilds or describes a model reads it instead of keeping its own list:
:func:`vggzoo.to_fully_conv` replays it with ``fully_conv=True``,
:func:`vggzoo.save_weights` writes it into the ``.safetensors`` metadata
(:meth:`PretrainedCfg.facts`) and ``create(weights=...)`` reads it back,
exporters describe a model from it.  A change gives a new instance
(``dataclasses.replace``): ``reset_classifier`` swaps in one with the new
class count, so a cfg that was handed out never changes under its holder.

The README documents dict-style reads (``model.pretrained_cfg["classes"]``,
as timm's models offer), so the cfg is also a read-only
:class:`~collections.abc.Mapping` of its fields plus ``input_size``; typed
attribute access (``model.pretrained_cfg.classes``) is the preferred form.

>>> cfg = vggzoo.create("vgg11", in_chans=1, width_mult=1 / 16).pretrained_cfg
>>> cfg.in_chans, cfg.input_size, cfg["width_mult"]
(1, (1, 224, 224), 0.0625)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .configs import MIN_INPUT_SIZE
from ..data.preprocess import PAPER, Preprocessing

if TYPE_CHECKING:
    from torch import nn

    from ..weights.files import WeightsFacts


@dataclass(frozen=True)
class PretrainedCfg(Mapping[str, Any]):
    """The builder arguments of a model and the facts of its weights.

    The first group is what ``create`` passed to the model's builder (what
    :meth:`builder_arguments` replays); the second what the weights say
    about the data (preprocessing, class names, training scale); the last
    where the weights came from.
    """

    #: Registered model name (``vgg16``; aliases resolved).
    name: str
    #: The paper's configuration letter (``D``), None for a model without one.
    config: str | None = None
    # -- builder arguments ---------------------------------------------------
    fully_conv: bool = False
    #: Classes of the head; 0 for a model returning pooled trunk features.
    num_classes: int = 1000
    width_mult: float = 1.0
    in_chans: int = 3
    dropout: float = 0.5
    #: Keywords a plugin's builder takes beyond create()'s own, sorted (name, value) pairs.
    builder_kwargs: tuple[tuple[str, Any], ...] = ()
    #: Smallest input side the network takes (one 7x7 window of the last pool).
    min_input_size: int = MIN_INPUT_SIZE
    # -- what the weights say about the data ------------------------------
    preprocessing: Preprocessing = PAPER
    #: Class names in label order (None: the weights record none).
    classes: tuple[str, ...] | None = None
    #: Training scale S the weights were trained at (``"256"``, ``"256-512"``).
    train_scale: str | None = None
    # -- provenance --------------------------------------------------------
    #: The weights file (or ``"state dict"``) loaded; None for random weights.
    weights: str | None = None
    #: Registered named weights loaded (``vgg16.tv_in1k``, by name or SHA-256).
    named_weights: str | None = None

    def __post_init__(self) -> None:
        # Frozen all the way down: sequences given as lists become tuples.
        if self.classes is not None and not isinstance(self.classes, tuple):
            object.__setattr__(self, "classes", tuple(self.classes) or None)
        if isinstance(self.builder_kwargs, Mapping):
            object.__setattr__(self, "builder_kwargs", tuple(sorted(self.builder_kwargs.items())))

    @property
    def input_size(self) -> tuple[int, int, int]:
        """(C, H, W) the fully-connected head is built for: ``in_chans``
        channels at the minimum side (224 = the 7x7 fc6 window times the
        trunk's stride 32)."""
        return (self.in_chans, self.min_input_size, self.min_input_size)

    def builder_arguments(self) -> dict[str, Any]:
        """The keywords that rebuild this model with ``vggzoo.create(cfg.name, ...)``."""
        return {"fully_conv": self.fully_conv, "num_classes": self.num_classes,
                "width_mult": self.width_mult, "in_chans": self.in_chans,
                "dropout": self.dropout, **dict(self.builder_kwargs)}

    def facts(self, source: str) -> "WeightsFacts":
        """What a weights file of this model records (see :func:`vggzoo.save_weights`).

        Provenance is left out: the file written is its own source, and
        weights saved after training are no longer the named weights
        they started from.
        """
        from ..weights.files import WeightsFacts

        return WeightsFacts(
            source, model=self.name, width_mult=self.width_mult, num_classes=self.num_classes,
            in_chans=self.in_chans, classes=list(self.classes) if self.classes else None,
            preprocessing=self.preprocessing, train_scale=self.train_scale,
            dropout=self.dropout, fully_conv=self.fully_conv,
            builder_kwargs=dict(self.builder_kwargs) or None)

    # -- the read-only mapping view the README documents ------------------
    def __getitem__(self, key: str) -> Any:
        if key not in _KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(_KEYS)

    def __len__(self) -> int:
        return len(_KEYS)


_KEYS: tuple[str, ...] = (*(f.name for f in dataclasses.fields(PretrainedCfg)), "input_size")


def model_cfg(model: "nn.Module") -> PretrainedCfg | None:
    """The cfg of a model made by ``vggzoo.create`` (None for any other
    module, e.g. a :class:`vggzoo.VGG` built directly or a raw timm model,
    whose ``pretrained_cfg`` is timm's dict)."""
    cfg = getattr(model, "pretrained_cfg", None)
    return cfg if isinstance(cfg, PretrainedCfg) else None

