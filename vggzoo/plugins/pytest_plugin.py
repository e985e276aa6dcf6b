"""pytest fixtures for plugin authors, loaded automatically by pytest when
vggzoo is installed (entry point ``pytest11``).

``vggzoo_plugins`` gives a test a clean plugin state (installed plugins load
again lazily, and whatever the test registered is gone afterwards);
``vggzoo_register`` registers a plugin object for one test::

    def test_my_model(vggzoo_register):
        vggzoo_register(my_plugin_module)
        assert "my-model" in vggzoo.list_models()
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from . import manager as plugins


@pytest.fixture
def vggzoo_plugins() -> Iterator[Any]:
    """The :mod:`vggzoo.plugins` module, reset before and after the test."""
    plugins.reset()
    yield plugins
    plugins.reset()


@pytest.fixture
def vggzoo_register(vggzoo_plugins) -> Iterator[Callable[..., str]]:
    """Call with a plugin object to register it for this test only.

    A plugin that the test environment already loaded through its entry
    point is not registered twice.
    """
    added: list[Any] = []

    def register(plugin: Any, name: str | None = None) -> str:
        pm = vggzoo_plugins.get_plugin_manager()
        if pm.is_registered(plugin):
            return pm.get_name(plugin)
        added.append(plugin)
        return vggzoo_plugins.register(plugin, name=name)

    yield register
    for plugin in reversed(added):
        vggzoo_plugins.unregister(plugin)
