"""The documents' provider sessions over the real adapters: an OpenAI session's thread (its
Conversations API conversation), an Anthropic session's history, system prompt and model."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from sessions_app.exceptions import ConfigurationError, SessionStateError, ValidationError
from sessions_app.manager import SessionManager
from sessions_app.providers import registry
from sessions_app.providers.anthropic import AnthropicProvider
from sessions_app.providers.sessions import (
    AnthropicProviderSession,
    MockProviderSession,
    OpenAIProviderSession,
    ProviderSession,
)
from sessions_app.testing import FakeLLMServer

# The database first: changing settings resets state that touches it.
pytestmark = pytest.mark.usefixtures("db", "fake_providers")


def openai_view(manager: SessionManager, provider: str = "openai") -> OpenAIProviderSession:
    view = manager.create_session("u", provider, "gpt-4o").provider_session
    assert isinstance(view, OpenAIProviderSession)
    return view


def anthropic_view(
    manager: SessionManager, model: str = "claude-sonnet-4-5"
) -> AnthropicProviderSession:
    view = manager.create_session("u", "anthropic", model).provider_session
    assert isinstance(view, AnthropicProviderSession)
    return view


class Claude(AnthropicProvider):
    """A project's own subclass keeps the Anthropic view."""


def test_each_adapter_gets_its_view(manager: SessionManager) -> None:
    registry.register_provider("claude", Claude, api_key="sk-ant-sub-123456")
    try:
        views = {
            name: type(manager.create_session("u", name).provider_session)
            for name in ("openai", "openai-chat", "anthropic", "claude", "mock")
        }
    finally:
        registry.unregister_provider("claude")
    assert views == {
        "openai": OpenAIProviderSession,
        "openai-chat": OpenAIProviderSession,
        "anthropic": AnthropicProviderSession,
        "claude": AnthropicProviderSession,
        "mock": MockProviderSession,
    }
    assert all(issubclass(view, ProviderSession) for view in views.values())


# -- OpenAI: the thread is the conversation ----------------------------------------------------


def test_a_thread_created_before_the_first_turn_is_used_by_it(
    manager: SessionManager, fake_llm: FakeLLMServer
) -> None:
    view = openai_view(manager)
    assert view.thread_id is None
    thread = view.create_thread({"topic": "billing"})
    session_id = view.session.session_id
    assert thread.startswith("conv_") and view.thread_id == thread
    assert fake_llm.conversations[thread].metadata == {"session_id": session_id, "topic": "billing"}
    reply = view.send_message("Hello")
    assert fake_llm.requests_for("responses")[0].body["conversation"] == thread
    assert reply.provider_metadata["state"]["conversation_id"] == thread
    assert view.session.provider_session_id == thread
    assert view.create_thread() == thread  # one conversation per session
    assert len(fake_llm.conversations) == 1


def test_a_thread_created_later_holds_the_stored_history(
    manager: SessionManager, fake_llm: FakeLLMServer
) -> None:
    view = openai_view(manager)
    view.session.add_message("user", "Earlier question")
    view.session.add_message("assistant", "Earlier answer")
    thread = view.create_thread()
    texts = [item["content"] for item in fake_llm.conversations[thread].items]
    assert "Earlier question" in str(texts) and "Earlier answer" in str(texts)
    view.send_message("Next")
    body = fake_llm.requests_for("responses")[0].body
    assert body["conversation"] == thread
    assert "Earlier question" not in str(body["input"])  # the conversation holds it


def test_thread_messages_come_from_openai(manager: SessionManager) -> None:
    view = openai_view(manager)
    view.send_message("one")
    view.send_message("two")
    stored = [(m.role, m.content) for m in view.session.get_messages()]
    fetched = view.get_thread_messages()
    assert [(m.role, m.content) for m in fetched] == stored
    assert all(m._state.adding for m in fetched)  # unsaved copies
    assert stored == [("user", "one"), ("assistant", "Echo: one"), ("user", "two"),
                      ("assistant", "Echo: two")]  # fmt: skip


def test_without_a_thread_the_messages_are_the_stored_ones(manager: SessionManager) -> None:
    view = openai_view(manager, "openai-chat")
    view.send_message("hi")
    assert view.thread_id is None
    assert [m.content for m in view.get_thread_messages()] == ["hi", "Echo: hi"]
    with pytest.raises(ConfigurationError) as caught:
        view.create_thread()
    assert caught.value.error_code == "no_conversations"


def test_update_thread_metadata(manager: SessionManager, fake_llm: FakeLLMServer) -> None:
    view = openai_view(manager)
    with pytest.raises(SessionStateError):
        view.update_thread_metadata({"a": "b"})
    thread = view.create_thread()
    view.update_thread_metadata({"priority": "high"})
    assert fake_llm.conversations[thread].metadata == {
        "session_id": view.session.session_id,
        "priority": "high",
    }
    for bad in ({"n": 1}, {f"k{i}": "v" for i in range(16)}, ["not", "a", "dict"]):
        with pytest.raises(ValidationError):
            view.update_thread_metadata(bad)  # type: ignore[arg-type]


def test_delete_thread_and_the_next_turn_starts_a_new_one(
    manager: SessionManager, fake_llm: FakeLLMServer
) -> None:
    view = openai_view(manager)
    view.delete_thread()  # nothing to delete yet
    view.send_message("first")
    old = view.thread_id
    assert old is not None and old in fake_llm.conversations
    view.delete_thread()
    assert old not in fake_llm.conversations
    assert view.thread_id is None
    view.send_message("second")
    new = view.thread_id
    assert new is not None and new != old and new in fake_llm.conversations
    assert fake_llm.requests_for("responses")[-1].body["conversation"] == new


def test_thread_runs_are_the_stored_replies(manager: SessionManager) -> None:
    view = openai_view(manager)
    first = view.send_message("a")
    view.send_message("b")
    runs = view.get_thread_runs()
    assert runs[0]["message_id"] == str(first.pk)
    assert len(runs) == 2
    for run in runs:
        assert run["id"].startswith("resp_")
        assert run["conversation_id"] == view.thread_id
        assert (run["status"], run["model"]) == ("complete", "gpt-4o")
        assert run["input_tokens"] > 0 and run["output_tokens"] > 0


def test_the_thread_methods_have_async_twins(
    manager: SessionManager, fake_llm: FakeLLMServer
) -> None:
    view = openai_view(manager)

    async def scenario() -> tuple[str, str | None, list[str], int]:
        thread = await view.acreate_thread({"via": "async"})
        await view.asend_message("hello")
        await view.aupdate_thread_metadata({"via": "async too"})
        messages = [m.content for m in await view.aget_thread_messages()]
        runs = len(await view.aget_thread_runs())
        await view.adelete_thread()
        return thread, await view.aget_thread_id(), messages, runs

    thread, after_delete, messages, runs = async_to_sync(scenario)()
    assert messages == ["hello", "Echo: hello"] and runs == 1
    assert after_delete is None and thread not in fake_llm.conversations


# -- Anthropic: our history, our system prompt ---------------------------------------------------


def test_conversation_history_is_the_stored_history(manager: SessionManager) -> None:
    view = anthropic_view(manager)
    view.send_message("Hi")
    history = view.get_conversation_history()
    assert [(m.role, m.content) for m in history] == [("user", "Hi"), ("assistant", "Echo: Hi")]
    assert [m.pk for m in async_to_sync(view.aget_conversation_history)()] == [
        m.pk for m in history
    ]


def test_the_system_prompt_leads_every_request(
    manager: SessionManager, fake_llm: FakeLLMServer
) -> None:
    view = anthropic_view(manager)
    view.session.send_system_message("Answer in French.")
    view.update_system_prompt("You are a helpful travel agent.")
    view.send_message("Hi")
    system = fake_llm.requests_for("messages")[-1].body["system"]
    assert system[0]["text"].startswith("You are a helpful travel agent.\n\nAnswer in French.")
    async_to_sync(view.aupdate_system_prompt)("")
    view.send_message("Again")
    system = fake_llm.requests_for("messages")[-1].body["system"]
    assert system[0]["text"] == "Answer in French."
    with pytest.raises(ValidationError):
        view.update_system_prompt(None)  # type: ignore[arg-type]


def test_model_info_with_known_and_unknown_prices(manager: SessionManager) -> None:
    info = anthropic_view(manager).get_model_info()
    assert (info["provider"], info["model"]) == ("anthropic", "claude-sonnet-4-5")
    assert (info["max_tokens"], info["prompt_caching"], info["price_known"]) == (1024, True, True)
    assert info["prices_per_million"] == {
        "input": Decimal(3),
        "output": Decimal(15),
        "cached_input": Decimal("0.3"),
        "cache_write": Decimal("3.75"),
    }
    unknown = anthropic_view(manager, "claude-from-the-future")
    info = async_to_sync(unknown.aget_model_info)()
    assert (info["price_known"], info["prices_per_million"]) == (False, None)
    key = unknown.adapter._clients.options.api_key  # type: ignore[union-attr]
    assert key and key not in str(info) and "api_key" not in str(info)


def test_model_info_follows_prices_from_settings(manager: SessionManager, settings: Any) -> None:
    providers = settings.SESSIONS_APP["PROVIDERS"]
    anthropic = {**providers["anthropic"], "PRICES": {"*": {"input": 1, "output": 2}}}
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "PROVIDERS": {**providers, "anthropic": anthropic},
    }
    registry.reset_providers()
    prices = anthropic_view(manager, "claude-from-the-future").get_model_info()
    assert prices["prices_per_million"]["input"] == 1
    assert prices["prices_per_million"]["output"] == 2


# -- the documents' form: awaited through sessions_app.aio ---------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_documented_methods_are_awaited_through_aio(fake_llm: FakeLLMServer) -> None:
    from sessions_app.aio import create_session_manager

    async def example() -> dict[str, Any]:
        manager = create_session_manager()
        openai_session = await manager.create_session("user123", "openai", "gpt-4o")
        openai_view = openai_session.provider_session
        thread = await openai_view.create_thread({"topic": "docs"})
        await openai_view.send_message("Hello")
        await openai_view.update_thread_metadata({"topic": "docs, again"})
        thread_messages = [m.content for m in await openai_view.get_thread_messages()]
        runs = await openai_view.get_thread_runs()
        same_thread = openai_view.thread_id == thread
        await openai_view.delete_thread()

        claude = await manager.create_session("user123", "anthropic", "claude-sonnet-4-5")
        claude_view = claude.provider_session
        await claude_view.update_system_prompt("Be terse.")
        await claude_view.send_message("Hi")
        history = [m.content for m in await claude_view.get_conversation_history()]
        info = await claude_view.get_model_info()
        return {
            "thread": thread,
            "same_thread": same_thread,
            "thread_messages": thread_messages,
            "runs": len(runs),
            "history": history,
            "price_known": info["price_known"],
        }

    seen = async_to_sync(example)()
    assert seen["same_thread"] and seen["thread"] not in fake_llm.conversations
    assert seen["thread_messages"] == ["Hello", "Echo: Hello"] and seen["runs"] == 1
    assert seen["history"] == ["Hi", "Echo: Hi"] and seen["price_known"] is True
    assert fake_llm.requests_for("messages")[-1].body["system"][0]["text"] == "Be terse."
