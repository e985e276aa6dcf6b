"""Making things on first use, in one place: so that importing vggzoo and
registering every plugin stays light (the CLI starts without evaluation,
training or torchvision; pytest's entry point does not import torch).

- :func:`lazy_attributes`: a package's public names (PEP 562), imported
  from their modules on first use, and so are the package's own submodules
  (``vggzoo.eval.evaluate_protocols`` works after a bare ``import vggzoo``);
- :class:`Lazy`: one registered object (a runner factory, an export format,
  named weights) imported from ``"package.module:name"`` or returned by a
  zero-argument builder on first use.

Both import through :func:`import_object`.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def import_object(target: str) -> Any:
    """The object ``"package.module:name"`` names, its module imported.

    >>> import_object("vggzoo.errors:VggzooError").__name__
    'VggzooError'
    """
    module, name = _split_target(target, "import target")
    return getattr(importlib.import_module(module), name)


def _split_target(target: str, what: str) -> tuple[str, str]:
    """``"package.module:name"`` as (module, name), else a ValueError."""
    module, sep, name = target.partition(":")
    if not sep or not module or not name:
        raise ValueError(f"{what} {target!r}: write 'package.module:name'")
    return module, name


class Lazy(Generic[T]):
    """An object made on first use: imported from ``"package.module:name"``
    or returned by a zero-argument builder, once (:meth:`resolve`).

    A ``Lazy`` stands in for what it makes.  Calling it calls the made
    object, and ``inspect.signature`` sees the made object's parameters
    (through ``__wrapped__``), so a registry holds a runner factory or an
    export format without importing onnxruntime or TensorRT while its
    options are still checked (:mod:`vggzoo.plugins.options`).  A registry
    whose objects are not callables (named weights) hands out what a
    ``Lazy`` makes when its entry is first looked up
    (:class:`vggzoo.plugins.registry.Registry`).  ``check="package.module:name"``
    names an export format's value check (read as ``.check``, see
    :func:`vggzoo.plugins.exporters.check_values`).

    >>> error = Lazy("vggzoo.errors:VggzooError")
    >>> error("from a lazy class").args
    ('from a lazy class',)
    >>> Lazy(lambda: {"num_classes": 1000}).resolve()
    {'num_classes': 1000}
    """

    def __init__(self, target: str | Callable[[], T], doc: str | None = None, *,
                 check: str | None = None) -> None:
        for text in [t for t in (target, check) if isinstance(t, str)]:
            _split_target(text, "Lazy target")
        if not isinstance(target, str) and not callable(target):
            raise TypeError(f"Lazy target must be 'package.module:name' or a zero-argument "
                            f"builder, got {type(target).__name__}")
        self.target = target
        self.__doc__ = doc or f"{target}, made on first use."
        self._check = check
        self._made: list[T] = []  # empty until made (None is a value)

    def resolve(self) -> T:
        """The object, imported or built the first time."""
        if not self._made:
            target = self.target
            self._made.append(import_object(target) if isinstance(target, str) else target())
        return self._made[0]

    @property
    def __wrapped__(self) -> T:
        return self.resolve()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)  # type: ignore[operator]

    def __getattr__(self, name: str) -> Any:
        if name == "check" and self.__dict__.get("_check"):
            return import_object(self._check)
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"Lazy({self.target!r})"


def lazy_attributes(package: str, names: Mapping[str, str], namespace: dict[str, Any], *,
                    submodules: bool = True) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``names`` maps a public
    name to the submodule (relative to ``package``) that defines it; with
    ``submodules``, any other attribute that names a submodule
    (``vggzoo.runtime``) imports it.  A plain module (``namespace`` its
    ``globals()``) passes its package and ``submodules=False`` to import
    one heavy name from a sibling on first use.

    >>> __getattr__, __dir__ = lazy_attributes(__name__, {"train": "trainer"}, globals())
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is not None:
            value = import_object(f"{package}.{module}:{name}")
        elif submodules and not name.startswith("__") and _is_submodule(package, name):
            value = importlib.import_module(f".{name}", package)
        else:
            raise AttributeError(f"module {namespace.get('__name__', package)!r} has no "
                                 f"attribute {name!r}")
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
