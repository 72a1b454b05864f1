"""What the Anthropic adapter sends: system prompt, history, cache breakpoints, max_tokens,
and its options."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync

from sessions_app.exceptions import ConfigurationError, ProviderError
from sessions_app.providers import registry
from sessions_app.providers.anthropic import CONTINUATION, AnthropicProvider
from sessions_app.providers.base import ChatMessage, CompletionRequest
from tests.providers.anthropic_wire import KEY, MODEL, Wire, error, message

EPHEMERAL = {"type": "ephemeral"}


def request(*turns: tuple[str, str], **fields: Any) -> CompletionRequest:
    return CompletionRequest(
        model=fields.pop("model", MODEL),
        messages=[ChatMessage(role, content) for role, content in turns],
        **fields,
    )


def sent(wire: Wire, req: CompletionRequest, **options: Any) -> dict[str, Any]:
    wire.provider(**options).complete(req)
    return wire.bodies[-1]


def texts(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["role"], "".join(b["text"] for b in m["content"])) for m in body["messages"]]


def test_system_prompt_and_history_carry_cache_breakpoints() -> None:
    wire = Wire(message())
    history = request(
        ("user", "Hi"), ("assistant", "Hello"), ("user", "And now?"), system="Be brief."
    )
    body = sent(wire, history)
    assert body["system"] == [{"type": "text", "text": "Be brief.", "cache_control": EPHEMERAL}]
    first, prefix_end, new = body["messages"]
    assert "cache_control" not in first["content"][-1]
    assert prefix_end == {
        "role": "assistant",
        "content": [{"type": "text", "text": "Hello", "cache_control": EPHEMERAL}],
    }
    assert "cache_control" not in new["content"][-1]
    assert body["model"] == MODEL and body["max_tokens"] == 1024
    assert "stream" not in body


def test_a_first_turn_caches_only_the_system_prompt() -> None:
    body = sent(Wire(message()), request(("user", "Hi"), system="S"))
    assert body["system"][0]["cache_control"] == EPHEMERAL
    assert "cache_control" not in body["messages"][0]["content"][0]
    assert "system" not in sent(Wire(message()), request(("user", "Hi")))


def test_prompt_caching_can_be_turned_off() -> None:
    body = sent(
        Wire(message()),
        request(("user", "a"), ("assistant", "b"), ("user", "c"), system="S"),
        prompt_caching=False,
    )
    assert "cache_control" not in str(body)


def test_history_is_made_to_alternate_and_start_with_the_user() -> None:
    history = request(
        ("assistant", "Welcome!"),
        ("user", "one"),
        ("user", "two"),
        ("assistant", ""),  # an empty reply (e.g. interrupted before any text)
        ("system", "Late instruction."),
        ("assistant", "ok"),
        ("user", "three"),
        system="Base.",
    )
    body = sent(Wire(message()), history)
    assert texts(body) == [
        ("user", CONTINUATION),
        ("assistant", "Welcome!"),
        ("user", "one\n\ntwo"),
        ("assistant", "ok"),
        ("user", "three"),
    ]
    assert body["system"][0]["text"] == "Base.\n\nLate instruction."


def test_max_tokens_from_options_and_from_the_request() -> None:
    wire = Wire(message())
    provider = wire.provider(max_tokens=300)
    provider.complete(request(("user", "Hi")))
    provider.complete(request(("user", "Hi"), max_tokens=20))
    assert [body["max_tokens"] for body in wire.bodies] == [300, 20]
    assert provider.capabilities()["max_tokens"] == 300


def test_the_key_goes_in_the_header_only() -> None:
    wire = Wire(message())
    provider = wire.provider()
    provider.complete(request(("user", "Hi")))
    assert wire.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in wire.requests[0].content.decode()
    shown = [repr(provider), str(provider.capabilities()), str(vars(provider))]
    assert not [text for text in shown if KEY in text]


@pytest.mark.parametrize(
    "options",
    [{"temperature": 0.2}, {"max_tokens": 0}, {"max_tokens": True}, {"prompt_caching": "yes"}],
)
def test_bad_options_are_configuration_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        AnthropicProvider(api_key=KEY, **options)


def test_without_a_key_a_turn_fails_as_auth_and_sends_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    wire = Wire(message())
    provider = wire.provider(api_key=None)
    assert provider.capabilities()["configured"] is False
    with pytest.raises(ProviderError) as caught:
        provider.complete(request(("user", "Hi")))
    assert caught.value.error_code == "auth"
    with pytest.raises(ProviderError):
        async_to_sync(provider.acomplete)(request(("user", "Hi")))
    assert wire.requests == []


def test_the_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env-123456")
    wire = Wire(message())
    provider = wire.provider(api_key=None)
    assert provider.capabilities()["configured"] is True
    provider.complete(request(("user", "Hi")))
    assert wire.requests[0].headers["authorization"] == "Bearer sk-ant-from-env-123456"


def test_the_registry_builds_it_from_settings(db: None, settings: Any) -> None:
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "PROVIDERS": {
            "anthropic": {"OPTIONS": {"api_key": KEY, "max_tokens": 64, "timeout": 5}},
            "claude": {
                "BACKEND": "sessions_app.providers.anthropic.AnthropicProvider",
                "DEFAULT_MODEL": "claude-haiku-4-5",
            },
        },
    }
    built = registry.build_provider("anthropic")
    other = registry.build_provider("claude")
    assert isinstance(built, AnthropicProvider) and built.max_tokens == 64
    assert (built.default_model, other.default_model) == (MODEL, "claude-haiku-4-5")
    assert other.name == "claude"


def test_a_bad_request_is_not_retried() -> None:
    wire = Wire(error(400, "invalid_request_error"))
    with pytest.raises(ProviderError) as caught:
        wire.provider().complete(request(("user", "Hi")))
    assert (caught.value.error_code, caught.value.status_code) == ("bad_request", 400)
    assert len(wire.requests) == 1


def test_a_session_s_options_reach_the_request() -> None:
    wire = Wire(message())
    provider = wire.provider(max_tokens=300)
    options = {"temperature": 0.3, "max_tokens": 4096, "stop_sequences": ["END"]}
    provider.complete(request(("user", "Hi"), options=options))
    provider.complete(request(("user", "Hi"), options=options, max_tokens=50))
    first, second = wire.bodies
    assert (first["max_tokens"], first["stop_sequences"]) == (4096, ["END"])
    assert "temperature" not in first  # the Messages API (SDK 2.x) has none
    assert second["max_tokens"] == 50  # the session's max_tokens_per_message wins


@pytest.mark.parametrize(
    "options",
    [{"max_tokens": -1}, {"max_tokens": 2.5}, {"stop_sequences": "END"}, {"top_secret": 1}],
)
def test_bad_session_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        AnthropicProvider(api_key=KEY).check_session_options(options)


def test_the_documents_session_options_are_accepted(manager: Any, fake_llm: Any) -> None:
    registry.register_provider(
        "claude-docs", AnthropicProvider, api_key=KEY, base_url=fake_llm.anthropic_url
    )
    try:
        session = manager.create_session(
            user_id="user456",
            provider="claude-docs",
            model="claude-3-sonnet-20240229",
            provider_config={
                "temperature": 0.3,
                "max_tokens": 4096,
                "conversation_metadata": {"topic": "coding_help"},
            },
        )
        assert session.send_message("Help me with Python!").content
        with pytest.raises(ConfigurationError):
            session.provider_session.update_provider_config({"max_tokens": "lots"})
    finally:
        registry.unregister_provider("claude-docs")
    body = fake_llm.requests_for("messages")[-1].body
    assert body["max_tokens"] == 4096
    assert "conversation_metadata" not in body and "topic" not in str(body)
