"""Memory estimated before work: what a VGG forward pass at a given input
size and batch will need, what this process may use, and a one-line refusal
when the first exceeds the second.

Every path that allocates by a size a user or a file chose (test scales of
``predict`` and ``eval``, the training scale recorded in weights, export
parity sizes, int8 calibration scales, benchmark sizes, the dense protocol
graph) asks :func:`require_fits` *before* it allocates.  A scale of 30000 on
an 8x8 image would otherwise grow the process until the kernel kills it.

The estimate (:func:`forward_bytes`) walks the layout of the paper's
configuration (:data:`vggzoo.models.configs.LAYOUTS`) at the model's width:
the largest layer's input plus output (the two tensors alive at once while
it runs; ReLUs are in place), times the batch, plus the network input and the
weights (oneDNN keeps a reordered copy of the convolution weights).  Callers
add what they hold beside the network (the rescaled images of a chunk).

The limit (:func:`memory_limit`) is the smallest of: the cgroup's memory
limit minus its usage (v2 ``memory.max``, v1 ``memory.limit_in_bytes``),
the address-space limit (``RLIMIT_AS``) minus the address space in use,
``MemAvailable`` of ``/proc/meminfo``, and :data:`LIMIT_ENV` when set.

>>> need = forward_bytes(network_shape("vgg16"), 256, 341, batch=2)
>>> require_fits("predict at Q=256", lambda q: need, 256, option="--scales")
"""

from __future__ import annotations

import os
import re
import resource
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MemoryEstimateError, VggzooError
from ..models.configs import HEAD_KERNEL, HIDDEN_WIDTH, LAYOUTS, LRN, MIN_INPUT_SIZE, M, LayerSpec

#: Environment variable bounding the memory vggzoo plans for (``8GiB``,
#: ``512M``, or bytes); the smaller of it and the machine's limit is used.
LIMIT_ENV = "VGGZOO_MEMORY_LIMIT"
#: Bytes per activation value: fp32 (reduced-precision autocast keeps fp32
#: inputs and outputs, so fp32 is the bound for every precision).
FLOAT_BYTES = 4
#: The layout assumed for a network that does not say which it is: the
#: deepest (its first layers, where activations peak, are every VGG's).
FALLBACK_LAYOUT = "E"
#: Margin over the counted tensors for the allocator and kernel workspaces
#: (oneDNN's re-laid-out inputs): measured peaks of VGG16 at 1/16 width and
#: 1024-2048 pixels were 2-5% over the counted tensors.
HEADROOM = 1.25
_UNITS = {"": 1, "b": 1, "k": 10 ** 3, "kb": 10 ** 3, "kib": 2 ** 10, "m": 10 ** 6,
          "mb": 10 ** 6, "mib": 2 ** 20, "g": 10 ** 9, "gb": 10 ** 9, "gib": 2 ** 30,
          "t": 10 ** 12, "tb": 10 ** 12, "tib": 2 ** 40}


@dataclass(frozen=True)
class NetworkShape:
    """What the memory of a forward pass depends on."""

    layout: tuple[LayerSpec, ...]
    width_mult: float = 1.0
    in_chans: int = 3
    num_classes: int = 1000
    batch_norm: bool = False


@dataclass(frozen=True)
class MemoryLimit:
    """Bytes this process may still allocate, and which bound set it."""

    bytes: int
    source: str


def network_shape(model: Any = None, **facts: Any) -> NetworkShape:
    """The :class:`NetworkShape` of a model name, an ``nn.Module`` with a
    ``pretrained_cfg``, a runner (its ``architecture`` or model) or an
    exported file's metadata (``.architecture``); ``facts`` (``width_mult``,
    ``num_classes``, ``in_chans``) override.  Anything unknown falls back to
    the deepest layout at full width: an estimate too high, never too low."""
    cfg = getattr(model, "pretrained_cfg", None) or getattr(
        getattr(model, "model", None), "pretrained_cfg", None)
    arch = getattr(model, "architecture", None)
    found: dict[str, Any] = {}
    if cfg is not None:
        found = {"name": cfg.name, "width_mult": cfg.width_mult, "num_classes": cfg.num_classes,
                 "in_chans": cfg.in_chans}
    elif isinstance(arch, dict):
        found = dict(arch)
    elif isinstance(model, str):
        found = {"name": model}
    found.update({k: v for k, v in facts.items() if v is not None})
    layout, batch_norm = _layout_of(found.get("name"))
    return NetworkShape(tuple(layout), float(found.get("width_mult") or 1.0),
                        int(found.get("in_chans") or 3), int(found.get("num_classes") or 1000),
                        batch_norm)


def _layout_of(name: str | None) -> tuple[list[LayerSpec], bool]:
    if name:
        try:
            from ..plugins.registry import MODELS

            info = MODELS.get(name).info
            if info.get("config") in LAYOUTS:
                return LAYOUTS[info["config"]], bool(info.get("batch_norm", False))
        except VggzooError:
            pass
    return LAYOUTS[FALLBACK_LAYOUT], False


def _scaled(width: int, width_mult: float) -> int:
    return max(1, int(round(width * width_mult)))  # as vggzoo.models.vgg.scaled


def _layers(net: NetworkShape, height: int, width: int) -> Iterator[tuple[int, int]]:
    """(input values, output values) of each layer for one image."""
    channels, h, w = net.in_chans, height, width
    for item in net.layout:
        if item == M:
            yield channels * h * w, channels * (h // 2) * (w // 2)
            h, w = h // 2, w // 2
        elif item == LRN:
            yield channels * h * w, channels * h * w
        else:
            out = _scaled(item[0] if isinstance(item, tuple) else item, net.width_mult)
            yield channels * h * w, out * h * w
            if net.batch_norm:
                yield out * h * w, out * h * w
            channels = out
    hidden = _scaled(HIDDEN_WIDTH, net.width_mult)
    mh, mw = max(1, h - HEAD_KERNEL + 1), max(1, w - HEAD_KERNEL + 1)
    yield channels * h * w, hidden * mh * mw
    yield hidden * mh * mw, hidden * mh * mw
    yield hidden * mh * mw, net.num_classes * mh * mw


def weight_bytes(net: NetworkShape) -> int:
    """Bytes of the network's parameters (fp32)."""
    count, channels = 0, net.in_chans
    for item in net.layout:
        if item in (M, LRN):
            continue
        width, kernel = item if isinstance(item, tuple) else (item, 3)
        out = _scaled(width, net.width_mult)
        count += kernel * kernel * channels * out + out + (4 * out if net.batch_norm else 0)
        channels = out
    hidden = _scaled(HIDDEN_WIDTH, net.width_mult)
    count += HEAD_KERNEL ** 2 * channels * hidden + hidden + hidden * hidden + hidden
    count += hidden * net.num_classes + net.num_classes
    return count * FLOAT_BYTES


def forward_bytes(net: NetworkShape, height: int, width: int, *, batch: int = 1) -> int:
    """Peak bytes of one forward pass of ``batch`` inputs of ``height`` x
    ``width``: the largest layer's input + output, the input batch (and the
    runner's re-laid-out copy of it), with :data:`HEADROOM`, and the weights."""
    peak = max(a + b for a, b in _layers(net, height, width))
    inputs = 2 * net.in_chans * height * width
    return int(batch * (peak + inputs) * FLOAT_BYTES * HEADROOM) + weight_bytes(net)


#: Private memory of one DataLoader worker process before it loads anything:
#: a fork of a process that imported torch measured 19 MiB; the rest is margin
#: for the image decoders it loads.
WORKER_BASE_BYTES = 64 * 2 ** 20


def loader_worker_bytes(batch: int, crop: int, scale: int, *, prefetch: int) -> int:
    """Peak bytes of one training DataLoader worker: the ``prefetch``
    batches it loads ahead (float32 ``crop`` crops, held in shared memory
    until the training process takes them), one image being rescaled to the
    training ``scale`` (input and output, float32, aspect ratio up to 2),
    and the process itself (:data:`WORKER_BASE_BYTES`)."""
    batches = prefetch * batch * 3 * crop * crop * FLOAT_BYTES
    rescale = 2 * 3 * scale * (2 * scale) * FLOAT_BYTES
    return int((batches + rescale) * HEADROOM) + WORKER_BASE_BYTES


def workers_fitting(per_worker: int) -> tuple[int, str]:
    """How many worker processes of ``per_worker`` bytes fit in
    :func:`memory_limit`, and why (the estimate, the limit and its source)."""
    limit = memory_limit()
    return limit.bytes // max(1, per_worker), (
        f"each worker process needs about {_gib(per_worker)} and this process may use "
        f"{_gib(limit.bytes)} ({limit.source})")


def parse_bytes(text: str) -> int:
    """``"8GiB"``, ``"512M"``, ``"1e9"`` -> bytes."""
    match = re.fullmatch(r"\s*([0-9.eE+]+)\s*([a-zA-Z]*)\s*", str(text))
    unit = match and _UNITS.get(match[2].lower())
    try:
        value = float(match[1]) * unit if match and unit else None
    except ValueError:
        value = None
    if value is None or not value > 0:
        raise VggzooError(f"{LIMIT_ENV}={text!r}: write a size such as 8GiB, 512MiB or a number "
                          f"of bytes")
    return int(value)


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _cgroup_limits() -> Iterator[tuple[int, str]]:
    """(bytes left, description) of the cgroup v2 and v1 memory limits."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return
    for line in lines:
        _, controllers, rel = line.split(":", 2)
        rel = rel.lstrip("/")
        if controllers == "":
            bases = [Path("/sys/fs/cgroup", rel), Path("/sys/fs/cgroup/unified", rel)]
            files = ("memory.max", "memory.current")
        elif "memory" in controllers.split(","):
            bases = [Path("/sys/fs/cgroup/memory", rel), Path("/sys/fs/cgroup/memory")]
            files = ("memory.limit_in_bytes", "memory.usage_in_bytes")
        else:
            continue
        for base in bases:
            limit, used = _read_int(base / files[0]), _read_int(base / files[1])
            if limit is not None and limit < 1 << 60:
                yield max(0, limit - (used or 0)), f"cgroup limit {_gib(limit)} ({base / files[0]})"
                break


def _address_space_left() -> tuple[int, str] | None:
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    used = 0
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                used = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return max(0, soft - used), f"address-space limit RLIMIT_AS {_gib(soft)}"


def _mem_available() -> tuple[int, str] | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024, "MemAvailable in /proc/meminfo"
    except (OSError, ValueError, IndexError):
        pass
    return None


def memory_limit() -> MemoryLimit:
    """The bytes this process may still allocate: the tightest of the
    cgroup limit, ``RLIMIT_AS``, ``MemAvailable`` and :data:`LIMIT_ENV`."""
    bounds = [*_cgroup_limits(), _address_space_left(), _mem_available()]
    if os.environ.get(LIMIT_ENV):
        bounds.append((parse_bytes(os.environ[LIMIT_ENV]), f"{LIMIT_ENV}"))
    bounds = [b for b in bounds if b is not None]
    if not bounds:  # not Linux: nothing to read; do not refuse
        return MemoryLimit(1 << 62, "unknown (no limit found)")
    left, source = min(bounds, key=lambda b: b[0])
    return MemoryLimit(int(left), source)


def format_bytes(n: int) -> str:
    """``n`` bytes as messages write them (``1.5 GiB``, ``300 MiB``)."""
    return _gib(n)


def _gib(n: int) -> str:
    return f"{n / 2 ** 30:.1f} GiB" if n >= 2 ** 27 else f"{n / 2 ** 20:.0f} MiB"


def largest_fitting(bytes_at: Callable[[int], int], up_to: int, limit: int,
                    lowest: int = 1) -> int | None:
    """The largest scale in [``lowest``, ``up_to``] whose estimate fits in
    ``limit`` (estimates grow with the scale), or None."""
    if bytes_at(lowest) > limit:
        return None
    lo, hi = lowest, up_to
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if bytes_at(mid) <= limit else (lo, mid - 1)
    return lo


def require_fits(what: str, bytes_at: Callable[[int], int], scale: int, *, option: str,
                 lowest: int = 1, fix: str = "") -> int:
    """Raise :class:`MemoryEstimateError` (one line: the estimate, the
    limit and the largest ``option`` value that fits) unless
    ``bytes_at(scale)`` fits in :func:`memory_limit`; returns the estimate."""
    need = bytes_at(scale)
    limit = memory_limit()
    if need <= limit.bytes:
        return need
    fits = largest_fitting(bytes_at, scale, limit.bytes, lowest) if scale > lowest else None
    advice = (f"use {option} {fits} or smaller" if fits is not None else
              f"not even {option} {lowest} fits")
    raise MemoryEstimateError(
        f"{what} needs about {_gib(need)} but this process may use {_gib(limit.bytes)} "
        f"({limit.source}): {advice}{'; ' + fix if fix else ''}")


def require_sizes_fit(what: str, net: NetworkShape, sizes: Sequence[tuple[int, int]],
                      batch: int, *, option: str, copies: int = 1, held: int = 0,
                      lowest: int = MIN_INPUT_SIZE, by_side: bool = True) -> None:
    """:func:`require_fits` for forward passes at (height, width) ``sizes``:
    ``copies`` networks (runtimes whose arenas keep their peak) each running
    a ``batch`` at the largest size, plus ``held`` bytes.  The largest size
    that fits is named by its shortest side (the same shape, scaled), as
    ``option N`` when ``by_side`` is false (``option`` is that side)."""
    if not sizes:
        return
    big = max(sizes, key=lambda s: s[0] * s[1])
    short = min(big)

    def bytes_at(side: int) -> int:
        f = side / short
        return copies * forward_bytes(net, max(1, round(big[0] * f)), max(1, round(big[1] * f)),
                                      batch=batch) + held

    require_fits(f"{what} at {big[0]}x{big[1]} (batch {batch})", bytes_at, short,
                 option=f"{option} with a shortest side of" if by_side else option,
                 lowest=min(lowest, short))
