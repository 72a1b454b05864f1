"""A Markdown page's code blocks, sorted by how the suite runs them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from asgiref.sync import SyncToAsync
from django.db import connections

from tests.docs.blocks import CodeBlock, code_blocks
from tests.docs.python_examples import ExampleError
from tests.docs.settings_examples import kind

NOT_CODE = {"", "text", "txt"}  # listings (a file tree, a log excerpt) that nothing runs


@dataclass
class Page:
    path: Path
    tour: list[CodeBlock] = field(default_factory=list)  # Python, run in order, one namespace
    settings: list[CodeBlock] = field(default_factory=list)
    urls: list[CodeBlock] = field(default_factory=list)
    shell: list[CodeBlock] = field(default_factory=list)
    json: list[CodeBlock] = field(default_factory=list)
    skipped: list[CodeBlock] = field(default_factory=list)
    unrunnable: list[CodeBlock] = field(default_factory=list)  # code in a language we cannot run

    @classmethod
    def read(cls, path: Path) -> Page:
        page = cls(path)
        for block in code_blocks(path):
            page._sort(block)
        return page

    def _sort(self, block: CodeBlock) -> None:
        if block.skip_reason:
            self.skipped.append(block)
        elif block.is_python:
            {"code": self.tour, "settings": self.settings, "urls": self.urls}[kind(block)].append(
                block
            )
        elif block.is_shell:
            self.shell.append(block)
        elif block.lang == "json":
            self.json.append(block)
        elif block.lang not in NOT_CODE:
            self.unrunnable.append(block)


def ids(blocks: list[CodeBlock]) -> list[str]:
    return [block.where for block in blocks]


def check_json(block: CodeBlock) -> None:
    try:
        json.loads(block.source)
    except json.JSONDecodeError as exc:
        raise ExampleError(
            f"{block.path.name}:{block.line + exc.lineno - 1}: not JSON: {exc.msg}"
        ) from exc


def close_worker_connections() -> None:
    """Close what ``asyncio.run`` examples opened: their database work ran in asgiref's
    worker thread, whose connections would otherwise outlive the test database."""
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
