"""The documents' data classes and errors, called the way code ported from them calls them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from sessions_app.exceptions import (
    ConfigurationError,
    ProviderError,
    RateLimitExceeded,
    SessionError,
    SessionNotFoundError,
    ValidationError,
)
from sessions_app.metrics import SessionAnalytics, SessionMetrics
from sessions_app.models import Message, MessageRole, SessionMessage, SessionStatus
from sessions_app.services.context import ContextSnapshot, SessionContext
from sessions_app.session_config import SessionConfig

# --- SessionError


def test_session_error_takes_the_documents_positional_arguments():
    error = SessionError("boom", "s1", "custom_code", {"attempt": 2})
    assert str(error) == "boom"
    assert (error.session_id, error.error_code) == ("s1", "custom_code")
    assert error.context == {"attempt": 2}
    # The documents' context is debugging data: it is not answered to API clients.
    assert "details" not in error.to_dict()
    assert "attempt" not in str(error.to_dict())


def test_subclasses_keep_their_keywords_and_defaults():
    error = ProviderError("down", "s1", provider="mock", retryable=True)
    assert (error.session_id, error.provider, error.retryable) == ("s1", "mock", True)
    assert error.error_code == "provider_error"
    limited = RateLimitExceeded(session_id="s2", retry_after=3)
    assert (limited.retry_after, limited.error_code) == (3, "rate_limited")
    assert str(SessionNotFoundError()) == "Session not found."
    both = SessionError("x", details={"a": 1}, context={"b": 2})
    assert (both.details, both.context) == ({"a": 1}, {"b": 2})


# --- SessionStatus and MessageRole


def test_status_from_string_ignores_case_and_spaces():
    assert SessionStatus.from_string(" Archived ") is SessionStatus.ARCHIVED
    assert SessionStatus.from_string(SessionStatus.IDLE) is SessionStatus.IDLE
    with pytest.raises(ValueError, match="active, idle, archived, deleted, error"):
        SessionStatus.from_string("paused")
    assert MessageRole.from_string("ASSISTANT") is MessageRole.ASSISTANT
    with pytest.raises(ValueError, match="user, assistant, system"):
        MessageRole.from_string("tool")


def test_status_helpers_follow_the_transition_table():
    assert [s.value for s in SessionStatus if s.is_active()] == ["active", "idle", "error"]
    assert SessionStatus.ACTIVE.can_transition_to("archived")
    assert SessionStatus.ACTIVE.can_transition_to(SessionStatus.IDLE)
    assert not SessionStatus.ARCHIVED.can_transition_to("active")
    assert not SessionStatus.DELETED.can_transition_to("active")


# --- SessionMessage


def test_message_is_session_message_built_like_the_dataclass():
    message_id, session_id = str(uuid.uuid4()), str(uuid.uuid4())
    moment = timezone.now()
    message = SessionMessage(
        message_id=message_id,
        session_id=session_id,
        role="assistant",
        content="hi",
        timestamp=moment,
        token_count=7,
    )
    assert SessionMessage is Message
    assert (message.message_id, message.timestamp, message.token_count) == (message_id, moment, 7)
    assert (message.input_tokens, message.output_tokens) == (0, 7)
    user = Message(role="user", content="q", token_count=3)
    assert (user.input_tokens, user.output_tokens) == (3, 0)
    documents_id = Message(message_id="msg_1", role="user", content="q")
    assert Message.from_dict(documents_id.to_dict()).message_id == "msg_1"


@pytest.mark.django_db
def test_message_dict_round_trip(conversation):
    reply = conversation.send_message("hello", metadata={"intent": "greet"})
    data = reply.to_dict()
    assert data["session_id"] == conversation.session_id
    assert data["timestamp"] == reply.created_at.isoformat()
    assert data["provider_message_id"] is None or isinstance(data["provider_message_id"], str)
    assert set(data) >= {
        "message_id", "role", "content", "metadata", "provider_metadata", "token_count",
        "processing_time_ms", "status", "seq",
    }  # fmt: skip
    copy = Message.from_dict(data)
    assert copy._state.adding
    assert copy.to_dict() == data
    minimal = Message.from_dict({"role": "user", "content": "hi"})
    assert (minimal.role, minimal.token_count, minimal.metadata) == ("user", 0, {})


def test_message_provider_formats():
    user = Message(role="user", content="hi")
    system = Message(role="system", content="be brief")
    assert user.to_provider_format("openai") == {"role": "user", "content": "hi"}
    assert system.to_provider_format("openai") == {"role": "system", "content": "be brief"}
    assert system.to_provider_format("anthropic") == {"role": "user", "content": "be brief"}
    assert system.to_provider_format("someone-else") == {"role": "system", "content": "be brief"}


# --- SessionMetrics


@pytest.mark.django_db
def test_metrics_after_a_real_turn(conversation):
    empty = conversation.get_metrics()
    assert (empty.first_message_at, empty.last_message_at) == (None, None)
    conversation.send_message("hello")
    metrics = conversation.get_metrics()
    assert isinstance(metrics, SessionMetrics)
    assert (metrics.total_messages, metrics.user_messages, metrics.assistant_messages) == (2, 1, 1)
    assert metrics.total_tokens == metrics.input_tokens + metrics.output_tokens > 0
    assert isinstance(metrics.session_duration, timedelta)
    assert metrics.provider_calls == 1 and isinstance(metrics.estimated_cost, float)
    first, last = conversation.get_messages()
    assert metrics.first_message_at == first.created_at
    assert metrics.last_message_at == last.created_at
    data = metrics.to_dict()
    assert data["session_duration_seconds"] == round(metrics.session_duration.total_seconds(), 3)
    assert metrics["total_messages"] == data["total_messages"] == 2
    assert "session_duration" not in data


def test_metrics_update_with_message():
    metrics = SessionMetrics(session_id="s1")
    early, late = timezone.now() - timedelta(minutes=1), timezone.now()
    metrics.update_with_message(Message(role="user", content="q", created_at=late, token_count=4))
    metrics.update_with_message(
        Message(role="assistant", content="a", created_at=early, token_count=6)
    )
    assert (metrics.total_messages, metrics.user_messages, metrics.assistant_messages) == (2, 1, 1)
    assert (metrics.input_tokens, metrics.output_tokens, metrics.total_tokens) == (4, 6, 10)
    assert (metrics.first_message_at, metrics.last_message_at) == (early, late)


# --- SessionAnalytics


@pytest.mark.django_db
def test_analytics_read_as_attributes_and_as_a_mapping(manager, conversation):
    conversation.send_message("hello")
    analytics = manager.get_analytics(
        start_date=datetime.now() - timedelta(days=30), end_date=datetime.now()
    )
    assert isinstance(analytics, SessionAnalytics)
    assert analytics.total_sessions == analytics["total_sessions"] == 1
    assert analytics.active_users == 1 and analytics.avg_messages_per_session == 2.0
    assert analytics.model_usage == {conversation.model: 1}
    assert analytics.provider_usage == {"mock": 1}
    assert analytics.sandbox_id == "tests" and "daily" in analytics
    assert list(analytics.keys()) == list(analytics.to_dict()) == [
        "sandbox_id", "period", "total_sessions", "active_sessions", "sessions_by_status",
        "active_users", "total_messages", "avg_messages_per_session", "provider_usage",
        "model_usage", "input_tokens", "output_tokens", "total_tokens", "estimated_cost",
        "avg_response_time_ms", "provider_calls", "provider_errors", "error_rate",
        "cached_input_tokens", "cache_write_tokens", "reasoning_tokens", "cost_status",
        "unpriced_replies", "streamed_replies", "avg_time_to_first_token_ms", "daily",
    ]  # fmt: skip
    assert dict(analytics) == analytics.to_dict()


# --- SessionContext


def test_context_set_update_and_merge_in_memory():
    context = SessionContext("s1")
    context.set("user_context.preferences.language", "fr")
    context.set("topic", "ml")
    assert context.get("user_context.preferences.language") == "fr"
    assert context.conversation_context == {"topic": "ml"}
    context.update({"user_context.preferences.theme": "dark", "step": 2, "topic": None})
    assert context.user_context == {"preferences": {"language": "fr", "theme": "dark"}}
    assert context.conversation_context == {"step": 2}
    assert context.version == 1 + 3
    other = SessionContext("s2", system_context={"mode": "safe"}, user_context={"a": 1})
    context.merge(other)
    assert context.system_context == {"mode": "safe"} and context.user_context["a"] == 1
    assert context.to_dict()["session_id"] == "s1"
    with pytest.raises(ValidationError):
        context.update({"user_context": "not an object"})
    assert ContextSnapshot is SessionContext


@pytest.mark.django_db
def test_context_read_from_a_session_names_it(conversation):
    stored = conversation.update_context({"user_context.name": "Ann"})
    assert stored.session_id == conversation.session_id
    read = conversation.get_context()
    assert read.session_id == conversation.session_id and read.get("user_context.name") == "Ann"
    read.set("user_context.name", "Bob")  # in memory only
    assert conversation.get_context().get("user_context.name") == "Ann"


@pytest.mark.django_db
def test_session_context_manager_archives_on_error(manager):
    session = manager.create_session(user_id="u")
    with pytest.raises(RuntimeError), SessionContext(session) as entered:
        assert entered is session
        raise RuntimeError("boom")
    assert session.refresh().status == SessionStatus.ARCHIVED

    calm = manager.create_session(user_id="u")
    with SessionContext(calm):
        pass
    assert calm.refresh().status == SessionStatus.ACTIVE


@pytest.mark.django_db(transaction=True)
def test_session_context_manager_async(manager):
    session = manager.create_session(user_id="u")

    async def scenario():
        async with SessionContext(session) as entered:
            assert entered is session
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        async_to_sync(scenario)()
    assert session.refresh().status == SessionStatus.ARCHIVED
    with pytest.raises(RuntimeError, match="boom"), SessionContext(session):
        raise RuntimeError("boom")  # already archived: the error still comes through


def test_a_plain_context_is_no_context_manager():
    with pytest.raises(TypeError, match="SessionContext\\(session\\)"), SessionContext("s1"):
        pass


# --- SessionConfig


@pytest.mark.django_db
def test_config_ages_are_timedeltas_stored_as_days(manager):
    config = SessionConfig(auto_archive_after=timedelta(days=7), auto_delete_after=30)
    assert config.auto_delete_after == timedelta(days=30)
    session = manager.create_session(user_id="u", session_config=config)
    assert session.record.config["auto_archive_after"] == 7
    assert session.refresh().config.auto_archive_after == timedelta(days=7)
    half = SessionConfig(auto_archive_after=timedelta(hours=12))
    assert half.to_dict()["auto_archive_after"] == 0.5
    assert SessionConfig.from_dict(half.to_dict()) == half


def test_config_validate_lists_every_error():
    assert SessionConfig().validate() == []
    config = SessionConfig(name=None, description=None)
    assert (config.name, config.description) == ("", "")
    config.max_messages, config.auto_archive_after = 0, timedelta(days=-1)
    errors = config.validate()
    assert len(errors) == 2 and "max_messages" in errors[0] and "auto_archive_after" in errors[1]
    with pytest.raises(ConfigurationError, match=r"max_messages.*auto_delete_after"):
        SessionConfig(max_messages=0, auto_delete_after=timedelta(days=10**6))
    for days in (0, -1, float("nan"), float("inf"), 10**400, True, "7"):
        with pytest.raises(ConfigurationError, match="auto_archive_after"):
            SessionConfig.from_dict({"auto_archive_after": days})


def test_config_merge_with():
    base = SessionConfig(name="base", max_messages=10, provider_config={"temperature": 0.2})
    override = SessionConfig(max_messages=20, provider_config={"top_p": 0.9})
    merged = base.merge_with(override)
    assert (merged.name, merged.max_messages) == ("base", 20)
    assert merged.provider_config == {"temperature": 0.2, "top_p": 0.9}
    assert base.max_messages == 10


@pytest.mark.django_db
def test_export_keeps_max_messages_in_config(manager):
    session = manager.create_session(user_id="u", session_config={"max_messages": 5})
    assert session.export_conversation()["session"]["config"]["max_messages"] == 5
