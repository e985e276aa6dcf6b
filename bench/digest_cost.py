"""Cost of verifying content digests on load (issue 20): full-size VGG16
(random init, 138M parameters, 528 MB of fp32 tensors) saved as
``.safetensors`` by ``save_weights`` and as a training checkpoint (model plus
SGD momentum, what ``last.pt`` holds), loaded with and without verification,
interleaved in each round; the ratio is per round (verified / unverified),
and the table shows medians (and the range of the per-round ratios).
Target: at most 1.25x the load time.

Loads measured:

* ``read_state_dict + load_into``: the weights file's tensors into a built
  model (what every entry point does after building the model);
* ``create(weights=...)``: the whole public call, model construction
  included (what ``vggzoo predict``/``eval`` pay);
* ``load_checkpoint + restore``: a checkpoint into model and optimizer (what
  ``--resume`` does);
* ``save_checkpoint``: writing a checkpoint, which reads the new file back
  and verifies it before it replaces ``last.pt``.

The loads are measured twice: warm (the file in the page cache, as on a
second load) and cold (``(cold)`` rows: the file is fsynced and evicted from
the page cache with ``posix_fadvise(DONTNEED)`` before every load, both
verified and not, as the first load after a copy, download or reboot reads
it from disk).  The folder must be on a disk, not tmpfs (``--dir``).

Prints the lscpu model name and flags and the load average (before and
after: the machine may be shared, so only the side-by-side ratios compare).
``python bench/digest_cost.py [--rounds 5] [--dir DIR]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

import vggzoo
from vggzoo.cli.output import echo, print_table
from vggzoo.runtime.machine import cpu_info
from vggzoo.training.checkpoint import load_checkpoint, save_checkpoint
from vggzoo.weights.files import load_into, read_state_dict, save_weights
from vggzoo.weights.verify import VERIFY_ENV


def timed(step: Callable[[], object]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def with_verification(on: bool, step: Callable[[], object]) -> Callable[[], object]:
    """``step`` run with ``VGGZOO_VERIFY`` set to on/off (for calls that read it)."""
    def run() -> object:
        os.environ[VERIFY_ENV] = "1" if on else "0"
        try:
            return step()
        finally:
            os.environ.pop(VERIFY_ENV, None)
    return run


def evict(path: Path) -> None:
    """Drop ``path``'s pages from the page cache (clean pages need no root)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


#: (untimed preparation before each run or None, ``verify -> step``).
Case = tuple[Callable[[], None] | None, Callable[[bool], Callable[[], object]]]


def cases(folder: Path) -> dict[str, Case]:
    """Each measured load (warm, cold, and the checkpoint write)."""
    model = vggzoo.create("vgg16")
    weights = save_weights(model, folder / "vgg16.safetensors")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model(torch.zeros(1, 3, 224, 224)).sum().backward()
    optimizer.step()  # momentum buffers, as in a real checkpoint
    contents = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 1,
                "step": 1}
    checkpoint = save_checkpoint(folder / "last.pt", contents)

    def restore(verify: bool) -> Callable[[], object]:
        def run() -> None:
            ckpt = load_checkpoint(checkpoint, verify=verify)
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
        return run

    def release_and_evict() -> None:
        # The restored momentum buffers still map the previous round's checkpoint
        # (torch.load(mmap=True)); mapped pages cannot be evicted, so copy them out.
        for state in optimizer.state.values():
            state["momentum_buffer"] = state["momentum_buffer"].clone()
        evict(checkpoint)

    loads = {
        "read_state_dict + load_into": (lambda: evict(weights), lambda verify: lambda: load_into(
            model, read_state_dict(weights, verify=verify), source=str(weights))),
        "create(weights=...)": (lambda: evict(weights), lambda verify: with_verification(
            verify, lambda: vggzoo.create("vgg16", weights=weights))),
        "load_checkpoint + restore": (release_and_evict, restore),
    }
    measured: dict[str, Case] = {name: (None, make) for name, (_, make) in loads.items()}
    measured["save_checkpoint"] = (None, lambda verify: with_verification(
        verify, lambda: save_checkpoint(folder / "last.pt", contents)))
    measured.update({f"{name} (cold)": case for name, case in loads.items()})
    return measured


def timed_after(prepare: Callable[[], None] | None, step: Callable[[], object]) -> float:
    """Seconds of ``step``, after its untimed preparation (a cold row's eviction)."""
    if prepare is not None:
        prepare()
    return timed(step)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None,
                        help="folder on a disk for the files (default: the temp folder)")
    args = parser.parse_args()
    info = cpu_info()
    echo(f"CPU: {info['model_name']} ({info['cpus']} CPUs), torch {torch.__version__}, "
         f"{torch.get_num_threads()} threads; load average {os.getloadavg()}")
    echo(f"lscpu flags: {info['flags']}")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        measured = cases(Path(tmp))
        rows = []
        for name, (prepare, make) in measured.items():
            plain, checked = make(False), make(True)
            plain()  # warm-up: page cache, allocator
            checked()
            pairs = [(timed_after(prepare, plain), timed_after(prepare, checked))
                     for _ in range(args.rounds)]
            base = statistics.median(p for p, _ in pairs)
            verified = statistics.median(c for _, c in pairs)
            ratios = [c / p for p, c in pairs]
            ratio = statistics.median(ratios)
            rows.append((name, f"{base:.3f}", f"{verified:.3f}", f"{verified - base:+.3f}",
                         f"{ratio:.2f}x", f"{min(ratios):.2f}-{max(ratios):.2f}",
                         "yes" if ratio <= 1.25 else "no"))
    print_table(f"VGG16 full size, median of {args.rounds} interleaved rounds",
                ("load", "unverified s", "verified s", "cost s", "ratio", "ratio range",
                 "<= 1.25x"), rows)
    echo(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
