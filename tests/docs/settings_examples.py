"""Blocks that show settings or a URLconf: run, then held to the demo project and ``check``.

A settings block assigns only UPPER_CASE names; a URLconf block assigns ``urlpatterns``.
``...`` in a list stands for the reader's own entries: the shown entries must appear, in
that order, in the demo project's list (which the rest of the suite runs).
"""

from __future__ import annotations

import ast
import importlib
import sys
from types import ModuleType
from typing import Any

from django.core.checks import WARNING, run_checks
from django.test import Client, override_settings

from tests.docs.blocks import CodeBlock
from tests.docs.python_examples import ExampleError, parse, run_python

# The app's own settings and the cache are each deployment's choice; ``check`` judges them,
# as it does settings the demo leaves at Django's defaults.
DEPLOYMENT_CHOICES = {"SESSIONS_APP", "CACHES"}


def kind(block: CodeBlock) -> str:
    """The block's kind: urls, settings or code (also when it does not parse: its run says
    why)."""
    try:
        statements = parse(block).body
    except ExampleError:
        return "code"
    targets = [
        target.id
        for statement in statements
        if isinstance(statement, ast.Assign)
        for target in statement.targets
        if isinstance(target, ast.Name)
    ]
    if "urlpatterns" in targets:
        return "urls"
    only_settings = all(
        isinstance(statement, ast.Import | ast.ImportFrom)
        or (
            isinstance(statement, ast.Assign)
            and all(isinstance(t, ast.Name) and t.id.isupper() for t in statement.targets)
        )
        for statement in statements
    )
    return "settings" if targets and only_settings else "code"


def shown_settings(block: CodeBlock) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    run_python(block, namespace)
    return {name: value for name, value in namespace.items() if name.isupper()}


def check_settings_block(block: CodeBlock) -> None:
    shown = shown_settings(block)
    demo = importlib.import_module("project.settings")
    overrides: dict[str, Any] = {}
    for name, value in shown.items():
        if isinstance(value, list) and Ellipsis in value:
            _require_subsequence(block, name, value, getattr(demo, name, []))
            continue  # the demo's list holds the shown entries; it is what runs
        if name not in DEPLOYMENT_CHOICES and hasattr(demo, name):
            _require_agreement(block, name, value, getattr(demo, name))
        overrides[name] = value
    with override_settings(**overrides):
        problems = [message for message in run_checks() if message.level >= WARNING]
        if problems:
            raise ExampleError(f"{block.where}: check reports {problems}")
        if "SPECTACULAR_SETTINGS" in shown:
            _require_schema_info(block, shown["SPECTACULAR_SETTINGS"])


def _require_subsequence(block: CodeBlock, name: str, shown: list, demo: list) -> None:
    entries = iter(demo)
    missing = [entry for entry in shown if entry is not Ellipsis and entry not in entries]
    if missing:
        raise ExampleError(
            f"{block.where}: {name} shows {missing}, not in the demo project's list in that order"
        )


def _require_agreement(block: CodeBlock, name: str, shown: Any, demo: Any) -> None:
    if isinstance(shown, dict) and isinstance(demo, dict):
        differing = {key: value for key, value in shown.items() if demo.get(key) != value}
        if differing:
            raise ExampleError(f"{block.where}: {name} differs from the demo's: {differing}")
    elif shown != demo:
        raise ExampleError(f"{block.where}: {name} = {shown!r}; the demo project has {demo!r}")


def _require_schema_info(block: CodeBlock, spectacular: dict[str, Any]) -> None:
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.settings import patched_settings

    patches = {key: value for key, value in spectacular.items() if not key.startswith("SERVE_")}
    with patched_settings(patches):
        info = SchemaGenerator().get_schema(request=None, public=True)["info"]
    for key in ("title", "version"):
        if info[key] != spectacular.get(key.upper()):
            raise ExampleError(f"{block.where}: the schema's {key} is {info[key]!r}")


def check_urls_block(block: CodeBlock, probe: str) -> None:
    """The block's URLconf passes ``check`` and answers ``probe`` (a path it includes)."""
    namespace: dict[str, Any] = {}
    run_python(block, namespace)
    urlconf = ModuleType(f"docs_example_urls_{block.line}")
    for name, value in namespace.items():
        if name == "urlpatterns":
            value = [pattern for pattern in value if pattern is not Ellipsis]
        setattr(urlconf, name, value)
    sys.modules[urlconf.__name__] = urlconf
    try:
        with override_settings(ROOT_URLCONF=urlconf.__name__):
            problems = [message for message in run_checks() if message.level >= WARNING]
            status = Client().get(probe).status_code
    finally:
        del sys.modules[urlconf.__name__]
    if problems:
        raise ExampleError(f"{block.where}: check reports {problems}")
    if status != 200:
        raise ExampleError(f"{block.where}: GET {probe} answers {status} through this URLconf")
