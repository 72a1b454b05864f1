"""Fenced code blocks of a Markdown file, with their line numbers and opt-out markers.

A block is opted out by an HTML comment on the line before its fence:
``<!-- example: skip <reason> -->``; the reason is reported when the test skips.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
SKIP_MARKER = re.compile(r"^\s*<!--\s*example:\s*skip\s+(?P<reason>.+?)\s*-->\s*$")
PYTHON = {"python", "py"}
SHELL = {"sh", "bash", "console", "shell"}


@dataclass(frozen=True)
class CodeBlock:
    path: Path
    line: int  # the first line of code (1-based), so errors point into the Markdown file
    lang: str
    source: str
    skip_reason: str | None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def is_python(self) -> bool:
        return self.lang in PYTHON

    @property
    def is_shell(self) -> bool:
        return self.lang in SHELL


def code_blocks(path: Path) -> list[CodeBlock]:
    """Every fenced block of ``path``, in order (info-less fences included, as lang "")."""
    lines = path.read_text().splitlines()
    blocks: list[CodeBlock] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        body = [line.removeprefix(indent) for line in lines[index + 1 : end]]
        blocks.append(
            CodeBlock(
                path=path,
                line=index + 2,
                lang=opening["lang"].lower(),
                source="\n".join(body) + "\n",
                skip_reason=_skip_reason(lines, index),
            )
        )
        index = end + 1
    return blocks


def _skip_reason(lines: list[str], fence_index: int) -> str | None:
    before = fence_index - 1
    while before >= 0 and not lines[before].strip():
        before -= 1
    marker = SKIP_MARKER.match(lines[before]) if before >= 0 else None
    return marker["reason"] if marker else None


def readme() -> Path:
    return ROOT / "README.md"


def docs_pages() -> list[Path]:
    return sorted((ROOT / "docs").glob("*.md"))
