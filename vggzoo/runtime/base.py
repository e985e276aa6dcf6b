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
from typing import Any

import torch

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
    #: The registered architecture the runner executes, when known:
    #: ``{"name", "width_mult", "num_classes"}``.  Exported files carry it, so
    #: evaluation can label results and count FLOPs on any backend.
    architecture: dict[str, Any] | None = None
    #: Class names in label order, when the weights or exported file record them.
    classes: list[str] | None = None
    #: Training scale S the weights record ("256", "256:512"): the default test scales.
    train_scale: str | None = None

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
