"""Run a Markdown shell block with bash against a live server.

The block runs as written, with ``set -euo pipefail``, and ``curl`` failing on an HTTP
error (``--fail-with-body``), so a refused request fails the example. The README's demo
address is replaced by the live server's. Each ``# → <pattern>`` comment must match a line
of the output, in order; in a pattern ``…`` stands for any text and ``<name>`` for one
value (no spaces or quotes).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.docs.blocks import CodeBlock
from tests.docs.python_examples import ExampleError
from tests.support.services import need

DEMO_ORIGIN = "http://127.0.0.1:8000"
# One line, so that the block's line N is the script's line N + 1.
PRELUDE = (
    'set -euo pipefail; curl() { command curl --fail-with-body "$@"; }; '
    "trap 'echo \"example failed at script line $LINENO\" >&2' ERR\n"
)
EXPECTED = re.compile(r"#\s*→\s*(?P<pattern>.+?)\s*$")
PLACEHOLDER = re.compile(r"<\w+>")
FAILED_AT = re.compile(r"example failed at script line (\d+)")
TOOLS = ("curl", "jq")


def require_tools(block: CodeBlock) -> None:
    """Skip (fail with REQUIRE_SERVICES=1) when a tool the block calls is not installed."""
    for tool in TOOLS:
        if re.search(rf"\b{tool}\b", block.source) and shutil.which(tool) is None:
            need(f"{block.where} calls {tool}, which is not installed")


def run_shell(block: CodeBlock, origin: str, workdir: Path, env: dict[str, str]) -> str:
    """Run ``block`` against ``origin`` in ``workdir``; return its standard output."""
    require_tools(block)
    script = PRELUDE + block.source.replace(DEMO_ORIGIN, origin)
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=workdir,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode:
        failed = FAILED_AT.search(done.stderr)
        where = f"{block.path.name}:{block.line + int(failed[1]) - 2}" if failed else block.where
        raise ExampleError(
            f"{where}: exit status {done.returncode}\n"
            f"stderr:\n{done.stderr}\nstdout:\n{done.stdout}"
        )
    _require_expected_output(block, done.stdout)
    return done.stdout


def _require_expected_output(block: CodeBlock, stdout: str) -> None:
    output = stdout.splitlines()
    position = 0
    for offset, line in enumerate(block.source.splitlines()):
        expected = EXPECTED.search(line)
        if not expected:
            continue
        pattern = _pattern(expected["pattern"])
        while position < len(output) and not pattern.search(output[position]):
            position += 1
        if position == len(output):
            raise ExampleError(
                f"{block.path.name}:{block.line + offset}: no output line matches "
                f"{expected['pattern']!r}; the output was:\n{stdout}"
            )
        position += 1


def _pattern(expected: str) -> re.Pattern[str]:
    parts = []
    for index, literal in enumerate(PLACEHOLDER.split(expected)):
        if index:
            parts.append(r'[^\s"]+')
        parts.append(".*".join(re.escape(piece) for piece in literal.split("…")))
    return re.compile("".join(parts))
