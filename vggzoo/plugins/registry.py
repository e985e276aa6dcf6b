"""Named registries that plugins fill: models, augmentations, initializers,
evaluation protocols and exporters.

Every entry remembers which plugin registered it, so a clash names both
sides, ``vggzoo plugins`` can show what each plugin added, and unregistering a
plugin removes exactly its entries.  Registries fill themselves on first use
by loading the plugins (see :mod:`vggzoo.plugins`).

An object can be registered as a :class:`vggzoo._lazy.Lazy` (imported from
``"package.module:name"`` or made by a zero-argument builder on first use).
A ``Lazy`` that already is the registry's kind of object (a callable
factory: calling it makes the target) is handed out as it is; one that is
not (named weights) is made, once, when the registry first hands out its
entry.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from .._lazy import Lazy
from ..errors import DuplicateNameError, RegistrationError, UnknownNameError
from .hookspecs import OBJECTS
from .info import (AugmentationHookInfo, EvalProtocolHookInfo, ExporterHookInfo, HookInfo,
                   InitializerHookInfo, ModelHookInfo, RunnerHookInfo, WeightsHookInfo, make_info)

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered object and the facts its plugin gave with it."""

    name: str
    obj: T
    source: str
    #: The hook's typed ``info`` (:mod:`vggzoo.plugins.info`), defaults filled in.
    info: HookInfo = field(default_factory=HookInfo)

    @property
    def aliases(self) -> tuple[str, ...]:
        return self.info.aliases


class Registry(Generic[T]):
    """Name -> object mapping with aliases, fnmatch listing and helpful errors.

    >>> reg = Registry("model")
    >>> reg.register("tiny", object(), source="my-plugin", aliases=["t"])
    >>> reg.get("t").name
    'tiny'
    """

    def __init__(self, kind: str, *, hook: str | None = None, info: type[HookInfo] = HookInfo,
                 on_first_use: Callable[[], None] | None = None) -> None:
        self.kind = kind
        #: The pluggy hook through which plugins fill this registry.
        self.hook = hook
        #: The dataclass ``register(name, obj, **info)`` checks ``info`` against.
        self.info_type = info
        #: The :class:`typing.Protocol` a registered ``obj`` must satisfy.
        self.obj_type: type | None = OBJECTS.get(hook or "")
        self._entries: dict[str, Entry[T]] = {}
        self._aliases: dict[str, str] = {}
        self._on_first_use = on_first_use

    def _ready(self) -> None:
        if self._on_first_use is not None:
            load, self._on_first_use = self._on_first_use, None
            load()

    def _owner(self, name: str) -> Entry[T] | None:
        canonical = self._aliases.get(name, name)
        return self._entries.get(canonical)

    def register(self, name: str, obj: T, *, source: str = "<code>", **info: Any) -> None:
        """Add ``obj`` under ``name`` (and ``info["aliases"]``).

        Raises :class:`~vggzoo.errors.RegistrationError` for an ``info`` key
        the hook does not take (close matches named) and
        :class:`DuplicateNameError` naming both sources when a name or alias
        is taken.
        """
        what = f"{self.kind} {name!r} from {source!r}"
        typed = make_info(self.info_type, info, what=what)
        self._check_obj(obj, what)
        for key in (name, *typed.aliases):
            taken = self._owner(key)
            if taken is not None:
                raise DuplicateNameError(
                    f"{self.kind} name {key!r} from {source!r} is already registered by "
                    f"{taken.source!r}; rename one of them or uninstall one plugin")
        self._entries[name] = Entry(name, obj, source, typed)
        for alias in typed.aliases:
            self._aliases[alias] = name

    def _check_obj(self, obj: Any, what: str) -> None:
        kind = self.obj_type
        if kind is None or isinstance(obj, (Lazy, kind)):
            return
        doc = (kind.__doc__ or "").strip().splitlines()[0]
        raise RegistrationError(f"{what}: obj must be a {kind.__name__} ({doc}), got "
                                f"{type(obj).__name__} {obj!r:.60}")

    def clear(self, *, on_first_use: Callable[[], None] | None = None) -> None:
        """Drop every entry; ``on_first_use`` re-arms lazy filling."""
        self._entries.clear()
        self._aliases.clear()
        self._on_first_use = on_first_use

    def unregister_source(self, source: str) -> list[str]:
        """Remove every entry ``source`` registered; returns their names."""
        gone = [n for n, e in self._entries.items() if e.source == source]
        for name in gone:
            del self._entries[name]
        self._aliases = {a: n for a, n in self._aliases.items() if n in self._entries}
        return gone

    def get(self, name: str) -> Entry[T]:
        """The entry for a name or alias; unknown names list close matches."""
        self._ready()
        entry = self._owner(name)
        if entry is None:
            raise UnknownNameError(self._unknown_message(name))
        return self._built(entry)

    def _built(self, entry: Entry[T]) -> Entry[T]:
        """``entry`` with a :class:`~vggzoo._lazy.Lazy` object made (once)
        unless the ``Lazy`` already is this registry's kind of object."""
        if not isinstance(entry.obj, Lazy) or (self.obj_type is not None
                                               and isinstance(entry.obj, self.obj_type)):
            return entry
        built = replace(entry, obj=entry.obj.resolve())
        if self._entries.get(entry.name) is entry:
            self._entries[entry.name] = built
        return built

    def _unknown_message(self, name: str) -> str:
        candidates = [*self._entries, *self._aliases]
        close = difflib.get_close_matches(name, candidates, n=5, cutoff=0.5)
        if not close:  # e.g. "vgg16bn": prefix matches read better than ratios
            close = [c for c in candidates if c.startswith(name[:4])][:5]
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        known = ", ".join(sorted(self._entries)) or "none"
        return f"unknown {self.kind} {name!r}.{hint} Known {self.kind}s: {known}."

    def names(self, pattern: str = "*") -> list[str]:
        """Canonical names matching an fnmatch pattern, sorted."""
        self._ready()
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def entries(self) -> list[Entry[T]]:
        self._ready()
        return [self._built(self._entries[n]) for n in sorted(self._entries)]

    def __contains__(self, name: object) -> bool:
        self._ready()
        return isinstance(name, str) and self._owner(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._ready()
        return len(self._entries)


def _load_plugins() -> None:
    from . import manager as plugins

    plugins.load()


MODELS: Registry = Registry("model", hook="vggzoo_register_models", info=ModelHookInfo,
                            on_first_use=_load_plugins)
AUGMENTATIONS: Registry = Registry("augmentation", hook="vggzoo_register_augmentations",
                                   info=AugmentationHookInfo, on_first_use=_load_plugins)
INITIALIZERS: Registry = Registry("initializer", hook="vggzoo_register_initializers",
                                  info=InitializerHookInfo, on_first_use=_load_plugins)
EVAL_PROTOCOLS: Registry = Registry("evaluation protocol", hook="vggzoo_register_eval_protocols",
                                    info=EvalProtocolHookInfo, on_first_use=_load_plugins)
EXPORTERS: Registry = Registry("exporter", hook="vggzoo_register_exporters",
                               info=ExporterHookInfo, on_first_use=_load_plugins)
RUNNERS: Registry = Registry("runner", hook="vggzoo_register_runners", info=RunnerHookInfo,
                             on_first_use=_load_plugins)
WEIGHTS: Registry = Registry("named weights", hook="vggzoo_register_weights",
                             info=WeightsHookInfo, on_first_use=_load_plugins)

ALL: tuple[Registry, ...] = (MODELS, AUGMENTATIONS, INITIALIZERS, EVAL_PROTOCOLS, EXPORTERS, RUNNERS,
                             WEIGHTS)
