from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessions_app.testing import FakeLLMServer
from tests.docs.blocks import ROOT
from tests.docs.pages import close_worker_connections
from tests.support.servers import manage, scratch_database, server_environ

# Keys the README's provider examples run with here; a reader's real keys reach the real APIs.
TEST_KEYS = {"OPENAI_API_KEY": "sk-test-docs-openai", "ANTHROPIC_API_KEY": "sk-test-docs-ant"}
# What a reader may have set that would point the examples elsewhere.
READER_SETTINGS = ("OPENAI_MODE", "OPENAI_MODEL", "ANTHROPIC_MODEL", "SESSIONS_DEFAULT_PROVIDER")


@pytest.fixture
def api_token(transactional_db) -> str:
    """The token the README's walk-through reads from ``$TOKEN``, of the demo's ``admin``."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    admin = get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
    return Token.objects.create(user=admin).key


@pytest.fixture
def example_namespace(transactional_db):
    """What a reader's ``manage.py shell`` starts with; its examples' worker connections are
    closed afterwards. Transactional, as in a shell: asyncio.run examples write from
    another thread."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    yield namespace
    close_worker_connections()


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def provider_environ(fake_llm_server, monkeypatch) -> dict[str, str]:
    """The environment of a reader with OpenAI and Anthropic keys, the SDKs' own base-URL
    variables pointing at the fake server on 127.0.0.1, so no example leaves the machine."""
    fake_llm_server.reset()
    environ = {
        **TEST_KEYS,
        "OPENAI_BASE_URL": fake_llm_server.openai_url,
        "ANTHROPIC_BASE_URL": fake_llm_server.anthropic_url,
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    for name in READER_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return environ


@pytest.fixture
def demo_providers(provider_environ, settings) -> None:
    """``SESSIONS_APP`` as the demo project builds it in ``provider_environ``."""
    demo = runpy.run_path(str(ROOT / "project" / "settings.py"))
    settings.SESSIONS_APP = demo["SESSIONS_APP"]


@pytest.fixture
def manage_py_environ(provider_environ, tmp_path: Path) -> Iterator[dict[str, str]]:
    """For a shell block that runs ``manage.py``: the demo project on a migrated scratch
    database (the test database is not visible to another process)."""
    with scratch_database(tmp_path) as database_url:
        env = {
            **server_environ(database_url, tmp_path),
            **provider_environ,
            "DJANGO_SETTINGS_MODULE": "project.settings",
            # The README says ``python``: the interpreter of this run.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        }
        manage(env, "migrate", "--noinput", "-v0")
        yield env
