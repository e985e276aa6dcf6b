"""Plugins: the hook specifications (:mod:`.hookspecs`), the plugin manager
that loads built-in and installed plugins (:mod:`.manager`), the registries
they fill (:mod:`.registry`), option checking (:mod:`.options`) and helpers
for plugin authors' tests (:mod:`.testing`, :mod:`.pytest_plugin`);
:class:`Lazy` registers an object made on first use.

>>> import vggzoo
>>> vggzoo.plugins.register(my_plugin)
'my_plugin'
"""

from .._lazy import Lazy, lazy_attributes
from .manager import (BLOCK_ENV, BUILTIN_PLUGINS, DISABLE_AUTOLOAD_ENV, ENTRY_POINT_GROUP,
                      PluginRecord, VggzooPluginWarning, blocked_names, get_plugin_manager, load,
                      records, register, reset, unregister)

__all__ = [
    "BLOCK_ENV", "BUILTIN_PLUGINS", "Lazy", "DISABLE_AUTOLOAD_ENV", "ENTRY_POINT_GROUP", "PluginRecord",
    "VggzooPluginWarning", "blocked_names", "get_plugin_manager", "load", "records", "register",
    "reset", "unregister",
]

__getattr__, __dir__ = lazy_attributes(__name__, {}, globals())  # submodules on first use
