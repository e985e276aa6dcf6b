"""Running a command under a hard address-space limit (``RLIMIT_AS``), so a
size that the memory estimate fails to refuse ends in a MemoryError of that
one process instead of exhausting the machine."""

from __future__ import annotations

import functools
import os
import re
import resource
import subprocess
import sys
from pathlib import Path

#: Address space allowed beyond what a process that imported vggzoo, torch
#: and onnxruntime and ran one forward pass already has.
HEADROOM = 2 << 30
BIN = Path(sys.executable).parent
_BASELINE = """
import onnxruntime, torch, vggzoo, vggzoo_export
vggzoo.create("vgg11", width_mult=1 / 16, num_classes=3, fully_conv=True)(torch.zeros(1, 3, 224, 224))
print([l for l in open("/proc/self/status") if l.startswith("VmPeak")][0].split()[1])
"""


@functools.lru_cache(maxsize=1)
def address_space_limit() -> int:
    """Bytes of address space for the limited commands: this machine's
    baseline (threads reserve address space per core) plus :data:`HEADROOM`."""
    out = subprocess.run([sys.executable, "-c", _BASELINE], capture_output=True, text=True,
                         check=True).stdout
    return int(out.split()[-1]) * 1024 + HEADROOM


def run_limited(args: list[str], *, env: dict[str, str] | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess:
    """``args`` (a console script of this virtualenv, or ``python``) under
    :func:`address_space_limit`."""
    limit = address_space_limit()

    def restrict() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    command = [str(BIN / args[0]) if args[0] != "python" else sys.executable, *args[1:]]
    return subprocess.run(command, preexec_fn=restrict, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def assert_refused(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """The command ended with exit 2 and one line naming the estimate, the
    limit and what fits; returns that line."""
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, err[-2000:])
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for needle in ("needs about", "may use", *needles):
        assert needle in err, err
    return err


def suggested(line: str, option: str) -> int:
    """The largest value of ``option`` the refusal says fits."""
    return int(re.search(re.escape(option) + r"(?: with a shortest side of)? (\d+) or smaller",
                         line)[1])
