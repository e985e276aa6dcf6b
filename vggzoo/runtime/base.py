"""The runner interface: "give me class scores for this batch of images".

A runner holds a fully-convolutional network on some backend.  Protocols hand
it a preprocessed float32 batch (N, 3, H, W), all images of one size, and get
back (N, K) float32 CPU logits: the spatial mean of the class score map (for a
224x224 input, the plain FC logits).  Soft-max, flips, crops and averaging
belong to the protocol, never to the runner.
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import Callable
from typing import Any

import torch

from ..models.cfg import PretrainedCfg
from ..plugins.options import accepted_options, check_options
from ..data.preprocess import Preprocessing
from ..plugins.registry import RUNNERS


class Runner(abc.ABC):
    """A network on one backend, behind one method.

    Subclasses set ``name``, ``num_classes``, ``preprocessing`` and
    ``min_input_size`` and implement :meth:`logits`.
    """

    #: Backend name as registered (``"torch"``, ``"onnxruntime"``, ...).
    name: str = "runner"
    num_classes: int
    preprocessing: Preprocessing
    min_input_size: int = 224
    #: What the model is (:class:`~vggzoo.models.cfg.PretrainedCfg`: architecture,
    #: width, channels, classes, preprocessing, scales, builder keywords), when
    #: known.  Weights files and exported files carry it, so evaluation can
    #: label results, pick test scales and count FLOPs on any backend.
    facts: PretrainedCfg | None = None
    #: Class names in label order, when the weights or exported file record them.
    classes: list[str] | None = None
    #: Training scale S the weights record ("256", "256:512"): the default test scales.
    train_scale: str | None = None
    #: Input channels the network takes.
    in_chans: int = 3

    def carry(self, facts: PretrainedCfg) -> None:
        """Take ``facts`` as what this runner runs; the attributes protocols
        read (classes, preprocessing, minimum size, ...) all come from it."""
        self.facts = facts
        self.num_classes = facts.num_classes
        self.preprocessing = facts.preprocessing
        self.min_input_size = facts.min_input_size
        self.in_chans = facts.in_chans
        self.classes = list(facts.classes) if facts.classes else None
        self.train_scale = facts.train_scale

    @property
    def architecture(self) -> dict[str, Any] | None:
        """``{"name", "width_mult", "num_classes"}`` of :attr:`facts` (a view
        kept for callers of earlier versions)."""
        if self.facts is None:
            return None
        return {"name": self.facts.name, "width_mult": self.facts.width_mult,
                "num_classes": self.facts.num_classes}

    @abc.abstractmethod
    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        """(N, K) float32 CPU logits for a preprocessed (N, 3, H, W) batch."""

    def posteriors(self, batch: torch.Tensor) -> torch.Tensor:
        """(N, K) soft-max class posteriors."""
        return self.logits(batch).softmax(dim=1)

    def close(self) -> None:
        """Release backend resources (sessions, engines, GPU memory)."""

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_in_pieces(run: Callable[[torch.Tensor], torch.Tensor], batch: torch.Tensor, size: int,
                  *, pad: bool = False) -> torch.Tensor:
    """``run`` on consecutive pieces of at most ``size`` images, outputs
    concatenated: how a runner whose file was built for some batch size
    takes the batches protocols make (32 crops, an image and its flip).
    With ``pad`` (a file compiled for exactly ``size``) a short piece is
    padded with zeros and the padding's outputs dropped."""
    if batch.shape[0] == size or (batch.shape[0] < size and not pad):
        return run(batch)
    outputs = []
    for piece in torch.split(batch, size):
        count = piece.shape[0]
        if pad and count < size:
            piece = torch.cat([piece, piece.new_zeros((size - count, *piece.shape[1:]))])
        outputs.append(run(piece)[:count])
    return torch.cat(outputs)


def create_runner(backend: str, **options: Any) -> Runner:
    """Build the runner registered as ``backend`` from its options.

    Options are checked against the factory's signature before anything is
    built: a key it does not take is an :class:`~vggzoo.errors.OptionError`
    naming close matches, and command-line strings are converted by the
    parameter's type (``channels_last="false"`` becomes ``False``), see
    :mod:`vggzoo.plugins.options`.

    >>> runner = create_runner("torch", model="vgg16", weights="vgg16.pth")
    """
    entry = RUNNERS.get(backend)
    return entry.obj(**check_options(entry.obj, options, what=f"backend {entry.name!r}"))


def runner_options(backend: str) -> dict[str, inspect.Parameter] | None:
    """The options ``backend``'s factory takes (``None``: it checks its own)."""
    return accepted_options(RUNNERS.get(backend).obj)
