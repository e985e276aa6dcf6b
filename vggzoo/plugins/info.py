"""The ``info`` of each hook, typed: what a plugin may say about a thing it
registers, beside the thing itself.

A plugin still calls ``register(name, obj, **info)``; the keywords are
checked against the hook's dataclass here, as pytest checks a hook
implementation's arguments against its spec: a misspelt
``file_opton="onnx"`` is a one-line :class:`~vggzoo.errors.RegistrationError`
naming ``file_option`` instead of a key kept silently and never read.
Readers get ``entry.info.file_option`` with its default filled in.

>>> make_info(RunnerHookInfo, {"file_opton": "onnx"}, what="runner 'mine'")
Traceback (most recent call last):
vggzoo.errors.RegistrationError: runner 'mine': unknown info key 'file_opton'. Did you mean: file_option? ...
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..errors import RegistrationError

I = TypeVar("I", bound="HookInfo")


@dataclass(frozen=True)
class HookInfo:
    """What every hook's ``info`` may hold (the base of the others)."""

    #: Other names the thing is found under.
    aliases: tuple[str, ...] = ()
    #: One line, shown by ``vggzoo list`` / ``vggzoo plugins``.
    description: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.aliases, str):  # aliases="D" would register "D" letter by letter
            raise RegistrationError(f"aliases={self.aliases!r} is one string: write "
                                    f"aliases=[{self.aliases!r}]")
        object.__setattr__(self, "aliases", tuple(self.aliases))

    def get(self, key: str, default: Any = None) -> Any:
        """``info.get("config")`` for code written when ``info`` was a dict:
        the field's value, or ``default`` where it is unset (``None``)."""
        value = getattr(self, key, None)
        return default if value is None else value

    def __getitem__(self, key: str) -> Any:
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    @classmethod
    def keys(cls) -> list[str]:
        """The keys ``register(name, obj, **info)`` takes for this hook."""
        return [f.name for f in dataclasses.fields(cls)]


@dataclass(frozen=True)
class ModelHookInfo(HookInfo):
    """``info`` of ``vggzoo_register_models``."""

    #: The paper's configuration letter (``"D"``).
    config: str | None = None
    #: A :class:`vggzoo.data.preprocess.Preprocessing`; ``None``: the paper's.
    preprocessing: Any = None
    #: The paper's numbers, labelled as such by ``vggzoo info``.
    paper_results: tuple[Any, ...] = ()
    paper_params_m: float | None = None
    #: torchvision's weights enum (``"VGG16_Weights"``) for torchvision's keys.
    torchvision_weights: str | None = None
    batch_norm: bool | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "paper_results", tuple(self.paper_results))


@dataclass(frozen=True)
class AugmentationHookInfo(HookInfo):
    """``info`` of ``vggzoo_register_augmentations``."""


@dataclass(frozen=True)
class InitializerHookInfo(HookInfo):
    """``info`` of ``vggzoo_register_initializers``."""

    #: Data-driven (LSUV): receives a preprocessed batch of training inputs.
    needs_batch: bool = False


@dataclass(frozen=True)
class EvalProtocolHookInfo(HookInfo):
    """``info`` of ``vggzoo_register_eval_protocols``."""


@dataclass(frozen=True)
class ExporterHookInfo(HookInfo):
    """``info`` of ``vggzoo_register_exporters``: what the format consumes
    and produces, which is all ``vggzoo-export`` needs to chain it."""

    #: Appended to the model name for the default output; ``""`` for a folder.
    suffix: str = ""
    #: What it consumes: ``"model"`` or the name of the format whose file it converts.
    input: str = "model"
    #: ``output`` is a folder.
    folder: bool = False
    #: ``"module:object"``: the format's own ``vggzoo-export`` flag and
    #: options (a :class:`vggzoo.plugins.exporters.StepArguments`), for a
    #: format chained after the file it consumes (``--trt``) or chosen by
    #: its flag (``--int8``) rather than by ``--format``.
    arguments: str | None = None


@dataclass(frozen=True)
class RunnerHookInfo(HookInfo):
    """``info`` of ``vggzoo_register_runners``."""

    #: The factory option that takes the exported file (``"onnx"``).
    file_option: str | None = None
    #: Files it opens by default (``".onnx"``, see :mod:`vggzoo.runtime.files`).
    suffix: str | None = None
    #: Command-line flags it adds to ``vggzoo eval``/``predict``:
    #: ``{"--onnx": ("onnx", "help text")}`` (flag -> factory option, help).
    flags: Mapping[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class WeightsHookInfo(HookInfo):
    """``info`` of ``vggzoo_register_weights``."""

    #: The weights ``pretrained=True`` picks for their model.
    default: bool = False


def make_info(kind: type[I], info: Mapping[str, Any], *, what: str) -> I:
    """``kind(**info)``, or a one-line :class:`RegistrationError` naming the
    unknown key, close matches and the keys ``kind`` takes."""
    known = kind.keys()
    unknown = [key for key in info if key not in known]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise RegistrationError(f"{what}: unknown info key {key!r}.{hint} The keys are: "
                                f"{', '.join(known)} ({kind.__name__}); correct or drop it")
    try:
        return kind(**info)
    except RegistrationError as exc:
        raise RegistrationError(f"{what}: {exc}") from None
