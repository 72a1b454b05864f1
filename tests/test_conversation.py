"""The conversational API, following the reference documents' example."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from sessions_app.exceptions import (
    ConfigurationError,
    ContentTooLongError,
    MessageLimitError,
    ProviderError,
    SessionError,
    SessionNotFoundError,
    SessionStateError,
    ValidationError,
)
from sessions_app.models import Message, Session
from sessions_app.providers import register_provider, unregister_provider
from sessions_app.providers.mock import MockProvider
from sessions_app.utils.keys import hash_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing_provider():
    register_provider("failing", MockProvider, error_rate=1.0)
    yield "failing"
    unregister_provider("failing")


def test_reference_example_flow(manager):
    session = manager.create_session(
        user_id="user123",
        provider="mock",
        model="mock-model",
        session_config={
            "name": "Support chat",
            "tags": ["support", "billing"],
            "max_messages": 100,
        },
    )
    reply = session.send_message("Hello, I need help with my bill")
    assert reply.role == "assistant"
    assert reply.content == "Mock response to: Hello, I need help with my bill"
    assert reply.output_tokens > 0 and reply.input_tokens > 0
    assert reply.provider_message_id.startswith("mock-")

    history = session.get_messages()
    assert [(m.seq, m.role) for m in history] == [(1, "user"), (2, "assistant")]
    assert history[0].content == "Hello, I need help with my bill"

    session.update_context({"user_context": {"plan": "pro"}})
    assert session.get_context().get("user_context.plan") == "pro"

    metrics = session.get_metrics()
    assert metrics["total_messages"] == 2
    assert metrics["user_messages"] == 1 and metrics["assistant_messages"] == 1
    assert metrics["total_tokens"] == reply.input_tokens + reply.output_tokens
    assert metrics["provider_calls"] == 1 and metrics["provider_errors"] == 0

    session.archive()
    assert manager.get_session(session.session_id).status == "archived"
    with pytest.raises(SessionStateError) as caught:
        session.send_message("still there?")
    assert caught.value.session_id == session.session_id
    assert caught.value.error_code == "invalid_state"
    assert Message.objects.filter(session_id=session.session_id).count() == 2


def test_secret_key_is_returned_once_and_stored_hashed(manager):
    session = manager.create_session()
    assert len(session.session_key) == 32
    row = Session.objects.get(pk=session.session_id)
    assert row.key_hash == hash_key(session.session_key)
    assert session.session_key not in str(Session.objects.filter(pk=row.pk).values().get())
    assert manager.get_session(session.session_id).session_key is None


def test_defaults_come_from_settings(manager):
    session = manager.create_session()
    assert (session.provider, session.model) == ("mock", "mock-model")
    assert session.expires_at is not None


def test_unknown_provider_and_model_are_configuration_errors(manager, settings):
    with pytest.raises(ConfigurationError) as caught:
        manager.create_session(provider="nope")
    assert caught.value.error_code == "unknown_provider"
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "PROVIDERS": {"mock": {"MODELS": ["m1"]}}}
    with pytest.raises(ConfigurationError) as caught:
        manager.create_session(provider="mock", model="gpt-unknown")
    assert caught.value.error_code == "unknown_model"
    assert Session.objects.count() == 0


@pytest.mark.parametrize(
    "config",
    [
        {"max_messages": 0},
        {"max_messages": "10"},
        {"tags": "not-a-list"},
        {"provider_config": []},
        {"no_such_field": 1},
        {"session_timeout_minutes": -5},
    ],
)
def test_invalid_session_config_is_rejected(manager, config):
    with pytest.raises(ConfigurationError):
        manager.create_session(session_config=config)


def test_system_messages_and_history_filters(conversation):
    system = conversation.send_system_message("You are terse.")
    assert system.role == "system" and system.seq == 1
    conversation.send_message("one")
    cutoff = timezone.now()
    conversation.send_message("two")
    assert [m.content for m in conversation.get_messages(role="user")] == ["one", "two"]
    assert [m.seq for m in conversation.get_messages(limit=2)] == [4, 5]
    assert [m.content for m in conversation.get_messages(since=cutoff, role="user")] == ["two"]
    assert conversation.get_message(system.id).content == "You are terse."
    assert conversation.get_message("not-a-uuid") is None
    assert conversation.get_messages(limit=0) == []


def test_system_messages_reach_the_provider_as_system_prompt(manager, spy_requests):
    session = manager.create_session(provider="spy")
    session.send_system_message("Answer in French.")
    session.send_message("first")
    session.send_message("second")
    seen = spy_requests
    assert seen[-1].system == "Answer in French."
    assert [(m.role, m.content) for m in seen[-1].messages] == [
        ("user", "first"),
        ("assistant", "Mock response to: first"),
        ("user", "second"),
    ]
    assert (
        seen[-1].provider_state["last_response_id"]
        == Message.objects.get(seq=3).provider_message_id
    )


def test_invalid_input_is_rejected_without_storing(conversation, settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "MAX_MESSAGE_CHARS": 10}
    with pytest.raises(ContentTooLongError):
        conversation.send_message("x" * 11)
    with pytest.raises(ValidationError) as caught:
        conversation.send_message("hi", role="assistant")
    assert caught.value.error_code == "invalid_role"
    with pytest.raises(ValidationError):
        conversation.send_message("   ")
    with pytest.raises(ValidationError):
        conversation.send_message("hi", metadata=["not", "a", "dict"])
    assert Message.objects.count() == 0


def test_max_messages_is_enforced(manager):
    session = manager.create_session(session_config={"max_messages": 3})
    session.send_message("one")  # user + reply = 2
    with pytest.raises(MessageLimitError) as caught:
        session.send_message("two")  # would need 2 more slots
    assert caught.value.error_code == "message_limit_reached"
    session.send_system_message("fits")
    with pytest.raises(MessageLimitError):
        session.send_system_message("full")
    assert session.get_metrics()["total_messages"] == 3


def test_provider_error_keeps_user_message_and_counts(manager, failing_provider):
    session = manager.create_session(provider=failing_provider)
    errors = []
    manager.add_lifecycle_hook("error", lambda event, **data: errors.append(data["error"]))
    with pytest.raises(ProviderError) as caught:
        session.send_message("are you there?")
    assert caught.value.session_id == session.session_id
    assert caught.value.error_code == "provider_error"
    assert [m.content for m in session.get_messages()] == ["are you there?"]
    metrics = session.get_metrics()
    assert metrics["provider_calls"] == 1 and metrics["provider_errors"] == 1
    assert metrics["error_rate"] == 1.0
    assert errors == [caught.value]


def test_errors_form_one_hierarchy():
    for error in (SessionNotFoundError, SessionStateError, ProviderError, ConfigurationError):
        assert issubclass(error, SessionError)
    error = SessionNotFoundError(session_id="abc")
    assert (error.session_id, error.error_code) == ("abc", "session_not_found")


def test_clear_messages_keeps_sequence_increasing(conversation):
    conversation.send_message("one")
    assert conversation.clear_messages() == 2
    assert conversation.get_messages() == []
    assert conversation.get_metrics()["total_messages"] == 0
    assert conversation.send_message("two").seq == 4


def test_update_config_validates_and_applies(conversation):
    config = conversation.update_config({"name": "Renamed", "tags": ["x"], "max_messages": 50})
    assert (config.name, config.tags, config.max_messages) == ("Renamed", ["x"], 50)
    conversation.refresh()
    assert conversation.config.max_messages == 50 and conversation.record.tags == ["x"]
    with pytest.raises(ConfigurationError):
        conversation.update_config({"max_messages": -1})
    assert conversation.refresh().config.max_messages == 50


def test_status_transitions_are_checked(manager, conversation):
    conversation.archive()
    conversation.archive()  # idempotent
    with pytest.raises(SessionStateError):
        conversation.update_config({"name": "x"})
    with pytest.raises(SessionStateError):
        conversation.update_context({"a": 1})
    with pytest.raises(SessionStateError):
        conversation.clear_messages()
    assert manager.delete_session(conversation.session_id) is True
    assert manager.find_session(conversation.session_id) is None
    assert manager.archive_session(conversation.session_id) is False
    with pytest.raises(SessionNotFoundError):
        conversation.refresh()


def test_deleted_session_is_gone_and_purged_later(manager, conversation):
    conversation.send_message("hi")
    conversation.delete()
    assert manager.find_session(conversation.session_id) is None
    assert Session.objects.filter(pk=conversation.session_id).exists()
    assert manager.purge_deleted_sessions(older_than_seconds=0) == 1
    assert not Message.objects.exists()


def test_expired_session_is_not_found_and_refuses_messages(manager, conversation):
    Session.objects.filter(pk=conversation.session_id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert manager.find_session(conversation.session_id) is None
    with pytest.raises(SessionStateError) as caught:
        conversation.send_message("late")
    assert caught.value.error_code == "session_expired"


def test_idle_timeout_from_config(manager):
    session = manager.create_session(session_config={"session_timeout_minutes": 5})
    Session.objects.filter(pk=session.session_id).update(
        last_activity=timezone.now() - timedelta(minutes=6)
    )
    session.refresh()
    with pytest.raises(SessionStateError):
        session.send_message("hello?")


def test_export_conversation_is_one_json_document(conversation):
    conversation.send_message("hi")
    conversation.update_context({"user_context": {"lang": "en"}})
    doc = conversation.export_conversation()
    assert doc["session"]["id"] == conversation.session_id
    assert [m["role"] for m in doc["messages"]] == ["user", "assistant"]
    assert doc["context"]["user_context"] == {"lang": "en"} and doc["context"]["version"] == 1
    assert doc["metrics"]["total_messages"] == 2
    assert "session_key" not in str(doc) and "key_hash" not in str(doc)


def test_async_twins(manager):
    async def scenario():
        session = await manager.acreate_session(
            user_id="async-user", metadata={"via": "async"}, ttl_seconds=600
        )
        reply = await session.asend_message("hello async")
        system = await session.asend_system_message("note")
        history = await session.aget_messages()
        context = await session.aupdate_context({"user_context.name": "Ann"})
        metrics = await session.aget_metrics()
        found = await manager.aget_user_sessions("async-user")
        await session.aarchive()
        return reply, system, history, context, metrics, found

    reply, system, history, context, metrics, found = async_to_sync(scenario)()
    assert reply.content == "Mock response to: hello async"
    assert system.seq == 3
    assert [m.seq for m in history] == [1, 2, 3]
    assert context.get("user_context.name") == "Ann"
    assert metrics["total_messages"] == 3
    assert len(found) == 1 and found[0].status == "active"
    row = Session.objects.get()
    assert row.status == "archived"
    assert (row.external_user_id, row.metadata) == ("async-user", {"via": "async"})
    assert 599 <= (row.expires_at - row.created_at).total_seconds() <= 600


def test_streaming_yields_deltas_then_stored_reply(conversation):
    events = list(conversation.stream_message("stream this please"))
    user, *deltas, reply = events
    assert user.role == "user" and reply.role == "assistant"
    assert (
        "".join(d.text for d in deltas) == reply.content == "Mock response to: stream this please"
    )
    assert reply.status == "complete"


def test_stream_stopped_early_stores_what_was_generated(conversation):
    stream = conversation.stream_message("one two three four five")
    next(stream)  # stored user message
    first = next(stream)
    stream.close()
    reply = conversation.get_messages(role="assistant")[0]
    assert reply.status == "incomplete"
    assert reply.content == first.text


def test_async_stream_stopped_early_stores_what_was_generated(conversation):
    async def scenario():
        stream = conversation.astream_message("one two three four five")
        await stream.__anext__()
        first = await stream.__anext__()
        await stream.aclose()
        return first

    first = async_to_sync(scenario)()
    reply = Message.objects.get(role="assistant")
    assert (reply.status, reply.content) == ("incomplete", first.text)


def test_a_handle_knows_its_sandbox_without_a_query(manager, conversation):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    found = manager.get_session(conversation.session_id)
    with CaptureQueriesContext(connection) as queries:
        slugs = (conversation.sandbox_id, found.sandbox_id, found.refresh().sandbox_id)
    assert slugs == ("tests", "tests", "tests")
    assert len(queries) == 1  # the refresh's read of the session


def test_package_exports_and_reference_message_fields(manager, conversation):
    from sessions_app import ConversationSession, SessionConfig, SessionManager

    assert SessionManager is type(manager) and ConversationSession is type(conversation)
    reply = conversation.send_message("hi")
    assert reply.message_id == str(reply.id) and reply.timestamp == reply.created_at
    assert reply.token_count == reply.input_tokens + reply.output_tokens
    assert SessionConfig(max_messages=5).max_messages == 5


def test_a_stream_closed_right_after_the_user_message_frees_the_reply_slot(conversation):
    from sessions_app.models import Message, Session

    stream = conversation.stream_message("hello")
    user = next(stream)
    stream.close()
    reply = Message.objects.get(session_id=conversation.session_id, role="assistant")
    assert (user.role, reply.status, reply.content) == ("user", "incomplete", "")
    assert Session.objects.get(pk=conversation.session_id).pending_replies == 0


def test_an_async_stream_closed_right_after_the_user_message_frees_the_reply_slot(conversation):
    async def scenario():
        stream = conversation.astream_message("hello")
        user = await stream.__anext__()
        await stream.aclose()
        return user

    user = async_to_sync(scenario)()
    reply = Message.objects.get(session_id=conversation.session_id, role="assistant")
    assert (user.role, reply.status, reply.content) == ("user", "incomplete", "")
    assert Session.objects.get(pk=conversation.session_id).pending_replies == 0


def test_a_reply_slot_left_pending_by_a_vanished_turn_is_freed_once_stale(manager):
    from datetime import timedelta

    from django.utils import timezone

    from sessions_app.exceptions import MessageLimitError
    from sessions_app.models import Session
    from sessions_app.services import messages, turns

    handle = manager.create_session(session_config={"max_messages": 3})
    turns.start_turn(handle.record, manager.pipeline, content="never answered")
    with pytest.raises(MessageLimitError):  # 1 message + 1 pending reply + 2 needed > 3
        handle.send_message("hello")
    Session.objects.filter(pk=handle.session_id).update(
        last_activity=timezone.now() - messages.STALE_REPLY_AFTER - timedelta(seconds=1)
    )
    reply = handle.send_message("hello")
    stored = Session.objects.get(pk=handle.session_id)
    assert reply.role == "assistant"
    assert (stored.message_count, stored.pending_replies) == (3, 0)
