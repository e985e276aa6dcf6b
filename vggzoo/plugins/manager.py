"""The plugin manager: finds plugins, runs their hooks, fills the registries.

Loading is lazy (first registry use) and forgiving: a plugin that fails to
import, calls ``sys.exit()`` (or raises any ``BaseException`` but
``KeyboardInterrupt``) while importing or registering, uses a misspelled hook
(``check_pending``) or raises while registering is skipped with a :class:`VggzooPluginWarning` naming its
distribution and entry point; nothing it registered stays, and ``vggzoo
plugins`` lists it as failed with the error.  Set
``VGGZOO_DISABLE_PLUGIN_AUTOLOAD=1`` to load only vggzoo's own plugins, or
``VGGZOO_BLOCK_PLUGINS=NAME[,NAME...]`` (entry-point or distribution names)
to leave out some, like pytest's ``-p no:NAME``; ``vggzoo plugins`` lists
those as blocked.

>>> import vggzoo
>>> vggzoo.plugins.register(my_plugin_module)    # for code and tests
>>> vggzoo.plugins.unregister(my_plugin_module)
"""

from __future__ import annotations

import importlib
import os
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from .registry import ALL as REGISTRIES

ENTRY_POINT_GROUP = "vggzoo"
DISABLE_AUTOLOAD_ENV = "VGGZOO_DISABLE_PLUGIN_AUTOLOAD"
BLOCK_ENV = "VGGZOO_BLOCK_PLUGINS"
#: vggzoo's own behaviour, registered through the same hooks as third-party code.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "vggzoo.models.builtin",
    "vggzoo.runtime.torch_runner",
    "vggzoo.eval.protocols",
    "vggzoo.data.transforms",
    "vggzoo.training.initializers",
    "vggzoo.weights.named",
)


class VggzooPluginWarning(UserWarning):
    """A plugin was skipped because it failed to load or register."""


@dataclass
class PluginRecord:
    """What ``vggzoo plugins`` shows about one plugin."""

    name: str
    builtin: bool = False
    distribution: str | None = None
    version: str | None = None
    entry_point: str | None = None
    hooks: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None
    #: Left out on purpose (``VGGZOO_BLOCK_PLUGINS``): not loaded, not an error.
    blocked: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


_pm: pluggy.PluginManager | None = None
_records: dict[str, PluginRecord] = {}


def load() -> pluggy.PluginManager:
    """Load built-in and installed plugins once; later calls are free."""
    global _pm
    if _pm is not None:
        return _pm
    _pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    _pm.add_hookspecs(hookspecs)
    for module_name in BUILTIN_PLUGINS:
        _add(importlib.import_module(module_name), PluginRecord(module_name, builtin=True),
             strict=True)
    if not os.environ.get(DISABLE_AUTOLOAD_ENV):
        blocked = blocked_names()
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            _load_entry_point(ep, blocked)
    return _pm


def blocked_names() -> set[str]:
    """Entry-point or distribution names in ``VGGZOO_BLOCK_PLUGINS``."""
    return {n.strip() for n in os.environ.get(BLOCK_ENV, "").split(",") if n.strip()}


def get_plugin_manager() -> pluggy.PluginManager:
    """The loaded :class:`pluggy.PluginManager` (loads plugins if needed)."""
    return load()


def _load_entry_point(ep: metadata.EntryPoint, blocked: set[str] = frozenset()) -> None:
    dist = getattr(ep, "dist", None)
    record = PluginRecord(
        name=ep.name,
        distribution=dist.metadata["Name"] if dist is not None else None,
        version=dist.version if dist is not None else None,
        entry_point=f"{ep.name} = {ep.value}",
    )
    if {record.name, record.distribution} & blocked:
        record.blocked = True
        _records.setdefault(record.name, record)
        return
    if ep.name in _records:
        record.error = (f"entry point name {ep.name!r} is already used by "
                        f"{_describe(_records[ep.name])}")
        _records[f"{ep.name} ({record.distribution})"] = record
        _warn(record)
        return
    try:
        plugin = ep.load()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # any import-time error, sys.exit() too, must not break vggzoo
        record.error = _error_text(exc)
        _records[record.name] = record
        _warn(record)
        return
    _add(plugin, record, strict=False)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"called sys.exit({exc.code!r})"
    return f"{type(exc).__name__}: {exc}"


def _describe(record: PluginRecord) -> str:
    if record.builtin:
        return f"vggzoo's built-in plugin {record.name!r}"
    dist = f"{record.distribution} {record.version}" if record.distribution else "unknown distribution"
    where = f"entry point '{record.entry_point}'" if record.entry_point else "registered in code"
    return f"plugin {record.name!r} ({where}, distribution {dist})"


def _warn(record: PluginRecord) -> None:
    warnings.warn(f"vggzoo skipped {_describe(record)}: {record.error}. "
                  f"Fix or uninstall it; `vggzoo plugins` lists the failures.",
                  VggzooPluginWarning, stacklevel=3)


def _add(plugin: Any, record: PluginRecord, *, strict: bool) -> None:
    """Register ``plugin`` and run its registration hooks, all or nothing."""
    assert _pm is not None
    _records[record.name] = record
    try:
        _pm.register(plugin, name=record.name)
        _pm.check_pending()
        record.hooks = sorted(caller.name for caller in _pm.get_hookcallers(plugin) or [])
        for registry in REGISTRIES:
            for impl in getattr(_pm.hook, registry.hook).get_hookimpls():
                if impl.plugin_name != record.name:
                    continue
                register = _register_callback(registry, record)
                impl.function(**{arg: register for arg in impl.argnames})
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        _forget(record.name, plugin)
        record.error = _error_text(exc)
        record.registered = {}
        if strict:
            del _records[record.name]
            raise
        _warn(record)


def _register_callback(registry, record: PluginRecord):
    def register(name: str, obj: Any, **info: Any) -> None:
        registry.register(name, obj, source=record.name, **info)
        record.registered.setdefault(registry.kind, []).append(name)

    return register


def _forget(name: str, plugin: Any) -> None:
    assert _pm is not None
    if _pm.is_registered(plugin):
        _pm.unregister(plugin)
    for registry in REGISTRIES:
        registry.unregister_source(name)


def register(plugin: Any, name: str | None = None) -> str:
    """Register a plugin object from code (tests, notebooks); returns its name.

    Unlike installed plugins, errors propagate: the caller wants to know.
    """
    pm = load()
    name = name or pm.get_canonical_name(plugin)
    if name in _records:
        raise ValueError(f"a plugin named {name!r} is already registered ({_describe(_records[name])}); "
                         f"pass another name= or unregister it first")
    _add(plugin, PluginRecord(name), strict=True)
    return name


def unregister(plugin: Any) -> None:
    """Remove a plugin and everything it registered."""
    pm = load()
    name = pm.get_name(plugin)
    if name is None:
        raise ValueError(f"{plugin!r} is not a registered vggzoo plugin")
    _forget(name, plugin)
    _records.pop(name, None)


def records() -> list[PluginRecord]:
    """Every plugin seen, loaded or failed, built-ins first."""
    load()
    return sorted(_records.values(), key=lambda r: (not r.builtin, r.name))


def reset() -> None:
    """Forget all plugins and re-arm lazy loading (tests, or after pip installs)."""
    global _pm
    _pm = None
    _records.clear()
    for registry in REGISTRIES:
        registry.clear(on_first_use=load)
    importlib.invalidate_caches()
