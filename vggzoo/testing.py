"""Helpers for testing vggzoo plugins.

>>> from vggzoo.testing import plugin_registered
>>> with plugin_registered(my_plugin):
...     vggzoo.create("my-model")
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from . import plugins

#: A ``width_mult`` that keeps every model small enough for unit tests
#: (a VGG16 forward pass at 224-512 pixels costs milliseconds).
TINY_WIDTH = 1 / 16


@contextlib.contextmanager
def plugin_registered(plugin: Any, name: str | None = None) -> Iterator[str]:
    """Register ``plugin`` for the duration of a ``with`` block (or a test)."""
    registered = plugins.register(plugin, name=name)
    try:
        yield registered
    finally:
        plugins.unregister(plugin)
