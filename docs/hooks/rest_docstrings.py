"""Griffe extension: vggzoo's reST-flavoured docstrings as Markdown.

The code's docstrings are written for ``help()`` and Sphinx habits:
``literal``, :class:`Role` references, ``::`` literal blocks and ``>>>``
examples. mkdocstrings renders Markdown, where ``>>>`` would be a quote and
``[...]`` in an example's output a cross-reference. This extension rewrites
those four forms before rendering (``:param:`` fields are left to the Sphinx
docstring parser); the source docstrings stay as they are.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?[a-z]+:`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


class RestDocstrings(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:  # noqa: ARG002
        if obj.docstring is not None:
            obj.docstring.value = rest_to_markdown(obj.docstring.value)


def rest_to_markdown(text: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(">>>"):
            i = _fence(lines, i, out, "pycon", lambda s: bool(s.strip()))
            continue
        if line.rstrip().endswith("::") and _indented_block_follows(lines, i):
            head = line.rstrip()[:-2].rstrip()
            if head:
                out.append(_inline(head) + ":")
            out.append("")
            indent = _indent(line)
            i = _fence(lines, _skip_blank(lines, i + 1), out, "python",
                       lambda s: not s.strip() or _indent(s) > indent)
            continue
        out.append(_inline(line))
        i += 1
    return "\n".join(out)


def _fence(lines: list[str], start: int, out: list[str], language: str, keep) -> int:
    """Fence lines[start:] while ``keep(line)``; return the first line left out."""
    end = start
    while end < len(lines) and keep(lines[end]):
        end += 1
    block = lines[start:end]
    while block and not block[-1].strip():
        block.pop()
    margin = min((_indent(s) for s in block if s.strip()), default=0)
    out.append(f"```{language}")
    out.extend(s[margin:] for s in block)
    out.append("```")
    out.append("")
    return end


def _indented_block_follows(lines: list[str], i: int) -> bool:
    j = _skip_blank(lines, i + 1)
    return j < len(lines) and _indent(lines[j]) > _indent(lines[i])


def _skip_blank(lines: list[str], i: int) -> int:
    while i < len(lines) and not lines[i].strip():
        i += 1
    return i


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _inline(line: str) -> str:
    return _LITERAL.sub(r"`\1`", _ROLE.sub(r"`\1`", line))
