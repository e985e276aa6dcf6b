"""Lazy attributes for packages (PEP 562), the one mechanism every vggzoo
and vggzoo-export package uses: public names are imported from their
modules on first use, and so are the package's own submodules
(``vggzoo.eval.evaluate_protocols`` works after a bare ``import vggzoo``), so importing
the package stays light (the CLI starts without evaluation, training or
torchvision; pytest's entry point does not import torch)."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(package: str, names: Mapping[str, str],
                    namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``names`` maps a public
    name to the submodule (relative to ``package``) that defines it; any
    other attribute that names a submodule (``vggzoo.runtime``) imports it.

    >>> __getattr__, __dir__ = lazy_attributes(__name__, {"train": "trainer"}, globals())
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is not None:
            value = getattr(importlib.import_module(f".{module}", package), name)
        elif not name.startswith("__") and _is_submodule(package, name):
            value = importlib.import_module(f".{name}", package)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__


def _is_submodule(package: str, name: str) -> bool:
    """Whether ``package.name`` is a module or package on disk (found in the
    package's own ``__path__``, so nothing is imported to find out)."""
    try:
        return importlib.util.find_spec(f"{package}.{name}") is not None
    except (ImportError, ValueError):
        return False
