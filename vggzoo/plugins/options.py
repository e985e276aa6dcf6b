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

Plugins that import heavy packages only on use register a
:class:`vggzoo._lazy.Lazy`: its signature and type hints are the target's, so
options are checked and converted before the target builds anything.
"""

from __future__ import annotations

import collections.abc
import difflib
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
                  what: str, positional: int = 0, flags: Mapping[str, str] | None = None,
                  fix: str = "drop it or correct its name",
                  error: type[OptionError] = OptionError) -> dict[str, Any]:
    """``options`` checked against ``func``'s parameters (:func:`check_keys`)
    and converted by their types (:func:`convert_option`): the signature is
    read once, here, for both.

    ``what`` names the receiver in errors (``"backend 'torch'"``).  Raises
    ``error`` for an unknown key or a value its parameter's type cannot take.
    """
    if check_keys(func, options, what=what, positional=positional, flags=flags, fix=fix,
                  error=error) is None:
        return dict(options)
    hints = _type_hints(func)
    try:
        return {key: convert_option(key, value, hints.get(key, Any), what=what)
                for key, value in options.items()}
    except OptionError as exc:
        if error is OptionError or isinstance(exc, error):
            raise
        raise error(str(exc)) from None


def convert_option(key: str, value: Any, annotation: Any, *, what: str = "option") -> Any:
    """A command-line string ``value`` converted to ``annotation``; other
    values (given through the API) pass unchanged."""
    if annotation is Any:
        return value
    choices = _flatten(annotation)
    if not isinstance(value, str):
        return _checked_literal(key, value, choices, what=what)
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
    for kind in choices:
        items = _parse_items(value, kind)
        if items is not None:
            return items
    if any(c in (str, Path, os.PathLike) or typing.get_origin(c) is os.PathLike for c in choices):
        return value
    raise OptionError(f"{what}: {key}={value!r} is not {_describe(choices)}; "
                      f"write e.g. {key}={_example(choices)}")


_SEQUENCES = (list, tuple, collections.abc.Sequence, collections.abc.Iterable)


def _parse_items(text: str, annotation: Any) -> Any:
    """``"224x224,256x320"`` for ``Sequence[tuple[int, int]]``, ``"256,384"``
    for ``Sequence[int]``, ``"224x320"`` for ``tuple[int, int]``: items of a
    sequence are comma-separated, fields of a fixed tuple ``x``-separated;
    ``None`` when ``text`` does not fit ``annotation``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin not in _SEQUENCES or not args:
        return None
    fixed = origin is tuple and Ellipsis not in args
    parts = text.lower().split("x") if fixed else [t for t in text.split(",") if t.strip()]
    kinds = args if fixed else [args[0]] * len(parts)
    if not parts or len(parts) != len(kinds):
        return None
    items = []
    for part, kind in zip(parts, kinds):
        if kind in (int, float):
            try:
                items.append(kind(part.strip()))
            except ValueError:
                return None
        else:
            item = _parse_items(part.strip(), kind)
            if item is None:
                return None
            items.append(item)
    return tuple(items) if origin is tuple else items


def _checked_literal(key: str, value: Any, choices: list[Any], *, what: str) -> Any:
    """An API value of a ``Literal``-only parameter must be one of its
    choices; other values pass (their type is the caller's business)."""
    literals = [c for c in choices if typing.get_origin(c) is typing.Literal]
    if not literals or len(literals) != len([c for c in choices if c is not type(None)]):
        return value
    if value is None and type(None) in choices:
        return value
    if any(value in typing.get_args(literal) for literal in literals):
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
        elif typing.get_origin(c) in _SEQUENCES:
            names.append(f"of the form {_example([c])}")
        else:
            names.append({bool: "true/false", int: "an integer", float: "a number"}.get(
                c, getattr(c, "__name__", str(c))))
    return " or ".join(names)


def _example(choices: list[Any]) -> str:
    for c in choices:
        origin, args = typing.get_origin(c), typing.get_args(c)
        if origin in _SEQUENCES and args:
            fixed = origin is tuple and Ellipsis not in args
            items = [_example([a]) for a in (args if fixed else args[:1] * 2)]
            return ("x" if fixed else ",").join(items)
        if typing.get_origin(c) is typing.Literal:
            return str(typing.get_args(c)[0])
        if c in (bool, int, float):
            return {bool: "true", int: "4", float: "0.5"}[c]
    return "VALUE"
