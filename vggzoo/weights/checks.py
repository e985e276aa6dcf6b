"""What a weights file says about itself, checked before anything uses it.

Metadata can lie (an edited header, a file saved by a buggy tool, weights
renamed after a re-training): a class count the head does not have, class
names of another length, names that are not strings or repeat, a width or
channel count the first convolution contradicts, a preprocessing with a zero
std or two means, a dropout of 2.  Each is a one-line
:class:`~vggzoo.errors.WeightsError` naming both sides, raised before a
model is built, instead of a warning and a freshly initialised head that
prints confident classes the file never had, or a ``ValueError`` deep
inside a transform.

:func:`check_metadata` checks the raw string values (``.safetensors``
metadata; an export's ``vggzoo.*`` properties without the prefix);
:func:`check_against_tensors` checks what they say against the tensors.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import torch

from ..errors import WeightsError

#: Largest training scale a recorded ``train_scale`` may name (pixels, shortest side).
MAX_TRAIN_SCALE = 4096
FIX = "re-save the weights with vggzoo.save_weights, or pass other weights"


def _bad(source: str, key: str, value: Any, why: str) -> WeightsError:
    return WeightsError(f"{source}: its metadata {key}={value!r} {why}; {FIX}")


def _number(source: str, key: str, text: str, kind: type) -> Any:
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise _bad(source, key, text, f"is not a{'n integer' if kind is int else ' number'}") \
            from None
    if not math.isfinite(value):
        raise _bad(source, key, text, "is not finite")
    return value


def _json(source: str, key: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise _bad(source, key, text, "is not valid JSON") from None


def check_metadata(meta: Mapping[str, str], source: str) -> None:
    """Raise :class:`WeightsError` for a recorded value that cannot be right
    whatever the tensors hold."""
    def given(key: str) -> str | None:
        value = meta.get(key)
        return None if value in (None, "", "null") else value

    for key in ("num_classes", "in_chans"):
        if given(key) is not None and _number(source, key, given(key), int) < (key == "in_chans"):
            raise _bad(source, key, given(key), "is out of range")
    if given("width_mult") is not None and _number(source, "width_mult", given("width_mult"),
                                                   float) <= 0:
        raise _bad(source, "width_mult", given("width_mult"), "is not a positive width")
    if given("dropout") is not None and not 0 <= _number(source, "dropout", given("dropout"),
                                                         float) < 1:
        raise _bad(source, "dropout", given("dropout"), "is not a probability in [0, 1)")
    if given("classes") is not None:
        check_class_names(_json(source, "classes", given("classes")), source)
    if given("preprocessing") is not None:
        check_preprocessing(_json(source, "preprocessing", given("preprocessing")), source)
    if given("train_scale") is not None:
        check_train_scale(given("train_scale"), source)


def check_class_names(classes: Any, source: str) -> None:
    """A list of distinct, non-empty strings."""
    if not isinstance(classes, list) or not all(isinstance(c, str) and c for c in classes):
        raise _bad(source, "classes", classes, "is not a list of class names (strings)")
    repeated = sorted({c for c in classes if classes.count(c) > 1})
    if repeated:
        raise _bad(source, "classes", repeated[:5], "names the same class more than once")


def check_preprocessing(fields: Any, source: str) -> None:
    """Three finite means in [0, 1] and three finite positive stds, for the
    0-1 RGB tensors :class:`~vggzoo.data.preprocess.Preprocessing` works on."""
    if not isinstance(fields, dict) or not isinstance(fields.get("name", ""), str):
        raise _bad(source, "preprocessing", fields, "is not a {name, mean, std} record")
    for key, low, why in (("mean", 0.0, "3 finite means in [0, 1] (0-1 pixels)"),
                          ("std", None, "3 finite positive stds")):
        values = fields.get(key)
        ok = (isinstance(values, list) and len(values) == 3
              and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                      and math.isfinite(v) for v in values))
        if ok and low is not None:
            ok = all(low <= v <= 1.0 for v in values)
        elif ok:
            ok = all(v > 0 for v in values)
        if not ok:
            raise _bad(source, f"preprocessing {key}", values, f"is not {why}")


def check_train_scale(text: str, source: str) -> None:
    """A training scale the network can be trained and tested at."""
    from ..data.scales import TrainScale
    from ..errors import ScaleError
    from ..models.configs import MIN_INPUT_SIZE

    try:
        scale = TrainScale.parse(text)
    except ScaleError as exc:
        raise _bad(source, "train_scale", text, f"cannot be read ({exc})") from None
    if scale.smin < MIN_INPUT_SIZE or scale.smax > MAX_TRAIN_SCALE:
        raise _bad(source, "train_scale", text, f"is outside the {MIN_INPUT_SIZE}-"
                   f"{MAX_TRAIN_SCALE} pixels a VGG trains at")


def head_rows(state: Mapping[str, torch.Tensor]) -> int | None:
    """Rows of the last classifier layer's weight (the class count), if any."""
    heads = [int(k.split(".")[1]) for k in state
             if k.startswith("classifier.") and k.endswith(".weight") and k.split(".")[1].isdigit()]
    return int(state[f"classifier.{max(heads)}.weight"].shape[0]) if heads else None


def check_against_tensors(facts: Any, state: Mapping[str, torch.Tensor] | None) -> None:
    """Raise :class:`WeightsError` when the facts (``num_classes``,
    ``classes``, ``width_mult``, ``in_chans``) contradict the tensors."""
    source = facts.source
    if facts.classes is not None:
        check_class_names(list(facts.classes), source)
        if facts.num_classes is not None and len(facts.classes) != facts.num_classes:
            raise WeightsError(f"{source}: its metadata names {len(facts.classes)} classes but "
                               f"records num_classes={facts.num_classes}; {FIX}")
    if not state:
        return
    rows = head_rows(state)
    recorded = facts.num_classes if facts.num_classes is not None else (
        len(facts.classes) if facts.classes is not None else None)
    if rows is not None and recorded is not None and rows != recorded:
        raise WeightsError(f"{source}: its metadata records {recorded} classes but its "
                           f"classifier has {rows} outputs; {FIX}")
    first = state.get("features.0.weight")
    if first is None or first.dim() != 4:
        return
    if facts.in_chans is not None and first.shape[1] != facts.in_chans:
        raise WeightsError(f"{source}: its metadata records in_chans={facts.in_chans} but its "
                           f"first convolution takes {first.shape[1]} channels; {FIX}")
    if facts.width_mult is not None and _paper_layout(facts.model):
        from ..models.vgg import scaled

        expected = scaled(64, float(facts.width_mult))  # conv1_1 of every paper layout
        if expected != first.shape[0]:
            raise WeightsError(f"{source}: its metadata records width_mult={facts.width_mult} "
                               f"({expected} channels in the first convolution) but that "
                               f"convolution has {first.shape[0]}; {FIX}")


def _paper_layout(model: str | None) -> bool:
    """Whether ``model`` is one of the paper's layouts (conv1_1 has 64 channels
    at width 1); a plugin's model may start elsewhere."""
    from ..errors import UnknownNameError
    from ..plugins.registry import MODELS

    if model is None:
        return False
    try:
        return bool(MODELS.get(model).info.get("config"))
    except UnknownNameError:
        return False
