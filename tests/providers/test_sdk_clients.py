"""``SDKClients``: built lazily, once per provider (sync) and once per event loop (async); the
deadline hooks act only inside a call's deadline."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx2

from sessions_app.providers.sdk import ClientOptions, SDKClients, call_deadline


def clients(built: list[Any], **options: Any) -> SDKClients[Any, Any]:
    def build(http: Any) -> Any:
        built.append(http)
        return http

    return SDKClients(
        ClientOptions(**options),
        build_sync=build,
        build_async=build,
        default_http_client=httpx2.Client,
        default_async_http_client=httpx2.AsyncClient,
    )


def test_the_sync_client_is_built_once_on_first_use_even_from_many_threads():
    built: list[Any] = []
    lazy = clients(built)
    assert built == []

    threads = [threading.Thread(target=lazy.sync) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(built) == 1 and lazy.sync() is built[0]


def test_each_event_loop_gets_its_own_async_client():
    built: list[Any] = []
    lazy = clients(built)

    async def twice() -> tuple[Any, Any]:
        return lazy.async_(), lazy.async_()

    first_a, first_b = asyncio.run(twice())
    second, _ = asyncio.run(twice())

    assert first_a is first_b
    assert second is not first_a
    assert len(built) == 2


def test_clients_of_closed_loops_are_let_go_even_when_they_refer_to_their_loop():
    class Pooled:
        """Like a client with a kept-alive connection: it refers to its loop."""

        def __init__(self) -> None:
            self.loop = asyncio.get_running_loop()

    lazy: SDKClients[Any, Any] = SDKClients(
        ClientOptions(),
        build_sync=lambda http: http,
        build_async=lambda http: Pooled(),
        default_http_client=httpx2.Client,
        default_async_http_client=httpx2.AsyncClient,
    )

    async def client() -> Any:
        return lazy.async_()

    asyncio.run(client())
    asyncio.run(client())
    latest = asyncio.run(client())

    assert list(lazy._async.values()) == [latest]


def retry_wait_hooks(http: httpx2.Client, response: httpx2.Response) -> httpx2.Response:
    for hook in http.event_hooks["response"]:
        hook(response)
    return response


def test_a_given_client_keeps_its_hooks_and_the_deadline_acts_only_within_a_call():
    own: list[str] = []
    given = httpx2.Client(event_hooks={"response": [lambda response: own.append("mine")]})
    lazy = clients([], http_client=given, timeout=5)
    http = lazy.sync()
    request = httpx2.Request("POST", "http://127.0.0.1/v1/responses")

    def answer() -> httpx2.Response:
        return httpx2.Response(429, headers={"retry-after": "10"}, request=request)

    outside = retry_wait_hooks(http, answer())
    with lazy.deadline():
        inside = retry_wait_hooks(http, answer())
    with call_deadline(60):
        long_enough = retry_wait_hooks(http, answer())

    assert http is given and own == ["mine"] * 3
    assert "x-should-retry" not in outside.headers
    assert inside.headers["x-should-retry"] == "false"
    assert "x-should-retry" not in long_enough.headers


def test_an_attempt_gets_at_most_the_time_left():
    lazy = clients([], timeout=30)
    http = lazy.sync()
    request = http.build_request("POST", "http://127.0.0.1/v1/responses", timeout=30)

    with call_deadline(2):
        for hook in http.event_hooks["request"]:
            hook(request)

    assert all(0 < value <= 2 for value in request.extensions["timeout"].values())


def test_the_vendor_key_from_the_environment_never_goes_to_a_server_of_ones_own(monkeypatch):
    """An Ollama entry without ``api_key`` must not send ``OPENAI_API_KEY`` to Ollama."""
    from sessions_app.providers.anthropic import AnthropicProvider
    from sessions_app.providers.openai import OpenAIProvider

    monkeypatch.setenv("OPENAI_API_KEY", "sk-vendor-openai")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-vendor-anthropic")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    own = "http://127.0.0.1:11434/v1"

    assert OpenAIProvider(name="openai").client_options.api_key == "sk-vendor-openai"
    vendor = OpenAIProvider(name="openai", base_url="https://api.openai.com/v1")
    assert vendor.client_options.api_key == "sk-vendor-openai"
    assert OpenAIProvider(name="ollama", base_url=own, mode="chat").client_options.api_key is None
    proxy = AnthropicProvider(name="proxy", base_url="http://127.0.0.1:9999")
    assert not proxy.capabilities()["configured"]
    assert AnthropicProvider(name="anthropic").capabilities()["configured"]

    # Both variables set together name the server the key is meant for.
    monkeypatch.setenv("OPENAI_BASE_URL", own)
    chosen = OpenAIProvider(name="openai", base_url=own, mode="chat")
    assert chosen.client_options.api_key == "sk-vendor-openai"
