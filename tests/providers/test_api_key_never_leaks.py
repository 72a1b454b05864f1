"""An API key never shows: not in logs (DEBUG, every logger), database rows, exports, API
answers (bodies and headers), the analytics and admin pages, exception messages and
tracebacks, or a provider's repr; whether the key is in the settings or the environment.

Turns succeed and fail (a 401 whose message repeats the key, as the real services do, a 500,
an error frame mid-stream), streamed and not, through the REST API and the Python API (sync
and async), on the fake LLM server for every adapter. The fake server's own record holds the
key, of course.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.apps import apps
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from sessions_app import aio
from sessions_app.exceptions import ProviderError
from sessions_app.manager import SessionManager
from sessions_app.models import Session
from sessions_app.providers import get_provider
from sessions_app.testing import FakeLLMServer, auth_failure, fail, stream_drop, stream_error
from tests.providers.conftest import STREAM, configure, provider_settings
from tests.support.api import client_for, url

pytestmark = pytest.mark.django_db

KEY = f"sk-test-LEAKCHECK-{uuid.uuid4()}"
# Also a fragment: a message cut to length must not show the key's distinctive part either.
FRAGMENT = KEY.split("LEAKCHECK-")[1][:12]
LOGGERS = ("", "openai", "anthropic", "httpx2", "httpcore2", "sessions_app", "django")


class Everything(logging.Handler):
    """Keeps every record formatted in full, traceback included."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record) + repr(vars(record)))


@pytest.fixture
def captured_logs() -> Iterator[Everything]:
    handler = Everything()
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    yield handler
    for logger, level in saved:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def leaky_providers(settings: Any, fake_llm: FakeLLMServer) -> FakeLLMServer:
    providers = provider_settings(fake_llm, max_retries=1)
    for config in providers.values():
        if "OPTIONS" in config:
            config["OPTIONS"]["api_key"] = KEY
    configure(settings, providers)
    return fake_llm


class Seen:
    """Everything a user of the app could read, as text."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def add(self, *values: Any) -> None:
        self.texts.extend(str(value) for value in values)

    def answer(self, response: Any) -> None:
        body = (
            b"".join(response.streaming_content)
            if getattr(response, "streaming", False)
            else response.content
        )
        self.add(body.decode(errors="replace"), dict(response.items()), response.status_code)

    def error(self, exc: BaseException) -> None:
        self.add(str(exc), repr(exc), exc.args, "".join(traceback.format_exception(exc)))

    def leaks(self) -> list[str]:
        return [text for text in self.texts if KEY in text or FRAGMENT in text]


def rest_turns(seen: Seen, client: Any, server: FakeLLMServer, provider: str) -> str:
    session = client.post(url("sessions"), {"provider": provider}, format="json")
    seen.answer(session)
    session_id = session.json()["id"]
    messages = url("sessions", session_id, "messages")
    steps = [None, auth_failure(), fail(500, retry_after_ms=1), stream_error(after=1)]
    for step in steps:
        for headers in ({}, STREAM):
            if step is not None:
                server.script(step, times=2)  # max_retries=1: a retried failure fails again
            seen.answer(client.post(messages, {"content": "hi"}, format="json", **headers))
            server.clear_script()
    server.script(stream_drop(after=1))
    seen.answer(client.post(messages, {"content": "cut"}, format="json", **STREAM))
    for path in (
        url("sessions", session_id),
        messages,
        url("sessions", session_id, "metrics"),
        url("sessions", session_id, "export"),
        url("providers"),
    ):
        seen.answer(client.get(path))
    return session_id


def python_turns(seen: Seen, server: FakeLLMServer, provider: str) -> None:
    handle = SessionManager().create_session(user_id="py", provider=provider)
    seen.add(handle.send_message("hello").content)
    for step in (auth_failure(), fail(500, retry_after_ms=1), stream_error(after=1)):
        server.script(step, times=2)
        try:
            if step.break_after is None:
                handle.send_message("again")
            else:
                seen.add(*list(handle.stream_message("again")))
        except ProviderError as exc:
            seen.error(exc)
        else:
            pytest.fail(f"{provider}: the scripted failure {step} did not raise")
        server.clear_script()
    seen.add(handle.export_conversation(), handle.get_provider_metadata(), handle.get_metrics())


def async_turns(seen: Seen, server: FakeLLMServer, provider: str) -> None:
    async def scenario() -> None:
        handle = await aio.SessionManager().create_session("py-async", provider)
        seen.add((await handle.send_message("hello")).content)
        for step in (auth_failure(), fail(500, retry_after_ms=1), stream_error(after=1)):
            server.script(step, times=2)
            try:
                if step.break_after is None:
                    await handle.send_message("again")
                else:
                    seen.add(*[event async for event in handle.stream_message("again")])
            except ProviderError as exc:
                seen.error(exc)
            else:
                pytest.fail(f"{provider}: the scripted failure {step} did not raise")
            server.clear_script()

    async_to_sync(scenario)()


def staff_pages(seen: Seen, admin_user: Any, session_id: str) -> None:
    seen.answer(client_for(admin_user).get(url("analytics")))
    browser = Client()
    browser.force_login(admin_user)
    session = Session.objects.get(id=session_id)
    for page in (
        reverse("admin:sessions_app_session_change", args=[session.pk]),
        reverse("admin:sessions_app_session_changelist"),
    ):
        answer = browser.get(page)
        assert answer.status_code == 200, page
        seen.answer(answer)


def database_rows() -> list[str]:
    rows = []
    for model in apps.get_app_config("sessions_app").get_models():
        rows.extend(repr(row) for row in model._default_manager.values())
    return rows


def cached_values() -> list[str]:
    cache = caches["default"]
    if hasattr(cache, "keys"):  # django-redis (REDIS_URL set)
        return [repr(cache.get_many(cache.keys("*")))]
    store = getattr(cache, "_cache", {})  # locmem: pickled values
    return [repr(value) for value in store.values()]


@pytest.mark.parametrize("provider", ["openai", "openai-chat", "anthropic"])
def test_the_key_appears_nowhere(
    leaky_providers, captured_logs, django_user_model, admin_user, provider
):
    server = leaky_providers
    user = django_user_model.objects.create_user("leak", password="pw")
    seen = Seen()
    session_id = rest_turns(seen, client_for(user), server, provider)
    python_turns(seen, server, provider)
    async_turns(seen, server, provider)
    staff_pages(seen, admin_user, session_id)
    assert any(r.headers.get("x-stainless-async", "false") != "false" for r in server.requests)
    adapter = get_provider(provider)
    seen.add(repr(adapter), str(adapter), adapter.capabilities())
    assert server.requests and all(r.api_key == KEY for r in server.requests)  # it was sent
    seen.add(*database_rows(), *cached_values(), *captured_logs.lines)
    assert captured_logs.lines  # DEBUG logging did capture the SDKs' chatter
    assert seen.leaks() == []


@pytest.mark.parametrize(
    ("provider", "variable"), [("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY")]
)
def test_a_key_from_the_environment_appears_nowhere(
    settings, fake_llm, captured_logs, monkeypatch, admin_user, provider, variable
):
    # The demo's path: the key and the base URL only in the environment, read by the SDK.
    monkeypatch.setenv(variable, KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.openai_url)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_llm.anthropic_url)
    providers = provider_settings(fake_llm, max_retries=1)
    for config in providers.values():
        config.get("OPTIONS", {}).pop("api_key", None)
        config.get("OPTIONS", {}).pop("base_url", None)
    configure(settings, providers)
    seen = Seen()
    session_id = rest_turns(seen, client_for(admin_user), fake_llm, provider)
    python_turns(seen, fake_llm, provider)
    async_turns(seen, fake_llm, provider)
    staff_pages(seen, admin_user, session_id)
    adapter = get_provider(provider)
    seen.add(repr(adapter), str(adapter), adapter.capabilities())
    assert fake_llm.requests and all(r.api_key == KEY for r in fake_llm.requests)
    seen.add(*database_rows(), *cached_values(), *captured_logs.lines)
    assert seen.leaks() == []
