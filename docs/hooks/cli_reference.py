"""mkdocs hook: the command-line reference, generated at build time.

``docs/reference/cli.md`` holds a marker that this hook replaces with one
section per command, read from the real argparse parsers of ``vggzoo`` and
``vggzoo-export``: usage, description, and a table of every argument (flags,
metavar, default, help). Nothing is copied by hand, so the reference cannot
fall behind the code; runner plugins' flags (``--onnx``, ``--engine`` ...)
appear because the parsers declare them from the installed plugins.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator

MARKER = "<!-- cli-reference -->"
#: Usage lines are wrapped at this width, whatever the terminal building the site.
WIDTH = "88"


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001 (mkdocs API)
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, cli_reference())


def cli_reference() -> str:
    """Markdown for every command of both programs."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        return "\n".join(section for parser, level in _parsers() for section in
                         _sections(parser, level))
    finally:
        if saved is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved


def _parsers() -> Iterator[tuple[argparse.ArgumentParser, int]]:
    from vggzoo.cli import build_parser
    from vggzoo.cli.errors import add_debug_argument
    from vggzoo_export.cli import main as export_main

    yield build_parser(), 2
    # vggzoo-export picks one of these parsers by its first word (see its main()),
    # adding --debug to each.
    for name in ("export", *export_main.SUBCOMMANDS):
        parser = getattr(export_main, f"{name}_parser")()
        add_debug_argument(parser)
        yield parser, 2


def _sections(parser: argparse.ArgumentParser, level: int) -> Iterator[str]:
    yield f"{'#' * level} `{parser.prog}`\n"
    if parser.description:
        yield f"{parser.description}\n"
    yield f"```text\n{parser.format_usage().strip()}\n```\n"
    for group in parser._action_groups:   # positionals, options, then e.g. "int8 (...)"
        rows = [_row(parser, action) for action in group._group_actions
                if action.help is not argparse.SUPPRESS and not _is_subcommands(action)]
        if rows:
            yield f"*{group.title}*\n"
            yield "| argument | default | description |\n|---|---|---|"
            yield "\n".join(rows) + "\n"
    for action in parser._actions:
        if _is_subcommands(action):
            yield from _subcommands(action, level)


def _is_subcommands(action: argparse.Action) -> bool:
    return isinstance(action, argparse._SubParsersAction)


def _subcommands(action: argparse._SubParsersAction, level: int) -> Iterator[str]:
    helps = {choice.dest: choice.help for choice in action._choices_actions}
    yield "| command | what it does |\n|---|---|"
    yield "\n".join(f"| `{name}` | {_cell(helps.get(name) or '')} |"
                    for name in action.choices) + "\n"
    for sub in action.choices.values():
        yield from _sections(sub, level + 1)


def _row(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    formatter = parser._get_formatter()
    if action.option_strings:
        metavar = "" if action.nargs == 0 else " " + formatter._format_args(
            action, action.dest.upper())
        names = ", ".join(f"`{flag}{metavar}`" for flag in action.option_strings)
    else:
        names = f"`{formatter._format_args(action, action.dest)}`"
    help_text = formatter._expand_help(action) if action.help else ""
    return f"| {_cell(names)} | {_cell(_default(action))} | {_cell(help_text)} |"


def _default(action: argparse.Action) -> str:
    default = action.default
    if action.nargs == 0 or default in (None, argparse.SUPPRESS, []):
        return ""
    if isinstance(default, (list, tuple)):
        default = ",".join(str(item) for item in default)
    return f"`{default}`"


def _cell(text: str) -> str:
    """One Markdown table cell: no line breaks, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")
