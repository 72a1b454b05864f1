"""Fixtures of the provider tests: the fake LLM server and settings pointing the adapters at it.

``fake_llm`` is one server for the whole run, forgotten (script, record, conversations) before
each test. ``fake_providers`` configures ``openai`` (Responses mode), ``openai-chat`` (the same
class in Chat Completions mode) and ``anthropic`` on it, next to the mock.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import caches

from sessions_app.providers import reset_providers
from sessions_app.testing import FakeLLMServer
from tests.support.api import client_for, url

OPENAI_KEY = "sk-test-openai-" + uuid.uuid4().hex
ANTHROPIC_KEY = "sk-test-ant-" + uuid.uuid4().hex
NO_LIMITS = {"user": None, "anon": None, "session": None}


@dataclass(frozen=True)
class Case:
    """One provider configuration under test and what the fake server sees of its turns."""

    provider: str
    model: str  # a model the bundled price table knows
    kind: str  # the fake server's name for its generation requests

    def __str__(self) -> str:
        return self.provider


OPENAI = Case("openai", "gpt-4o", "responses")
OPENAI_CHAT = Case("openai-chat", "gpt-4o", "chat")
ANTHROPIC = Case("anthropic", "claude-sonnet-4-5", "messages")
CASES = [OPENAI, OPENAI_CHAT, ANTHROPIC]


@pytest.fixture(scope="session")
def _fake_llm_server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def fake_llm(_fake_llm_server: FakeLLMServer) -> Iterator[FakeLLMServer]:
    _fake_llm_server.reset()
    yield _fake_llm_server
    _fake_llm_server.reset()


def provider_settings(server: FakeLLMServer, **options: Any) -> dict[str, Any]:
    """``SESSIONS_APP["PROVIDERS"]`` for the fake server. ``options`` join every provider:
    upper-case ones (``PRICES``, ``CONTEXT_BUDGET``) next to ``OPTIONS``, the others in it."""
    app = {name: value for name, value in options.items() if name.isupper()}
    common = {"timeout": 5, "max_retries": 2}
    common |= {name: value for name, value in options.items() if not name.isupper()}
    openai = {"api_key": OPENAI_KEY, "base_url": server.openai_url, **common}
    anthropic = {"api_key": ANTHROPIC_KEY, "base_url": server.anthropic_url, **common}
    return {
        "mock": {},
        "openai": {**app, "OPTIONS": openai},
        "openai-chat": {
            **app,
            "BACKEND": "sessions_app.providers.openai.OpenAIProvider",
            "OPTIONS": {**openai, "mode": "chat"},
        },
        "anthropic": {**app, "OPTIONS": anthropic},
    }


def configure(settings: Any, providers: dict[str, Any], **app: Any) -> None:
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "PROVIDERS": providers,
        "THROTTLE_RATES": NO_LIMITS,
        **app,
    }
    reset_providers()


@pytest.fixture
def fake_providers(db: None, settings: Any, fake_llm: FakeLLMServer) -> Iterator[FakeLLMServer]:
    # ``db`` first: on PostgreSQL a change of SESSIONS_APP re-applies the lock timeout.
    configure(settings, provider_settings(fake_llm))
    yield fake_llm
    reset_providers()
    caches["default"].clear()


@pytest.fixture(params=CASES, ids=str)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def alice(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("alice", password="pw-alice")


@pytest.fixture
def as_alice(alice: Any) -> Any:
    return client_for(alice)


STREAM = {"HTTP_ACCEPT": "text/event-stream"}


def new_session(client: Any, provider: str, model: str, **fields: Any) -> dict[str, Any]:
    body = {"provider": provider, "model": model, **fields}
    response = client.post(url("sessions"), body, format="json")
    assert response.status_code == 201, response.content
    return response.json()  # type: ignore[no-any-return]


def send(client: Any, session_id: str, content: str = "hello", *, stream: bool = False) -> Any:
    headers = STREAM if stream else {}
    return client.post(
        url("sessions", session_id, "messages"), {"content": content}, format="json", **headers
    )


def events_of(response: Any) -> list[tuple[str, Any]]:
    """(event, data) pairs of a Server-Sent Events body."""
    text = b"".join(response.streaming_content).decode()
    pairs = []
    for block in filter(None, text.split("\n\n")):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        pairs.append((lines["event"], json.loads(lines["data"])))
    return pairs
