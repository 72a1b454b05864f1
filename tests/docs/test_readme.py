"""Every README example runs: the Python tour in order in one namespace (as pasted into
``manage.py shell``), settings and URLconf blocks under ``check`` and against the demo
project, and the shell walk-throughs with curl against a live server."""

from __future__ import annotations

import itertools
import re
import uuid

import pytest

from tests.docs.blocks import ROOT, readme
from tests.docs.pages import Page, check_json, ids
from tests.docs.python_examples import run_python
from tests.docs.settings_examples import check_settings_block, check_urls_block
from tests.docs.shell_examples import run_shell

README = Page.read(readme())


def test_the_readme_has_a_python_tour_settings_and_a_walk_through():
    assert README.tour and README.settings and README.urls and README.shell


def test_every_code_block_is_run_or_skipped_with_a_reason():
    assert ids(README.unrunnable) == []
    for block in README.json:
        check_json(block)


def test_python_tour(example_namespace, demo_providers):
    for block in README.tour:
        run_python(block, example_namespace)


@pytest.mark.parametrize("block", README.settings, ids=ids(README.settings))
def test_settings_pass_check_and_agree_with_the_demo(block, db, provider_environ):
    check_settings_block(block)


@pytest.mark.parametrize("block", README.urls, ids=ids(README.urls))
def test_urlconf_passes_check_and_serves_the_api(block, db):
    check_urls_block(block, probe="/api/v1/health/")


SERVER_BLOCKS = [block for block in README.shell if "manage.py" not in block.source]
MANAGE_PY_BLOCKS = [block for block in README.shell if "manage.py" in block.source]


@pytest.mark.parametrize("block", SERVER_BLOCKS, ids=ids(SERVER_BLOCKS))
def test_shell_example_against_a_live_server(
    block, live_server, api_token, tmp_path, demo_providers
):
    run_shell(block, live_server.url, tmp_path, {"TOKEN": api_token})


@pytest.mark.parametrize("block", MANAGE_PY_BLOCKS, ids=ids(MANAGE_PY_BLOCKS))
def test_shell_example_running_manage_py(block, manage_py_environ):
    run_shell(block, "http://unused", ROOT, manage_py_environ)


@pytest.mark.parametrize("block", README.skipped, ids=ids(README.skipped))
def test_opted_out(block):
    pytest.skip(f"{block.where}: {block.skip_reason}")


# The README's tables ----------------------------------------------------------------------

TEXT = readme().read_text()


def table_rows(heading_text: str) -> list[list[str]]:
    """The cells of the first table after ``heading_text``, without its header."""
    lines = TEXT.split(heading_text, 1)[1].splitlines()
    first = next(index for index, line in enumerate(lines) if line.startswith("|"))
    table = itertools.takewhile(lambda line: line.startswith("|"), lines[first:])
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table]
    return rows[2:]  # past the header and the |---| line


def test_the_settings_table_lists_every_setting_and_no_other():
    from sessions_app.conf import DEFAULTS

    documented = {
        name
        for row in table_rows("The app reads one setting")
        for name in re.findall(r"`([A-Z_]+)`", row[0])
    }
    assert documented == set(DEFAULTS)


def documented_routes() -> list[tuple[str, str]]:
    """(method, path) of each route in the REST API table; a bare ``extend/`` after
    ``POST sessions/{id}/archive/`` is a sibling with the same methods."""
    routes = []
    for row in table_rows("## REST API"):
        methods, parent = "", ""
        for token in re.findall(r"`([^`]+/)`", row[0]):
            if " " in token:
                methods, path = token.split(" ")
                parent = path.rsplit("/", 2)[0] + "/" if path.count("/") > 1 else ""
            else:
                path = parent + token
            routes += [(method, path) for method in methods.split("/")]
    return routes


@pytest.mark.parametrize(("method", "path"), documented_routes())
def test_each_documented_route_exists_with_its_method(method, path):
    from django.urls import resolve

    url = "/api/v1/" + path.replace("{id}", str(uuid.uuid4())).replace("{mid}", str(uuid.uuid4()))
    view = resolve(url).func
    actions = getattr(view, "actions", None)
    if actions is not None:
        assert method.lower() in actions
    else:
        assert hasattr(view.view_class, method.lower())
