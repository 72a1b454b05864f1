"""A database connection lost in the middle of a turn: the write runs again on a fresh one.

These run on any database by simulating the loss: the first matching statement
raises ``OperationalError`` and the connection reports itself unusable until
it is closed, as a connection the server ended does. The real thing, with
PostgreSQL backends terminated while the provider works, is in
``tests/test_database_blip.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError, connection

from sessions_app.api.errors import exception_handler
from sessions_app.exceptions import ReplyNotStoredError
from sessions_app.models import IdempotencyRecord, Message, Session
from sessions_app.pipeline import get_default_pipeline
from sessions_app.providers import Completion
from sessions_app.services import idempotency, turns
from sessions_app.services.idempotency import StoredResponse
from sessions_app.services.replies import fail_turn, finish_turn
from tests.support.outages import lost_connection, writes

pytestmark = pytest.mark.django_db(transaction=True)


def a_turn(manager: Any) -> turns.Turn:
    session = manager.create_session(user_id="alice", provider="mock", model="mock-model").record
    return turns.start_turn(session, get_default_pipeline(), content="hello")


def reply() -> Completion:
    return Completion(text="hi", model="mock-model", input_tokens=3, output_tokens=1)


def test_a_reply_is_stored_on_a_fresh_connection_and_frees_its_slot(manager, monkeypatch):
    turn = a_turn(manager)
    with lost_connection(monkeypatch, writes(Session)) as outage:
        stored = finish_turn(turn, reply())
    assert outage.reconnections == 1
    assert Message.objects.get(pk=stored.pk).content == "hi"
    session = Session.objects.get(pk=turn.session.pk)
    assert (session.message_count, session.pending_replies, session.last_seq) == (2, 0, 2)


def test_a_reply_whose_answer_was_lost_is_not_stored_twice(manager, monkeypatch):
    turn = a_turn(manager)
    answered = False

    def lose_the_answer(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal answered
        result = execute(sql, params, many, context)
        if not answered and writes(Message)(sql):
            answered = True  # stored, then the connection went before the answer came back
            outage.lost = True
            raise OperationalError("server closed the connection unexpectedly")
        return result

    # On PostgreSQL the append is one statement: it was committed when the answer was lost.
    with (
        lost_connection(monkeypatch, lambda sql: False) as outage,
        connection.execute_wrapper(lose_the_answer),
    ):
        stored = finish_turn(turn, reply())
    assert Message.objects.filter(session=turn.session.pk).count() == 2
    assert Message.objects.get(pk=stored.pk).seq == stored.seq == 2
    session = Session.objects.get(pk=turn.session.pk)
    assert (session.message_count, session.pending_replies) == (2, 0)


def test_a_failed_provider_call_frees_its_slot_on_a_fresh_connection(manager, monkeypatch):
    turn = a_turn(manager)
    with lost_connection(monkeypatch, writes(Session)):
        fail_turn(turn, RuntimeError("provider down"))
    session = Session.objects.get(pk=turn.session.pk)
    assert (session.pending_replies, session.provider_errors) == (0, 1)


def test_a_reply_lost_with_the_database_says_its_message_was_stored(manager, monkeypatch):
    turn = a_turn(manager)
    with (
        lost_connection(monkeypatch, writes(Session), failures=2),
        pytest.raises(ReplyNotStoredError) as raised,
    ):
        finish_turn(turn, reply())
    assert raised.value.details == {"message_id": str(turn.message.pk)}
    assert list(Message.objects.filter(session=turn.session.pk)) == [turn.message]


def test_an_error_that_is_not_a_lost_connection_is_not_retried(manager, monkeypatch):
    turn = a_turn(manager)
    with lost_connection(monkeypatch, writes(Session)) as outage:
        outage.connection_survives = True  # e.g. a statement timeout
        with pytest.raises(OperationalError):
            finish_turn(turn, reply())
    assert outage.reconnections == 0


def claim() -> idempotency.Claim:
    claimed = idempotency.claim("user:1\0/api/v1/x/", "key-1", "fingerprint")
    assert isinstance(claimed, idempotency.Claim)
    return claimed


def test_a_claim_is_released_on_a_fresh_connection(monkeypatch):
    claimed = claim()
    with lost_connection(monkeypatch, writes(IdempotencyRecord)):
        claimed.release()
    assert not IdempotencyRecord.objects.exists()


def test_a_claim_is_completed_on_a_fresh_connection(monkeypatch):
    claimed = claim()
    with lost_connection(monkeypatch, writes(IdempotencyRecord)):
        claimed.store(StoredResponse(201, {"ok": True}))
    assert IdempotencyRecord.objects.get().status_code == 201
    assert idempotency.claim("user:1\0/api/v1/x/", "key-1", "fingerprint") == StoredResponse(
        201, {"ok": True}
    )


def test_the_api_answers_a_lost_database_with_503_and_retry_after():
    response = exception_handler(OperationalError("connection refused"), {})
    assert response is not None
    assert response.status_code == 503
    assert response.data["code"] == "database_unavailable"
    assert int(response["Retry-After"]) >= 1
