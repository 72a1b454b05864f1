"""Lifecycle hooks, Django signals, and message middleware inside a conversation."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from sessions_app import signals
from sessions_app.exceptions import ConfigurationError, MiddlewareError
from sessions_app.manager import SessionManager
from sessions_app.models import Message
from sessions_app.pipeline import (
    LifecycleEvent,
    MessageMiddleware,
    PipelineMessage,
    RateLimitMiddleware,
    SecurityMiddleware,
)

pytestmark = pytest.mark.django_db


def test_hooks_fire_for_every_event(manager):
    events: list[tuple[str, str]] = []
    for event in LifecycleEvent:
        manager.add_lifecycle_hook(
            event, lambda event, **data: events.append((event, data.get("session_id")))
        )
    session = manager.create_session()
    session.send_message("hi")
    session.update_context({"a": 1})
    session.archive()
    session.delete()
    sid = session.session_id
    assert events == [
        ("session_created", sid),
        ("message_sent", sid),
        ("message_received", sid),
        ("context_updated", sid),
        ("session_archived", sid),
        ("session_deleted", sid),
    ]


def test_signals_mirror_the_hooks(manager):
    received = []

    def receiver(sender, **data):
        received.append((sender.__name__, data["session_id"]))

    signals.session_created.connect(receiver)
    signals.message_received.connect(receiver)
    try:
        session = manager.create_session()
        session.send_message("hi")
    finally:
        signals.session_created.disconnect(receiver)
        signals.message_received.disconnect(receiver)
    assert received == [("Session", session.session_id), ("Session", session.session_id)]


def test_a_failing_hook_does_not_break_the_operation(manager, caplog):
    def broken(event, **data):
        raise RuntimeError("hook bug")

    manager.add_lifecycle_hook("session_created", broken)
    assert manager.create_session().status == "active"
    assert "hook bug" in caplog.text


def test_async_hooks_are_awaited(manager):
    seen = []

    async def hook(event, **data):
        seen.append(event)

    manager.add_lifecycle_hook("session_created", hook)
    manager.create_session()
    async_to_sync(manager.acreate_session)()
    assert seen == ["session_created", "session_created"]


def test_unknown_event_is_a_configuration_error(manager):
    with pytest.raises(ConfigurationError):
        manager.add_lifecycle_hook("session_exploded", print)


def test_hooks_of_one_manager_do_not_leak_into_another(db):
    seen = []
    first = SessionManager("one")
    first.add_lifecycle_hook("session_created", lambda event, **data: seen.append(1))
    SessionManager("one").create_session()
    assert seen == []


def test_middleware_changes_what_is_stored(manager):
    manager.add_middleware(SecurityMiddleware())
    session = manager.create_session()
    session.send_message("mail me at jane@example.com, card 4111 1111 1111 1111")
    stored = session.get_messages(role="user")[0]
    assert "jane@example.com" not in stored.content and "4111" not in stored.content
    assert stored.metadata["redactions"] == {"email": 1, "card": 1}
    # The provider saw only the redacted text.
    assert "jane@example.com" not in session.get_messages(role="assistant")[0].content


def test_middleware_sees_replies_as_outgoing(manager):
    directions = []

    class Recorder(MessageMiddleware):
        def process(self, message: PipelineMessage) -> PipelineMessage:
            directions.append((message.role, message.direction))
            return message

    manager.add_middleware(Recorder())
    manager.create_session().send_message("hi")
    assert directions == [("user", "incoming"), ("assistant", "outgoing")]


def test_rejecting_middleware_stores_nothing(manager):
    class Reject(MessageMiddleware):
        def process_incoming(self, message):
            raise MiddlewareError("no", session_id=message.session_id)

    manager.add_middleware(Reject())
    session = manager.create_session()
    with pytest.raises(MiddlewareError):
        session.send_message("hi")
    assert not Message.objects.exists()


def test_rate_limit_in_a_conversation(manager):
    manager.add_middleware(RateLimitMiddleware(max_messages=2, period=60))
    session = manager.create_session()
    session.send_message("1")
    session.send_message("2")
    with pytest.raises(MiddlewareError) as caught:
        session.send_message("3")
    assert caught.value.error_code == "rate_limited"
    assert session.get_metrics()["user_messages"] == 2


def test_middleware_and_hooks_from_settings(settings, db):
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "MIDDLEWARE": [("sessions_app.pipeline.SecurityMiddleware", {"kinds": ["email"]})],
        "HOOKS": {"session_created": ["tests.support.hooks.record"]},
    }
    from tests.support import hooks

    hooks.calls.clear()
    session = SessionManager("from-settings").create_session()
    session.send_message("write to a@b.example")
    assert "a@b.example" not in session.get_messages()[0].content
    assert hooks.calls == [session.session_id]


def test_rejected_reply_records_usage_and_frees_its_slot(manager):
    from sessions_app.models import Session

    class RejectReplies(MessageMiddleware):
        def process_outgoing(self, message):
            raise MiddlewareError("reply not allowed")

    errors = []
    manager.add_lifecycle_hook("error", lambda event, **data: errors.append(data["error"]))
    manager.add_middleware(RejectReplies())
    session = manager.create_session(session_config={"max_messages": 4})
    with pytest.raises(MiddlewareError) as caught:
        session.send_message("first")
    assert caught.value.session_id == session.session_id and errors == [caught.value]
    row = Session.objects.get(pk=session.session_id)
    assert (row.pending_replies, row.provider_calls, row.message_count) == (0, 1, 2)
    assert row.output_tokens > 0
    reply = session.get_messages(role="assistant")[0]
    assert (reply.status, reply.content) == ("error", "")
    with pytest.raises(MiddlewareError):
        session.send_message("second")  # the slots of the first turn are not leaked
    assert Session.objects.get(pk=session.session_id).message_count == 4


def test_registration_checks_what_it_is_given(manager):
    with pytest.raises(ConfigurationError):
        manager.add_lifecycle_hook("session_created", "not callable")
    with pytest.raises(ConfigurationError):
        manager.add_middleware(object())
    with pytest.raises(ConfigurationError):
        RateLimitMiddleware("20", 60)
