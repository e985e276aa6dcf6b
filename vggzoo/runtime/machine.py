"""Facts about the machine that every benchmark prints with its timings
(a ratio measured on one CPU says little without its model and flags)."""

from __future__ import annotations

import platform
import subprocess


def cpu_info() -> dict[str, str]:
    """``lscpu``'s model name, CPU count and flags.

    >>> print(cpu_info()["model_name"])
    AMD EPYC
    """
    info = {"model_name": platform.processor() or platform.machine(), "cpus": "", "flags": ""}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return info
    keys = {"Model name": "model_name", "CPU(s)": "cpus", "Flags": "flags"}
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in keys:
            info[keys[key.strip()]] = value.strip()
    return info


def cpu_flags() -> set[str]:
    """``lscpu``'s CPU flags as a set (empty when lscpu is unavailable)."""
    return set(cpu_info()["flags"].split())


#: Flags of CPUs that compute bf16 natively (AVX-512 BF16, or AMX tiles).
BF16_FLAGS: tuple[str, ...] = ("avx512_bf16", "amx_bf16")


def has_native_bf16(flags: set[str] | None = None) -> bool:
    """Whether this CPU has bf16 arithmetic; without it bf16 is emulated and
    slower than fp32, so vggzoo refuses it rather than run slowly."""
    return bool(set(BF16_FLAGS) & (cpu_flags() if flags is None else flags))


def require_native_bf16(what: str) -> None:
    """Raise :class:`~vggzoo.errors.BackendUnavailableError` (one line) when
    ``what`` asks for bf16 on a CPU without native bf16."""
    if not has_native_bf16():
        from ..errors import BackendUnavailableError

        raise BackendUnavailableError(
            f"{what}: this CPU has no {' or '.join(BF16_FLAGS)} (lscpu flags), so bf16 would "
            f"be emulated and slower than fp32; use fp32 (or int8) here")


def physical_cores() -> int:
    """Physical cores this process may run on (not hyper-threads)."""
    import os
    from pathlib import Path

    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        list(range(os.cpu_count() or 1))
    cores = set()
    for cpu in cpus:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add(((topology / "physical_package_id").read_text().strip(),
                       (topology / "core_id").read_text().strip()))
        except OSError:
            return len(cpus)
    return max(1, len(cores))
