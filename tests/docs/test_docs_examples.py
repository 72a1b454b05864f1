"""The examples of docs/*.md run as the README's do (see test_readme.py): each page's
Python blocks in order in one namespace, settings under ``check``, shell against a live
server. Also: the harness itself reports a failing example by file and line."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.docs.blocks import code_blocks, docs_pages
from tests.docs.pages import Page, check_json, ids
from tests.docs.python_examples import ExampleError, run_python
from tests.docs.settings_examples import check_settings_block, check_urls_block
from tests.docs.shell_examples import run_shell

PAGES = [Page.read(path) for path in docs_pages()]
TOURS = [page for page in PAGES if page.tour]
SETTINGS = [block for page in PAGES for block in page.settings]
URLS = [block for page in PAGES for block in page.urls]
SHELL = [block for page in PAGES for block in page.shell]
SKIPPED = [block for page in PAGES for block in page.skipped]


@pytest.mark.parametrize("page", PAGES, ids=[page.path.name for page in PAGES])
def test_every_code_block_is_run_or_skipped_with_a_reason(page):
    assert ids(page.unrunnable) == []
    for block in page.json:
        check_json(block)


@pytest.mark.parametrize("page", TOURS, ids=[page.path.name for page in TOURS])
def test_python_examples_in_order(page, example_namespace):
    for block in page.tour:
        run_python(block, example_namespace)


# Each kind of block gets its test once a page has one (no empty parametrisations to skip).
if SETTINGS:

    @pytest.mark.parametrize("block", SETTINGS, ids=ids(SETTINGS))
    def test_settings_pass_check_and_agree_with_the_demo(block, db):
        check_settings_block(block)


if URLS:

    @pytest.mark.parametrize("block", URLS, ids=ids(URLS))
    def test_urlconf_passes_check(block, db):
        check_urls_block(block, probe=None)


if SHELL:

    @pytest.mark.parametrize("block", SHELL, ids=ids(SHELL))
    def test_shell_example_against_a_live_server(block, live_server, api_token, tmp_path):
        run_shell(block, live_server.url, tmp_path, {"TOKEN": api_token})


if SKIPPED:

    @pytest.mark.parametrize("block", SKIPPED, ids=ids(SKIPPED))
    def test_opted_out(block):
        pytest.skip(f"{block.where}: {block.skip_reason}")


# The harness ---------------------------------------------------------------------------

PAGE = """# A page

Some prose.

```python
total = 1 + 1
total  # → 3
```

<!-- example: skip needs a server -->
```sh
make run
```

```sh
echo hello   # → hel…
false
```
"""


@pytest.fixture
def page(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr("tests.docs.blocks.ROOT", tmp_path)
    path = tmp_path / "page.md"
    path.write_text(PAGE)
    return path


def test_a_wrong_expectation_fails_with_its_line(page):
    tour = code_blocks(page)[0]
    with pytest.raises(ExampleError, match=r"^page\.md:7: got 2, the example says 3$"):
        run_python(tour, {})


def test_an_error_fails_with_its_line_and_the_error(page):
    tour = code_blocks(page)[0]
    broken = replace(tour, source="total = 1\nmissing(total)\n")
    with pytest.raises(ExampleError, match=r"^page\.md:7: NameError: name 'missing'"):
        run_python(broken, {})


def test_a_skip_marker_gives_its_reason(page):
    assert [block.skip_reason for block in code_blocks(page)] == [None, "needs a server", None]


def test_a_failing_shell_command_fails_with_its_line(page, tmp_path):
    shell = code_blocks(page)[2]
    with pytest.raises(ExampleError, match=r"^page\.md:17: exit status 1"):
        run_shell(shell, "http://unused", tmp_path, {})


@pytest.mark.parametrize(
    ("settings_source", "complaint"),
    [
        ('SESSIONS_APP = {"CACHE_ALIAS": "nowhere"}\n', r"check reports .*sessions_app\.E006"),
        ('SESSION_ENGINE = "django.contrib.sessions.backends.db"\n', "the demo project has"),
        ('MIDDLEWARE = [..., "not.in.the.Demo"]\n', r"not in the demo project's list"),
    ],
)
def test_a_settings_block_that_would_lie_fails(page, settings_source, complaint, db):
    block = replace(code_blocks(page)[0], source=settings_source)
    with pytest.raises(ExampleError, match=complaint):
        check_settings_block(block)
