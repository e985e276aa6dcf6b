"""Options given by name to a plugin's factory, checked against its signature.

Runner factories (and other plugin callables) are reached through strings:
``--runner-option channels_last=false``, ``create_runner("torch",
precision="bf16")``.  Before this module a factory took ``**options`` and
dropped what it did not know, so a misspelt ``precison="bf16"`` silently gave
an fp32 runner and ``channels_last=false`` arrived as the truthy string
``"false"``.  Here the factory's own signature is the contract:

- a key the factory does not take is an :class:`~vggzoo.errors.OptionError`
  that names close matches and the keys it does take;
- a string value (what the command line gives) is converted by the
  parameter's annotation: ``bool`` (``true/false/yes/no/on/off/1/0``),
  ``int``, ``float``, ``Literal[...]`` choices, ``None`` (``none``) and
  ``str``/path types as they are.

A factory can still take ``**kwargs`` on purpose (then every key is
accepted and nothing is converted: its own code checks them).

Plugins that import heavy packages only on use register a :class:`LazyCallable`:
its signature and type hints are the target's, so options are checked and
converted before the target builds anything.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import OptionError

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_NONE = frozenset({"none", "null"})


class LazyCallable:
    """A callable named ``"package.module:function"``, imported on first use.

    ``inspect.signature`` and :func:`check_options` see the target's
    parameters (through ``__wrapped__``), so a registry can hold it without
    importing onnxruntime or TensorRT while options are still checked.

    >>> build = LazyCallable("vggzoo_export.onnx.runner:build_ort_runner")
    >>> runner = build(onnx="vgg16.onnx")
    """

    def __init__(self, target: str, doc: str | None = None) -> None:
        module, sep, name = target.partition(":")
        if not sep or not module or not name:
            raise ValueError(f"LazyCallable target {target!r}: write 'package.module:function'")
        self.target = target
        self.__doc__ = doc or f"{target}, imported on first use."
        self._resolved: Callable[..., Any] | None = None

    @property
    def __wrapped__(self) -> Callable[..., Any]:
        if self._resolved is None:
            module, _, name = self.target.partition(":")
            self._resolved = getattr(importlib.import_module(module), name)
        return self._resolved

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__wrapped__(*args, **kwargs)

    def __repr__(self) -> str:
        return f"LazyCallable({self.target!r})"


def accepted_options(func: Callable[..., Any], *,
                     positional: int = 0) -> dict[str, inspect.Parameter] | None:
    """The keyword parameters ``func`` takes after its first ``positional``
    arguments (an exporter's ``source`` and ``output``), or ``None`` when it
    takes ``**kwargs``."""
    params = list(inspect.signature(func).parameters.values())  # follows __wrapped__
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    leading = [p for p in params if p.kind in (inspect.Parameter.POSITIONAL_ONLY,
                                               inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    skipped = {p.name for p in leading[:positional]}
    return {p.name: p for p in params if p.name not in skipped
            and p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)}


def check_keys(func: Callable[..., Any], options: Mapping[str, Any], *, what: str,
               positional: int = 0, flags: Mapping[str, str] | None = None,
               fix: str = "drop it or correct its name",
               error: type[OptionError] = OptionError) -> dict[str, inspect.Parameter] | None:
    """Raise ``error`` unless ``func`` takes every key of ``options``: one
    line naming the key (and the flag that set it, from ``flags``), close
    matches, the keys ``func`` does take, and ``fix``.  Returns
    :func:`accepted_options` of ``func``."""
    accepted = accepted_options(func, positional=positional)
    if accepted is None:
        return None
    unknown = [key for key in options if key not in accepted]
    if not unknown:
        return accepted
    key = unknown[0]
    flag = (flags or {}).get(key)
    close = difflib.get_close_matches(key, list(accepted), n=3, cutoff=0.6)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise error(f"{what} does not take that option: {key!r}{f' (from {flag})' if flag else ''}."
                f"{hint} It takes: {', '.join(sorted(accepted)) or 'no options'}; {fix}")


def check_options(func: Callable[..., Any], options: Mapping[str, Any], *,
                  what: str, positional: int = 0) -> dict[str, Any]:
    """``options`` checked against ``func``'s parameters (:func:`check_keys`)
    and converted by their types (:func:`convert_option`).

    ``what`` names the receiver in errors (``"backend 'torch'"``).  Raises
    :class:`~vggzoo.errors.OptionError` for an unknown key or a value its
    parameter's type cannot take.
    """
    if check_keys(func, options, what=what, positional=positional) is None:
        return dict(options)
    hints = _type_hints(func)
    return {key: convert_option(key, value, hints.get(key, Any), what=what)
            for key, value in options.items()}


def convert_option(key: str, value: Any, annotation: Any, *, what: str = "option") -> Any:
    """A command-line string ``value`` converted to ``annotation``; other
    values (given through the API) pass unchanged."""
    if not isinstance(value, str) or annotation is Any:
        return value
    choices = _flatten(annotation)
    text = value.strip().lower()
    for kind in choices:  # the order below, not the annotation's, decides
        if kind is type(None) and text in _NONE:
            return None
    literals = [c for c in choices if typing.get_origin(c) is typing.Literal]
    for literal in literals:
        if value in typing.get_args(literal):
            return value
    if bool in choices:
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    if int in choices:
        try:
            return int(value)
        except ValueError:
            pass
    if float in choices:
        try:
            return float(value)
        except ValueError:
            pass
    if any(c in (str, Path, os.PathLike) or typing.get_origin(c) is os.PathLike for c in choices):
        return value
    raise OptionError(f"{what}: {key}={value!r} is not {_describe(choices)}; "
                      f"write e.g. {key}={_example(choices)}")


def _type_hints(func: Callable[..., Any]) -> dict[str, Any]:
    target = inspect.unwrap(func)
    try:
        return typing.get_type_hints(target)
    except Exception:  # an annotation naming something not importable: no conversion
        return {}


def _flatten(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return [c for arg in typing.get_args(annotation) for c in _flatten(arg)]
    return [annotation]


def _describe(choices: list[Any]) -> str:
    names = []
    for c in choices:
        if typing.get_origin(c) is typing.Literal:
            names.append("one of " + ", ".join(map(str, typing.get_args(c))))
        elif c is type(None):
            names.append("none")
        else:
            names.append({bool: "true/false", int: "an integer", float: "a number"}.get(
                c, getattr(c, "__name__", str(c))))
    return " or ".join(names)


def _example(choices: list[Any]) -> str:
    for c in choices:
        if typing.get_origin(c) is typing.Literal:
            return str(typing.get_args(c)[0])
        if c in (bool, int, float):
            return {bool: "true", int: "4", float: "0.5"}[c]
    return "VALUE"
