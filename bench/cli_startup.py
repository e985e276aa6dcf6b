"""Start-up time of the ``vggzoo`` command line against ``import torch``
(issue 12's goal: ``vggzoo list`` within 1.5x of ``python -c "import torch"``).

Both run as fresh processes, interleaved round by round so load from other
users of a shared machine hits both alike; the result is the median of the
per-round ratios, printed with the lscpu model name and flags.  Also times
``python -c "import vggzoo"`` (what pytest's plugin entry point costs every
test run in an environment with vggzoo installed).

Usage: ``python bench/cli_startup.py [--rounds 7] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from vggzoo.cli.output import echo, print_table
from vggzoo.runtime.machine import cpu_info

#: The ``vggzoo`` script of this interpreter's environment (as a user runs it).
VGGZOO = str(Path(sys.executable).with_name("vggzoo")) if Path(sys.executable).with_name(
    "vggzoo").exists() else (shutil.which("vggzoo") or "vggzoo")
COMMANDS = {
    "import torch": [sys.executable, "-c", "import torch"],
    "import vggzoo": [sys.executable, "-c", "import vggzoo"],
    "vggzoo list": [VGGZOO, "list"],
    "vggzoo info vgg16 --json": [VGGZOO, "info", "vgg16", "--json"],
}


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    for command in COMMANDS.values():  # warm the page cache once
        seconds(command)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.rounds):
        for name, command in COMMANDS.items():
            times[name].append(seconds(command))
    base = times["import torch"]
    rows, result = [], {"cpu": cpu_info(), "rounds": args.rounds, "commands": {}}
    for name, values in times.items():
        ratio = statistics.median(v / b for v, b in zip(values, base))
        rows.append((name, f"{statistics.median(values):.2f}", f"{ratio:.2f}x"))
        result["commands"][name] = {"median_s": statistics.median(values), "ratio": ratio}
    print_table("start-up, median of rounds (ratio: per-round vs import torch)",
                ("command", "seconds", "vs import torch"), rows)
    info = result["cpu"]
    echo(f"CPU: {info['model_name']} ({info['cpus']} CPUs); lscpu flags: {info['flags']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
