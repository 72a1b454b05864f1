"""The interactive API docs render in a real browser with no network beyond this site."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.services import need

pytestmark = pytest.mark.django_db(transaction=True)


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        need("needs Debian's chromium for browser tests (apt-get install chromium)")
    return path


def rendered_dom(url: str) -> str:
    """The page's DOM after its scripts ran; every host but this one is unresolvable."""
    result = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_swagger_ui_renders_every_operation_from_local_assets(live_server):
    dom = rendered_dom(f"{live_server.url}/api/v1/docs/")
    assert "sessions_app API" in dom  # the title, rendered by Swagger UI from the schema
    assert dom.count('class="opblock ') >= 19  # one block per operation
    assert "/api/v1/sessions/{session_pk}/messages/" in dom
