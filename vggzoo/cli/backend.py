"""The backend options of ``vggzoo eval`` and ``vggzoo predict``.

The core command line knows one backend, torch; every other backend's flags
come from its runner plugin.  A runner registers them with its factory::

    register("onnxruntime", build, file_option="onnx", suffix=".onnx",
             flags={"--onnx": ("onnx", "an exported .onnx file"),
                    "--providers": ("providers", "auto, tensorrt, cuda or cpu")})

``flags`` maps a command-line flag to the factory option it sets and its
help.  Runners may share a flag (ONNX Runtime and OpenVINO both read
``--onnx``); the flag given picks the backend when ``--backend`` is not
given (the runner whose ``suffix`` matches the file first), and a flag the
chosen backend does not declare is an error, never dropped.  Everything
else reaches a runner through ``--runner-option KEY=VALUE``, checked and
typed against the factory's signature (:mod:`vggzoo.plugins.options`).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any

from ..errors import OptionError, VggzooError

#: Namespace attributes of plugin flags start with this, so a plugin's flag
#: can never overwrite one of the command's own arguments.
_DEST_PREFIX = "runner_flag_"


@dataclass(frozen=True)
class RunnerFlag:
    """One command-line flag a runner plugin declared."""

    flag: str
    backend: str
    option: str
    help: str
    #: The flag names the file the runner opens (its ``file_option``).
    is_file: bool

    @property
    def dest(self) -> str:
        return _DEST_PREFIX + self.flag.lstrip("-").replace("-", "_")


def runner_flags() -> list[RunnerFlag]:
    """Every flag the registered runners declare, in registration order of
    the backends' names."""
    from ..plugins.registry import RUNNERS

    flags = []
    for name in RUNNERS.names():
        info = RUNNERS.get(name).info
        for flag, (option, text) in info.get("flags", {}).items():
            flags.append(RunnerFlag(flag, name, option, text,
                                    is_file=option == info.get("file_option")))
    return flags


def add_backend_arguments(parser: argparse.ArgumentParser,
                          files: argparse._ActionsContainer | None = None) -> None:
    """``--backend``, ``--device``, ``--plain-eager``, ``--runner-option``
    and the flags of the registered runners; file flags go into ``files``
    (e.g. a mutually exclusive group beside ``--weights``) when given."""
    parser.add_argument("--backend", default=None,
                        help="runner: torch (default), or a plugin's (`vggzoo list runners`); "
                             "a file flag below picks its backend")
    parser.add_argument("--device", default=None,
                        help="cpu (default), cuda or cuda:N, for backends that choose a device")
    parser.add_argument("--plain-eager", action="store_true",
                        help="torch backend: plain NCHW eager instead of the default fast "
                             "settings (channels_last, one thread per physical core); same results")
    parser.add_argument("--runner-option", action="append", default=[], metavar="KEY=VALUE",
                        help="an option of the backend's runner, checked and converted by its "
                             "type (e.g. threads=4, channels_last=false)")
    specs = runner_flags()
    added: dict[str, RunnerFlag] = {}
    for spec in specs:
        if spec.flag in added:  # shared by several runners: one argument, all of them listed
            continue
        sharing = sorted({f.backend for f in specs if f.flag == spec.flag})
        target = files if spec.is_file and files is not None else parser
        try:
            target.add_argument(spec.flag, dest=spec.dest, default=None,
                                metavar="FILE" if spec.is_file else "VALUE",
                                help=f"{spec.help} (backend {', '.join(sharing)})")
        except argparse.ArgumentError as exc:  # a plugin flag that clashes with a core one
            raise VggzooError(f"runner plugin flag {spec.flag} of backend {spec.backend!r} "
                              f"clashes with an option of this command ({exc}); block the plugin "
                              f"with VGGZOO_BLOCK_PLUGINS or ask its author to rename it") from exc
        added[spec.flag] = spec


def resolve_backend(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The backend the command line asks for and the options for its
    factory (before :func:`vggzoo.runtime.create_runner` checks them)."""
    from ..runtime.files import backend_for_file

    specs = runner_flags()
    given = {f.flag: getattr(args, f.dest) for f in specs
             if getattr(args, f.dest, None) is not None}
    backend = args.backend
    if backend is None and given:
        owners = [{f.backend for f in specs if f.flag == flag} for flag in given]
        candidates = sorted(set.intersection(*owners))
        if not candidates:
            raise OptionError(f"{' and '.join(given)} belong to different backends; pass the "
                              f"one you mean with --backend")
        file_flags = [f for f in specs if f.flag in given and f.is_file
                      and f.backend in candidates]
        backend = candidates[0]
        if len(candidates) > 1 and file_flags:
            try:  # the runner whose suffix matches the file (.onnx -> onnxruntime)
                backend = backend_for_file(given[file_flags[0].flag], candidates)
            except OptionError:
                pass
    backend = backend or "torch"
    from ..plugins.registry import RUNNERS

    backend = RUNNERS.get(backend).name  # aliases (ort, trt, ov) to the canonical name
    declared = {f.flag: f for f in specs if f.backend == backend}
    options: dict[str, Any] = {}
    for flag, value in given.items():
        if flag not in declared:
            owners = sorted({f.backend for f in specs if f.flag == flag})
            which = (f"the {owners[0]} backend" if len(owners) == 1
                     else f"the {', '.join(owners)} backends")
            raise OptionError(f"{flag} is an option of {which}, not of --backend {backend}: "
                              f"drop it or choose {'that backend' if len(owners) == 1 else 'one'}")
        options[declared[flag].option] = value
    return backend, {**_common_options(args, backend), **options}


def _common_options(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    """``--device``, ``--plain-eager`` and ``--runner-option`` for ``backend``."""
    from ..runtime.base import runner_options

    device = args.device
    if device is None:  # the documented default, for backends that choose a device
        accepted = runner_options(backend)
        device = "cpu" if accepted is None or "device" in accepted else None
    if device == "cuda" and "LOCAL_RANK" in os.environ:  # one GPU per torchrun process
        device = f"cuda:{os.environ['LOCAL_RANK']}"
    options: dict[str, Any] = {} if device is None else {"device": device}
    if args.plain_eager:
        options["plain_eager"] = True
    for item in args.runner_option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise OptionError(f"--runner-option {item!r}: write KEY=VALUE, e.g. threads=4")
        options[key.strip().replace("-", "_")] = value
    return options


def file_options(options: dict[str, Any]) -> list[str]:
    """The files among a runner's options (``onnx=``, ``engine=``, ...): a
    command's inputs, which none of its outputs may replace."""
    return [str(v) for v in options.values()
            if isinstance(v, (str, os.PathLike)) and os.path.isfile(v)]
