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
