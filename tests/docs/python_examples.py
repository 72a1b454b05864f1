"""Run a Markdown Python block statement by statement, as a reader pasting it would.

Errors name the Markdown file and line. A top-level expression whose line ends with
``# → <literal>`` must evaluate to that literal (text after a ``;`` is commentary).
Top-level ``await`` runs through ``async_to_sync``, as in an async-aware shell.
"""

from __future__ import annotations

import ast
import inspect
import re
from types import CodeType
from typing import Any

from asgiref.sync import async_to_sync

from tests.docs.blocks import CodeBlock

FLAGS = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
EXPECTATION = re.compile(r"#\s*→\s*(?P<value>[^;]+)")


class ExampleError(AssertionError):
    """An example of the docs does not do what the docs say."""


def parse(block: CodeBlock) -> ast.Module:
    try:
        tree = compile(block.source, str(block.path), "exec", ast.PyCF_ONLY_AST | FLAGS)
    except SyntaxError as exc:
        line = block.line + (exc.lineno or 1) - 1
        raise ExampleError(f"{block.where}: line {line}: SyntaxError: {exc.msg}") from exc
    return ast.increment_lineno(tree, block.line - 1)


def run_python(block: CodeBlock, namespace: dict[str, Any]) -> None:
    """Execute ``block`` in ``namespace``, one top-level statement at a time."""
    lines = block.path.read_text().splitlines()
    for statement in parse(block).body:
        expected = _expectation(lines, statement, block)
        try:
            value = _run(statement, block, namespace)
        except Exception as exc:
            where = f"{block.path.name}:{statement.lineno}"
            raise ExampleError(f"{where}: {type(exc).__name__}: {exc}") from exc
        if expected is not None and value != expected[0]:
            raise ExampleError(
                f"{block.path.name}:{statement.lineno}: got {value!r}, "
                f"the example says {expected[0]!r}"
            )


def _run(statement: ast.stmt, block: CodeBlock, namespace: dict[str, Any]) -> Any:
    if isinstance(statement, ast.Expr):
        expression = ast.Expression(statement.value)
        return _evaluate(compile(expression, str(block.path), "eval", FLAGS), namespace)
    module = ast.Module([statement], type_ignores=[])
    return _evaluate(compile(module, str(block.path), "exec", FLAGS), namespace)


def _evaluate(code: CodeType, namespace: dict[str, Any]) -> Any:
    result = eval(code, namespace)
    if code.co_flags & inspect.CO_COROUTINE:
        return async_to_sync(_await)(result)
    return result


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _expectation(lines: list[str], statement: ast.stmt, block: CodeBlock) -> tuple[Any] | None:
    if not isinstance(statement, ast.Expr):
        return None
    found = EXPECTATION.search(lines[(statement.end_lineno or statement.lineno) - 1])
    if not found:
        return None
    try:
        return (ast.literal_eval(found["value"].strip()),)
    except (ValueError, SyntaxError) as exc:
        raise ExampleError(
            f"{block.path.name}:{statement.lineno}: the expected value "
            f"{found['value'].strip()!r} is not a Python literal"
        ) from exc
