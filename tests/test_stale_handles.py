"""A handle holds a copy of its session; every write re-checks the stored state."""

from __future__ import annotations

import pytest

from sessions_app.exceptions import (
    MessageLimitError,
    SessionNotFoundError,
    SessionStateError,
)
from sessions_app.models import Context, Message, Session

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_handles(manager):
    first = manager.create_session()
    return first, manager.get_session(first.session_id)


def test_writes_through_a_stale_handle_respect_an_archive(manager, two_handles):
    stale, other = two_handles
    stale.send_message("hello")
    other.archive()
    for write in (
        lambda: stale.update_context({"a": 1}),
        stale.clear_messages,
        lambda: stale.update_config({"name": "x"}),
        lambda: stale.update_metadata({"a": 1}),
        lambda: stale.send_message("more"),
    ):
        with pytest.raises(SessionStateError):
            write()
    assert Message.objects.count() == 2
    assert not Context.objects.exists()


@pytest.mark.parametrize("hard", [False, True])
def test_writes_through_a_stale_handle_after_a_delete(manager, two_handles, hard):
    stale, _ = two_handles
    manager.delete_session(stale.session_id, hard=hard)
    for write in (
        lambda: stale.update_context({"a": 1}),
        stale.clear_messages,
        lambda: stale.update_config({"name": "x"}),
        lambda: stale.send_message("more"),
        stale.archive,
        stale.delete,
        stale.get_metrics,
    ):
        with pytest.raises(SessionNotFoundError):
            write()


def test_max_messages_set_elsewhere_applies_at_once(two_handles):
    stale, other = two_handles
    other.update_config({"max_messages": 2})
    stale.send_message("fits with its reply")
    with pytest.raises(MessageLimitError):
        stale.send_system_message("no room")


def test_merges_start_from_the_stored_values(two_handles):
    first, second = two_handles
    first.update_metadata({"a": 1})
    second.update_metadata({"b": 2})
    first.update_config({"name": "named"})
    second.update_config({"description": "described"})
    row = Session.objects.get(pk=first.session_id)
    assert row.metadata == {"a": 1, "b": 2}
    assert (row.name, row.description) == ("named", "described")


def test_reply_is_kept_when_the_session_is_archived_mid_turn(manager):
    from sessions_app.services import turns

    session = manager.create_session()
    turn = turns.start_turn(session.record, manager.pipeline, content="slow question")
    manager.archive_session(session.session_id)
    reply = turns.complete_turn(turn)
    row = Session.objects.get(pk=session.session_id)
    assert (row.status, row.message_count, row.provider_calls) == ("archived", 2, 1)
    assert row.output_tokens == reply.output_tokens > 0
    assert row.pending_replies == 0


def test_idle_timeout_uses_the_stored_activity(manager):
    from datetime import timedelta

    from django.utils import timezone

    session = manager.create_session(session_config={"session_timeout_minutes": 5})
    stale = manager.get_session(session.session_id)
    stale.record.last_activity = timezone.now() - timedelta(minutes=10)  # an old copy
    assert stale.send_message("still active elsewhere").role == "assistant"


def test_saving_a_loaded_row_never_rolls_back_counters(conversation):
    row = Session.objects.get(pk=conversation.session_id)
    conversation.send_message("one")
    conversation.send_message("two")
    row.name = "renamed"
    row.save()
    fresh = Session.objects.get(pk=conversation.session_id)
    assert (fresh.name, fresh.last_seq, fresh.message_count) == ("renamed", 4, 4)
    assert conversation.send_message("three").seq == 6
