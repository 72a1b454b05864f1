"""What each adapter sends turn after turn: OpenAI's conversation (created once, only the new
turn sent), Chat Completions and Anthropic with our whole history and the system prompt."""

from __future__ import annotations

import pytest

from sessions_app.manager import SessionManager
from sessions_app.pipeline import CleanupHook
from sessions_app.testing import stream_error
from tests.providers.conftest import (
    ANTHROPIC,
    OPENAI,
    OPENAI_CHAT,
    configure,
    events_of,
    new_session,
    provider_settings,
    send,
)
from tests.support.api import url

pytestmark = pytest.mark.django_db


def texts(items):
    """(role, text) of Responses input items or chat / Anthropic messages."""
    pairs = []
    for item in items:
        content = item["content"]
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content)
        pairs.append((item["role"], content))
    return pairs


def test_the_openai_conversation_is_created_once_and_sent_only_the_new_turn(
    as_alice, fake_providers
):
    session = new_session(as_alice, OPENAI.provider, OPENAI.model)
    for text in ("first", "second"):
        assert send(as_alice, session["id"], text).status_code == 201
    events_of(send(as_alice, session["id"], "third", stream=True))
    created = [r for r in fake_providers.requests_for("conversations") if r.method == "POST"]
    assert len(created) == 1
    [conversation] = fake_providers.conversations.values()
    turns = fake_providers.requests_for("responses")
    assert len(turns) == 3
    for turn, text in zip(turns, ("first", "second", "third"), strict=True):
        body = turn.body
        conversation_ref = body["conversation"]
        conv_id = conversation_ref["id"] if isinstance(conversation_ref, dict) else conversation_ref
        assert conv_id == conversation.id
        assert [t for _, t in texts(_items(body["input"]))] == [text]
        assert "previous_response_id" not in body
    assert texts(conversation.items) == [
        ("user", "first"), ("assistant", "Echo: first"),
        ("user", "second"), ("assistant", "Echo: second"),
        ("user", "third"), ("assistant", "Echo: third"),
    ]  # fmt: skip


def test_the_handle_exposes_the_openai_conversation(fake_providers):
    handle = SessionManager().create_session(user_id="u1", provider="openai", model="gpt-4o")
    handle.send_message("hi")
    handle.refresh()
    [conversation] = fake_providers.conversations.values()
    assert handle.provider_session_id == conversation.id
    assert conversation.id in str(handle.get_provider_metadata())


def test_deleting_a_session_deletes_its_openai_conversation(fake_providers):
    manager = SessionManager()
    manager.add_lifecycle_hook(CleanupHook())
    handle = manager.create_session(user_id="u1", provider="openai", model="gpt-4o")
    handle.send_message("hi")
    [conv_id] = fake_providers.conversations
    manager.delete_session(handle.session_id)
    deleted = [r for r in fake_providers.requests_for("conversations") if r.method == "DELETE"]
    assert [r.path for r in deleted] == [f"/v1/conversations/{conv_id}"]
    assert conv_id not in fake_providers.conversations


def test_previous_response_id_mode_chains_the_responses(as_alice, settings, fake_llm):
    providers = provider_settings(fake_llm)
    providers["openai"]["OPTIONS"]["previous_response_id"] = True
    configure(settings, providers)
    session = new_session(as_alice, OPENAI.provider, OPENAI.model)
    first = send(as_alice, session["id"], "one").json()["reply"]
    send(as_alice, session["id"], "two")
    turns = fake_llm.requests_for("responses")
    assert "previous_response_id" not in turns[0].body
    assert turns[1].body["previous_response_id"] == first["provider_message_id"]
    assert [t for _, t in texts(_items(turns[1].body["input"]))] == ["two"]
    assert not fake_llm.requests_for("conversations")


@pytest.mark.parametrize("case", [OPENAI_CHAT, ANTHROPIC], ids=str)
def test_history_adapters_send_the_whole_history_and_the_system_prompt(
    as_alice, fake_providers, case
):
    session = new_session(as_alice, case.provider, case.model)
    system = as_alice.post(
        url("sessions", session["id"], "messages"),
        {"content": "Be brief.", "role": "system"},
        format="json",
    )
    assert system.status_code == 201
    send(as_alice, session["id"], "first")
    events_of(send(as_alice, session["id"], "second", stream=True))
    last = fake_providers.requests_for(case.kind)[-1].body
    history = [("user", "first"), ("assistant", "Echo: first"), ("user", "second")]
    if case is ANTHROPIC:
        assert "Be brief." in str(last["system"])
        assert texts(last["messages"]) == history
    else:
        assert texts(last["messages"]) == [("system", "Be brief."), *history]


def test_anthropic_caches_the_stable_prefix_and_sends_max_tokens(as_alice, settings, fake_llm):
    providers = provider_settings(fake_llm)
    providers["anthropic"]["OPTIONS"]["max_tokens"] = 321
    configure(settings, providers)
    session = new_session(as_alice, ANTHROPIC.provider, ANTHROPIC.model)
    send(as_alice, session["id"], "first")
    send(as_alice, session["id"], "second")
    body = fake_llm.requests_for("messages")[-1].body
    assert body["max_tokens"] == 321
    assert '"cache_control"' in _json(body) and "ephemeral" in _json(body)


def _items(value):
    return [{"role": "user", "content": value}] if isinstance(value, str) else value


def _json(body):
    import json

    return json.dumps(body)


def test_a_broken_stream_keeps_the_openai_conversation_for_the_next_turn(as_alice, fake_providers):
    session = new_session(as_alice, OPENAI.provider, OPENAI.model)
    send(as_alice, session["id"], "first")
    fake_providers.script(stream_error(after=1))
    events = events_of(send(as_alice, session["id"], "second", stream=True))
    assert events[-1][0] == "error"
    assert send(as_alice, session["id"], "third").status_code == 201
    [conversation] = fake_providers.conversations.values()  # no second conversation
    turns = fake_providers.requests_for("responses")
    assert {_conversation_id(turn.body) for turn in turns} == {conversation.id}


def _conversation_id(body):
    ref = body["conversation"]
    return ref["id"] if isinstance(ref, dict) else ref
