"""What a call reports when its deadline ends it, and injected async clients across loops."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import httpx2
import pytest

from sessions_app.exceptions import ProviderError
from sessions_app.providers.anthropic import AnthropicProvider
from sessions_app.providers.openai import OpenAIProvider
from sessions_app.providers.sdk import CONNECTION_FAILED, call_deadline
from sessions_app.testing import FakeLLMServer
from tests.providers.openai_wire import KEY, request

TURN = request("hi")


@pytest.fixture
def closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()
    return port


def refused(name: str, port: int, **options: Any) -> OpenAIProvider | AnthropicProvider:
    if name == "openai":
        return OpenAIProvider(
            api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", mode="chat", **options
        )
    return AnthropicProvider(api_key=KEY, base_url=f"http://127.0.0.1:{port}", **options)


def failure(call: Any) -> tuple[ProviderError, float]:
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        call()
    return caught.value, time.monotonic() - started


@pytest.mark.parametrize("name", ["openai", "anthropic"])
def test_a_refused_connection_is_unavailable_within_the_timeout_not_a_made_up_timeout(
    name, closed_port
):
    provider = refused(name, closed_port, timeout=2, max_retries=6)

    error, elapsed = failure(lambda: provider.complete(TURN))

    assert error.error_code == "unavailable"
    assert error.status_code is None
    assert error.retryable
    # Backoffs of 0.5 s and 1 s fit in 2 s, the next 2 s does not: no attempt or sleep past it.
    assert elapsed < 2.0
    assert CONNECTION_FAILED in str(error)
    assert "127.0.0.1" not in str(error) and str(closed_port) not in str(error)


@pytest.mark.parametrize("name", ["openai", "anthropic"])
def test_a_refused_connection_is_unavailable_from_the_async_client_too(name, closed_port):
    provider = refused(name, closed_port, timeout=2, max_retries=6)

    error, elapsed = failure(lambda: asyncio.run(provider.acomplete(TURN)))

    assert (error.error_code, error.status_code) == ("unavailable", None)
    assert elapsed < 2.0


@pytest.mark.parametrize("name", ["openai", "anthropic"])
def test_a_deadline_passed_before_any_attempt_is_a_timeout_without_a_status(name, closed_port):
    provider = refused(name, closed_port, timeout=5)

    with call_deadline(0.0):
        error, _ = failure(lambda: provider.complete(TURN))

    assert (error.error_code, error.status_code) == ("timeout", None)


@pytest.mark.parametrize("name", ["openai", "anthropic"])
def test_connection_errors_without_retries_say_a_fixed_message(name, closed_port):
    provider = refused(name, closed_port, timeout=5, max_retries=0)

    error, _ = failure(lambda: provider.complete(TURN))

    assert error.error_code == "unavailable"
    assert str(error) == f"{name}: upstream unavailable: {CONNECTION_FAILED}"


def test_an_injected_async_client_gets_the_hooks_once_and_survives_new_event_loops(
    fake_llm: FakeLLMServer,
):
    shared = httpx2.AsyncClient()
    provider = OpenAIProvider(
        api_key=KEY, base_url=fake_llm.openai_url, mode="chat", async_http_client=shared
    )
    outcomes = []
    for _ in range(3):
        try:
            outcomes.append(asyncio.run(provider.acomplete(TURN)).text)
        except ProviderError as error:
            # A pooled connection of the closed loop: mapped, retryable, never a bare error.
            outcomes.append(error.error_code)

    assert {kind: len(hooks) for kind, hooks in shared.event_hooks.items()} == {
        "request": 1,
        "response": 1,
    }
    assert outcomes[0] == "Echo: hi"
    assert set(outcomes) <= {"Echo: hi", "unavailable"}


def test_one_injected_client_serves_two_adapters_with_one_set_of_hooks(fake_llm):
    shared = httpx2.Client()
    first = OpenAIProvider(api_key=KEY, base_url=fake_llm.openai_url, http_client=shared)
    second = OpenAIProvider(api_key=KEY, base_url=fake_llm.openai_url, http_client=shared)

    assert first.complete(TURN).text == second.complete(TURN).text == "Echo: hi"
    assert {kind: len(hooks) for kind, hooks in shared.event_hooks.items()} == {
        "request": 1,
        "response": 1,
    }


def test_a_closed_loop_runtime_error_maps_to_unavailable():
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise RuntimeError("Event loop is closed")

    async def loop_bound(request: httpx2.Request) -> httpx2.Response:
        return handler(request)

    provider = OpenAIProvider(
        api_key=KEY,
        mode="chat",
        max_retries=0,
        async_http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(loop_bound)),
    )

    error, _ = failure(lambda: asyncio.run(provider.acomplete(TURN)))

    assert (error.error_code, error.retryable) == ("unavailable", True)
