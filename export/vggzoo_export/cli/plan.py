"""The plan of a ``vggzoo-export MODEL`` run: which registered exporters
run, in which order, on which files, with which options, all checked
before anything is built or written.

No format is named here.  ``--format F`` (default ``onnx``) exports the
model; every registered format with info ``arguments`` (a
:class:`vggzoo.plugins.exporters.StepArguments`) adds its own flag, and
when that flag is given its step is placed by what it consumes (the model,
a file another step produces, or one the user names) and what it produces
(a file of its own format): ``--trt`` after the ONNX export, ``--triton``
after ``--trt`` for ``--backend tensorrt``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vggzoo.errors import OptionError, VggzooError

from ..core.artifacts import check_writable

#: Flags of the model exporters' options.
NETWORK_FLAGS = {"opset": "--opset", "batch": "--batch", "exporter": "--exporter",
                 "sizes": "--sizes", "fp16": "--fp16"}


@dataclass
class Step:
    """One registered exporter of a ``vggzoo-export MODEL`` run."""

    format: str
    output: Path
    options: dict[str, Any]
    #: What it converts: ``None`` for the model, else a file an earlier step
    #: writes (or ``--onnx`` / ``--engine`` names).
    source: Path | None = None
    #: The command-line flag of each option, for error messages.
    flags: dict[str, str] = field(default_factory=dict)
    #: File name suggested when ``-o`` names a folder.
    default_name: str | None = None
    #: The exporter takes a ``log`` callback (set when the options are checked).
    takes_log: bool = False
    #: The line printed after a chained step (``None``: the model's table).
    summary: Any = None


@dataclass
class _Chained:
    """A requested format with its own flag, and what it consumes."""

    format: str
    arguments: Any
    consumes: str
    given: Path | None


def step_arguments() -> list[tuple[str, Any]]:
    """(format, :class:`StepArguments`) of every registered format that has
    its own flag, in registry order."""
    from vggzoo._lazy import import_object
    from vggzoo.plugins.registry import EXPORTERS

    return [(e.name, import_object(e.info.arguments)) for e in EXPORTERS.entries()
            if e.info.arguments]


def add_step_arguments(parser: argparse.ArgumentParser) -> None:
    """Every registered format's own flag and options."""
    for _, arguments in step_arguments():
        arguments.add_arguments(parser)


def plan_export(args: argparse.Namespace) -> list[Step]:
    """The exporters this command line asks for, in order, with every
    option and output checked: nothing is built or written before all pass."""
    chained = _requested(args)
    by_flag = [c for c in chained if c.consumes == "model"]
    if by_flag:
        _only(args, by_flag[0], chained)
    available = {c.consumes: c.given for c in chained if c.given is not None}
    produced = {c.format for c in chained}
    needed = {c.consumes for c in chained} - set(available) - produced - {"model"}
    needs_model = bool(by_flag) or not chained or bool(needed)
    if args.num_classes == 0:
        from vggzoo.models.vgg import NO_CLASSES

        raise VggzooError(NO_CLASSES)
    name = _name(args, needs_model, available)
    steps: list[Step] = []
    if by_flag:
        steps.append(_flag_model_step(args, by_flag[0], name))
        available[steps[0].format] = steps[0].output
        for fmt in getattr(by_flag[0].arguments, "chains", {}):  # its file serves as one
            available.setdefault(fmt, steps[0].output)
    elif needs_model:
        model_step = _model_step(args, name, needed, chained)
        steps.append(model_step)
        available[model_step.format] = model_step.output
    pending = [c for c in chained if c.consumes != "model"]
    while pending:
        ready = [c for c in pending if c.consumes in available]
        if not ready:
            c = pending[0]
            raise OptionError(f"{c.arguments.flag} needs a {c.consumes} file: add the flag that "
                              f"builds one, or name one")
        for c in ready:
            source = c.given or available[c.consumes]
            output = c.arguments.output(args, name, source)
            steps.append(Step(c.format, output, c.arguments.options(args, name), source,
                              dict(c.arguments.flags), summary=c.arguments.summary))
            available.setdefault(c.format, output)
            pending.remove(c)
    return checked_steps(steps)


def _requested(args: argparse.Namespace) -> list[_Chained]:
    from vggzoo.plugins.registry import EXPORTERS

    chained = []
    for fmt, arguments in step_arguments():
        if arguments.requested(args):
            arguments.check(args)
            consumes = arguments.consumes(args, EXPORTERS.get(fmt).info.input)
            chained.append(_Chained(fmt, arguments, consumes, arguments.given(args)))
    return chained


def _only(args: argparse.Namespace, chosen: _Chained, chained: Sequence[_Chained]) -> None:
    """A model format chosen by its flag writes one file by itself, or
    feeds the steps its ``chains`` name (format -> flags)."""
    chains = getattr(chosen.arguments, "chains", {})
    others = [c.arguments.flag for c in chained
              if c is not chosen and c.arguments.flag not in chains.get(c.consumes, ())]
    if args.format != "onnx" or args.export_option or others:
        dropped = ", ".join(["--format", "--export-option", *others])
        raise VggzooError(f"{chosen.arguments.flag} writes one file by itself: drop {dropped}")


def _name(args: argparse.Namespace, needs_model: bool, available: dict[str, Path]) -> str | None:
    """The model's registry name, or the one a given ONNX file records."""
    if needs_model or "onnx" not in available:
        if not needs_model and args.model is None and args.weights is None:
            return None
        return vggzoo_name(model_name(args))
    from ..core.metadata import read_onnx_metadata

    return read_onnx_metadata(available["onnx"]).model


def _flag_model_step(args: argparse.Namespace, chosen: _Chained, name: str) -> Step:
    """A model format chosen by its own flag (``--int8``)."""
    from vggzoo.plugins.registry import EXPORTERS

    output = chosen.arguments.output(args, name, None)
    return Step(chosen.format, output, chosen.arguments.options(args, name),
                flags=dict(chosen.arguments.flags),
                default_name=name + EXPORTERS.get(chosen.format).info.suffix)


def _model_step(args: argparse.Namespace, name: str, needed: set[str],
                chained: Sequence[_Chained]) -> Step:
    """``--format F`` on the model, with its options and ``--export-option``."""
    from vggzoo.plugins.registry import EXPORTERS

    entry = EXPORTERS.get(args.format)
    if entry.info.input != "model":
        raise OptionError(f"format {args.format!r} converts an exported file, not a model "
                          f"({entry.info.description}): use its own flag, or "
                          f"--format onnx / aoti")
    for consumed in needed - {args.format}:
        flag = next(c.arguments.flag for c in chained if c.consumes == consumed)
        raise VggzooError(f"{flag} builds from the {consumed} file, not {args.format}: drop "
                          f"--format {args.format}")
    default = name + entry.info.suffix
    claimed = any(c.arguments.claims_output(args) for c in chained)
    output = Path(default) if claimed else Path(args.output or default)
    options = {k: v for k, v in {"opset": args.opset, "batch": args.batch,
                                 "exporter": args.exporter, "sizes": args.sizes}.items()
               if v is not None}
    if args.fp16:
        options["fp16"] = True
    extra = export_options(args.export_option)
    options.update(extra)  # checked and converted with every other option, below
    return Step(args.format, output, options,
                flags={**NETWORK_FLAGS, **dict.fromkeys(extra, "--export-option")},
                default_name=default)


def checked_steps(steps: list[Step]) -> list[Step]:
    """``steps`` after every option of every step (its key against the
    exporter's signature, its value against the annotation, converted), then
    every value check and output, passed: nothing is built before all pass.
    This is the one place the options of a ``vggzoo-export`` run are checked."""
    from vggzoo.plugins.exporters import check_step_options, check_values
    from vggzoo.plugins.options import accepted_options
    from vggzoo.plugins.registry import EXPORTERS

    from ..errors import ExporterOptionError

    for step in steps:  # every option of every step, before any value check
        exporter = EXPORTERS.get(step.format).obj
        step.options = check_step_options(step.format, exporter, step.options, flags=step.flags,
                                          error=ExporterOptionError)
        step.takes_log = "log" in (accepted_options(exporter, positional=2) or {})
    for step in steps:
        exporter = EXPORTERS.get(step.format)
        check_values(exporter.obj, step.output, step.options)
        if not exporter.info.folder:
            check_writable(step.output, step.default_name)
    return steps


def export_options(items: Sequence[str]) -> dict[str, str]:
    """``--export-option KEY=VALUE`` strings as a dict (values still strings)."""
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise OptionError(f"--export-option {item!r}: write KEY=VALUE, e.g. fully_conv=false")
        options[key.strip().replace("-", "_")] = value
    return options


def model_name(args: argparse.Namespace) -> str:
    """MODEL, or the architecture the --weights record (a run directory,
    a vggzoo .safetensors file or named weights)."""
    if args.model is not None:
        return args.model
    if args.weights is not None:
        from vggzoo.weights.files import read_facts

        recorded = read_facts(args.weights).model
        if recorded:
            return recorded
    raise VggzooError("which model? pass MODEL (e.g. vgg16) or --weights that record it "
                      "(a training run directory, its model.safetensors, or vgg16.tv_in1k)")


def vggzoo_name(model: str) -> str:
    """The canonical registry name of a model name or alias (``D`` -> ``vgg16``)."""
    from vggzoo.plugins.registry import MODELS

    return MODELS.get(model).name
