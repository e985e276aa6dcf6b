"""Lazy attributes for packages (PEP 562): public names are imported from
their modules on first use, so importing the package stays light (the CLI
starts without evaluation, training or torchvision; pytest's entry point
does not import torch)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(package: str, names: Mapping[str, str],
                    namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``names`` maps a public
    name to the submodule (relative to ``package``) that defines it.

    >>> __getattr__, __dir__ = lazy_attributes(__name__, {"train": "trainer"}, globals())
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
