"""A griffe extension for the docs build only: how the wrapper's docstrings are read for the site.

Nothing here changes the code or its docstrings; it changes how the site
shows them:

- ``HubSpotBatch`` and ``AsyncHubSpotBatch`` build their docstrings at import
  time (``__doc__ = __doc__ + _CLIENT_DOC``: the arguments, written once for
  both faces). griffe reads source code and would show only the first part,
  so the docstring of each class listed in ``paths`` is taken from the
  imported class. Everything else stays static analysis, which keeps
  attribute docstrings and type aliases that inspection would lose.
- The docstrings are reST-ish plain text. Markdown would show Sphinx roles
  (``:class:`RetryPolicy```) as typed, run reST simple tables and definition
  lists into one paragraph, and keep the ``::`` that introduces a literal
  block. Roles are shown as code, simple tables become Markdown tables,
  definition lists become a bold term and its text, ``::`` becomes ``:``,
  and headings lose their code marks (the table of contents would show
  Markdown's placeholders for them).

Configured in ``mkdocs.yml`` under the python handler's ``extensions``.
"""

from __future__ import annotations

import importlib
import inspect
import re
import textwrap
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|mod|data|exc|obj|const):`(~?)([^`]+)`")
_BORDER = re.compile(r"^=+(?: +=+)+ *$")
_UNDERLINE = re.compile(r"^(?:={3,}|-{3,})$")
_TERM = re.compile(r"^[^\s\-*|=#>`0-9].*[^:]$")


def _code(match: re.Match[str]) -> str:
    target = match.group(2)
    if match.group(1):  # ~a.b.c shows c
        target = target.rsplit(".", 1)[-1]
    return f"``{target}``"


def _table(lines: list[str], start: int) -> tuple[list[str], int] | None:
    """A reST simple table starting at ``lines[start]`` (a border) as Markdown lines, and the index after it."""
    border = lines[start]
    starts = [m.start() for m in re.finditer(r"=+", border)]
    borders = [start]
    i = start + 1
    while i < len(lines) and len(borders) < 3:
        if _BORDER.match(lines[i]):
            borders.append(i)
        elif not lines[i].strip():
            return None  # not a simple table of the shape border, header, border, rows, border
        i += 1
    if len(borders) < 3:
        return None

    def cells(line: str) -> list[str]:
        bounds = [*starts[1:], None]
        return [line[a:b].strip().replace("|", "\\|") for a, b in zip(starts, bounds, strict=True)]

    header = [cells(line) for line in lines[borders[0] + 1 : borders[1]]]
    rows = [cells(line) for line in lines[borders[1] + 1 : borders[2]]]
    title = [" ".join(column).strip() for column in zip(*header, strict=True)] if header else [""] * len(starts)
    out = ["| " + " | ".join(title) + " |", "|" + "---|" * len(starts)]
    out += ["| " + " | ".join(f"`{c}`" if c.startswith("/") else c for c in row) + " |" for row in rows]
    return out, borders[2] + 1


def _rest(text: str) -> str:
    """Rewrite the reST constructs that Markdown would garble (see the module docstring)."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _BORDER.match(line):
            table = _table(lines, i)
            if table is not None:
                if out and out[-1].strip():
                    out.append("")
                out += table[0]
                i = table[1]
                continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and _UNDERLINE.match(nxt):
            # a heading: code in it would reach the table of contents as Markdown's placeholders
            line = line.replace("``", "")
        if line.rstrip().endswith("::") and not nxt.strip():
            # "text::" -> "text:" ("::" alone goes); the indented block is code in Markdown too
            out.append("" if line.strip() == "::" else line.rstrip()[:-1])
            i += 1
            continue
        previous = lines[i - 1] if i else ""
        if (
            _TERM.match(line)
            and nxt.startswith("    ")
            and nxt.strip()
            and (not previous.strip() or previous.startswith("    "))
        ):  # a definition list item: the term, then its text indented
            j = i + 1
            while j < len(lines) and (
                lines[j].startswith("    ")
                or (not lines[j].strip() and j + 1 < len(lines) and lines[j + 1].startswith("    "))
            ):
                j += 1
            if out and out[-1].strip():
                out.append("")
            out += [f"**{line.strip()}**", "", *textwrap.dedent("\n".join(lines[i + 1 : j])).split("\n"), ""]
            i = j
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


class RuntimeDocstrings(griffe.Extension):
    """Runtime docstrings for the classes in ``paths`` (``module.Class``); reST-ish text made Markdown."""

    def __init__(self, paths: list[str] | None = None) -> None:
        super().__init__()
        self.paths = set(paths or ())

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite one object's docstring for the site."""
        if obj.path in self.paths:
            module_name, _, name = obj.path.rpartition(".")
            text = inspect.getdoc(getattr(importlib.import_module(module_name), name))
            if text:
                lineno = obj.docstring.lineno if obj.docstring else None
                obj.docstring = griffe.Docstring(text, parent=obj, lineno=lineno)
        if obj.docstring is not None:
            value = _ROLE.sub(_code, obj.docstring.value)
            obj.docstring.value = _rest(value)
