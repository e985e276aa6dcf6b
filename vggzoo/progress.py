"""Progress of long work, reported without a terminal.

Library code (training, evaluation, dataset statistics, benchmarks) never
draws on the screen: it calls the ``progress`` callable its caller passed,
``progress(done, total, **info)``, and the caller decides what to show.  The
command line passes a rich progress bar (:class:`vggzoo.cli.output.ProgressBar`);
a notebook, a test or a service passes anything else, or nothing.

``done`` and ``total`` count units of the work (images, optimizer steps,
timed calls; ``total`` is ``None`` while unknown).  ``info`` keys depend on
the work and are documented where it is reported:

* :func:`vggzoo.train`: ``epoch`` (1-based), ``loss`` (last micro batch),
  ``lr``, ``images_per_s``; ``done``/``total`` count optimizer steps of
  that epoch, and a new ``epoch`` starts a new count.
* :func:`vggzoo.evaluate`: images read or skipped, of this process's shard.
* :func:`vggzoo.data.stats.compute_stats`: images.
* ``vggzoo_export.bench.run_benchmark``: timed and warm-up calls;
  ``description`` names the runtime and input being timed.

>>> seen = []
>>> vggzoo.evaluate("vgg11", "w.safetensors", "val",
...                 progress=lambda done, total, **info: seen.append((done, total)))
"""

from __future__ import annotations

from typing import Any, Protocol


class Progress(Protocol):
    """What a caller passes as ``progress``: called as work advances."""

    def __call__(self, done: int, total: int | None, /, **info: Any) -> None: ...


def no_progress(done: int, total: int | None, /, **info: Any) -> None:
    """The default ``progress``: report nothing."""


def as_progress(progress: Progress | bool | None) -> Progress:
    """``progress`` as a callable: ``None`` and ``False`` report nothing.

    ``True`` is refused: library code has no screen of its own to draw a bar
    on, so asking it for one would silently show nothing.
    """
    if progress is None or progress is False:
        return no_progress
    if progress is True or not callable(progress):
        raise TypeError(f"progress={progress!r}: pass a callable progress(done, total, **info) "
                        f"(vggzoo.cli.output.ProgressBar draws a terminal bar) or None")
    return progress
