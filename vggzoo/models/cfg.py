"""What a model is, said once: :class:`PretrainedCfg` (timm's name and idea).

``vggzoo.create`` records every argument it built a model with (and what its
weights said) in ``model.pretrained_cfg``, a frozen dataclass.  Everything
that rebuilds or describes a model reads it instead of keeping its own list:
:func:`vggzoo.to_fully_conv` replays it with ``fully_conv=True``,
:func:`vggzoo.save_weights` writes it into the ``.safetensors`` metadata
(:meth:`PretrainedCfg.facts`) and ``create(weights=...)`` reads it back,
exporters write it into every file they make (:mod:`vggzoo_export.core.metadata`)
and every runner carries it (:attr:`vggzoo.runtime.Runner.facts`), so what
a model is survives every hop: weights -> ``create`` -> export -> runner ->
evaluation and prediction.  One string form (:meth:`PretrainedCfg.to_metadata`
/ :func:`parse_metadata`) serves ``.safetensors`` metadata, and one JSON form
(:meth:`PretrainedCfg.as_dict` / :meth:`PretrainedCfg.from_dict`) serves
exported files and Triton repositories.  A change gives a new instance
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
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .configs import MIN_INPUT_SIZE
from ..data.preprocess import PAPER, Preprocessing
from ..errors import WeightsError

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

        record = dataclasses.replace(self, weights=None, named_weights=None)
        return WeightsFacts(source, parse_metadata(record.to_metadata(), source=source))

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON-ready values (what exported files store)."""
        return {f.name: _JSON_OUT.get(f.name, _same)(getattr(self, f.name))
                for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "the file") -> "PretrainedCfg":
        """Inverse of :meth:`as_dict`; keys it does not know are ignored (a
        newer vggzoo's), a missing ``name`` or a bad value is an error."""
        values = _typed(data, source, json_values=True)
        if "name" not in values:
            raise WeightsError(f"{source} records no model name in its facts; export or save "
                               f"it again with this vggzoo")
        return cls(**values)

    def to_metadata(self, *, provenance: bool = False) -> dict[str, str]:
        """The record as ``.safetensors`` metadata (string values; the
        ``model`` key holds :attr:`name`); :func:`parse_metadata` reads it
        back.  ``None`` fields are left out; so is provenance unless asked."""
        return fields_to_metadata({f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                                   if provenance or f.name not in _PROVENANCE})

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



#: Provenance fields: where the weights came from, not what they are.
_PROVENANCE = ("weights", "named_weights")
#: Metadata keys that differ from the field names (kept for older files).
_KEY_OF = {"name": "model"}
_FIELD_OF = {v: k for k, v in _KEY_OF.items()}
_INTS = ("num_classes", "in_chans", "min_input_size")
_FLOATS = ("width_mult", "dropout")
_JSON_OUT = {"preprocessing": lambda p: p.as_dict(),
             "classes": lambda c: None if c is None else list(c),
             "builder_kwargs": lambda kw: dict(kw)}


def fields_to_metadata(fields: Mapping[str, Any]) -> dict[str, str]:
    """String metadata of some of the record's fields (by field name);
    ``None`` values and empty builder keywords are left out."""
    return {_KEY_OF.get(name, name): _to_text(name, value) for name, value in fields.items()
            if value is not None and not (name == "builder_kwargs" and not value)}


def _same(value: Any) -> Any:
    return value


def _to_text(name: str, value: Any) -> str:
    if name in _JSON_OUT:
        try:
            return json.dumps(_JSON_OUT[name](value), sort_keys=True)
        except TypeError as exc:
            raise WeightsError(f"cannot record {name}={value!r} in the model's facts ({exc}): "
                               f"pass values that JSON can hold (numbers, strings, lists)") from exc
    return str(value)  # bools as "True"/"False", as earlier versions wrote them


def parse_metadata(meta: Mapping[str, str], *, source: str) -> dict[str, Any]:
    """The fields of the facts record that string metadata states, typed,
    by field name (absent: the file says nothing).  Reads what every
    version of :func:`vggzoo.save_weights` wrote; a value that does not
    parse is a one-line :class:`~vggzoo.errors.WeightsError`."""
    fields = {_FIELD_OF.get(k, k): v for k, v in meta.items()
              if v not in (None, "", "null") and _FIELD_OF.get(k, k) in _FIELDS}
    return _typed(fields, source, json_values=False)


def _typed(values: Mapping[str, Any], source: str, *, json_values: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name not in _FIELDS or value is None:
            continue
        try:
            out[name] = _parse(name, value, json_values)
        except (ValueError, TypeError, KeyError) as exc:
            raise WeightsError(f"{source} records {name}={value!r}, which cannot be read "
                               f"({type(exc).__name__}: {exc}); save or export it again with "
                               f"vggzoo") from exc
    return out


def _parse(name: str, value: Any, json_values: bool) -> Any:
    if not json_values and name in _JSON_OUT:
        value = json.loads(value)
    if name == "preprocessing":
        return Preprocessing.from_dict(value)
    if name == "classes":
        return tuple(str(c) for c in value) or None
    if name == "builder_kwargs":
        return tuple(sorted(dict(value).items()))
    if name in _INTS:
        return int(value)
    if name in _FLOATS:
        return float(value)
    if name == "fully_conv":
        if isinstance(value, bool):
            return value
        if str(value).lower() not in ("true", "false"):
            raise ValueError("expected True or False")
        return str(value).lower() == "true"
    return str(value)


_FIELDS = frozenset(f.name for f in dataclasses.fields(PretrainedCfg))
