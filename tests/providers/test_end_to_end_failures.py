"""Provider failures through the REST API on the fake LLM server: retries, 502 with a reason,
the user's message kept, and broken streams stored as incomplete replies."""

from __future__ import annotations

import time

import pytest

from sessions_app.models import Message, MessageStatus, Session
from sessions_app.testing import (
    Step,
    auth_failure,
    delayed,
    fail,
    rate_limited,
    stream_drop,
    stream_error,
)
from tests.providers.conftest import (
    OPENAI,
    configure,
    events_of,
    new_session,
    provider_settings,
    send,
)

pytestmark = pytest.mark.django_db


def stored_messages(session_id):
    return list(Message.objects.filter(session_id=session_id).order_by("seq"))


def test_a_rate_limit_with_retry_after_is_retried_then_answered(as_alice, fake_providers, case):
    fake_providers.script(rate_limited(retry_after=0.2))
    session = new_session(as_alice, case.provider, case.model)
    started = time.monotonic()
    response = send(as_alice, session["id"], "patience")
    assert response.status_code == 201, response.content
    assert response.json()["reply"]["content"] == "Echo: patience"
    assert time.monotonic() - started >= 0.2  # the SDK waited as told
    assert len(fake_providers.requests_for(case.kind)) == 2
    assert Session.objects.get(pk=session["id"]).provider_errors == 0


def test_repeated_server_errors_answer_502_and_keep_the_user_message(
    as_alice, fake_providers, case
):
    fake_providers.script(fail(500, retry_after_ms=1), times=3)
    session = new_session(as_alice, case.provider, case.model)
    response = send(as_alice, session["id"], "anyone there?")
    assert response.status_code == 502, response.content
    body = response.json()
    assert (body["code"], body["reason"]) == ("provider_error", "unavailable")
    assert len(fake_providers.requests_for(case.kind)) == 3  # max_retries=2
    [kept] = stored_messages(session["id"])
    assert (kept.role, kept.content) == ("user", "anyone there?")
    stored = Session.objects.get(pk=session["id"])
    assert (stored.provider_errors, stored.pending_replies) == (1, 0)


def test_a_final_rate_limit_tells_the_client_when_to_come_back(as_alice, fake_providers, case):
    fake_providers.script(rate_limited(retry_after=0.4), times=3)
    session = new_session(as_alice, case.provider, case.model)
    response = send(as_alice, session["id"])
    assert response.status_code == 502
    assert response.json()["reason"] == "rate_limited"
    assert int(response["Retry-After"]) >= 1


def test_a_refused_key_is_an_auth_failure_and_not_retried(as_alice, fake_providers, case):
    fake_providers.script(auth_failure())
    session = new_session(as_alice, case.provider, case.model)
    response = send(as_alice, session["id"])
    assert response.status_code == 502
    assert response.json()["reason"] == "auth"
    assert len(fake_providers.requests_for(case.kind)) == 1


def test_a_bad_request_is_not_retried(as_alice, fake_providers, case):
    fake_providers.script(fail(400, "Invalid value for 'model'."))
    session = new_session(as_alice, case.provider, case.model)
    response = send(as_alice, session["id"])
    assert (response.status_code, response.json()["reason"]) == (502, "bad_request")
    assert len(fake_providers.requests_for(case.kind)) == 1


def test_a_provider_slower_than_the_timeout_is_502_timeout(as_alice, settings, fake_llm, case):
    configure(settings, provider_settings(fake_llm, timeout=0.3, max_retries=0))
    fake_llm.script(delayed(3))
    session = new_session(as_alice, case.provider, case.model)
    started = time.monotonic()
    response = send(as_alice, session["id"], "too slow")
    assert time.monotonic() - started < 2.5
    assert (response.status_code, response.json()["reason"]) == (502, "timeout")
    assert [m.content for m in stored_messages(session["id"])] == ["too slow"]


def test_a_stream_that_never_starts_times_out_as_an_error_frame(as_alice, settings, fake_llm, case):
    configure(settings, provider_settings(fake_llm, timeout=0.3, max_retries=1))
    fake_llm.script(delayed(3), times=2)
    session = new_session(as_alice, case.provider, case.model)
    started = time.monotonic()
    events = events_of(send(as_alice, session["id"], "too slow", stream=True))
    assert time.monotonic() - started < 2.5  # the timeout bounds the retries too
    assert [name for name, _ in events] == ["message", "error"]
    assert events[-1][1]["reason"] == "timeout"


def test_retries_stop_at_the_configured_timeout(as_alice, settings, fake_llm, case):
    # A Retry-After longer than the whole timeout: waiting for it would break the promise.
    configure(settings, provider_settings(fake_llm, timeout=1, max_retries=2))
    fake_llm.script(rate_limited(retry_after=5), times=3)
    session = new_session(as_alice, case.provider, case.model)
    started = time.monotonic()
    response = send(as_alice, session["id"])
    assert time.monotonic() - started < 2
    assert response.status_code == 502


def test_a_failed_openai_response_mid_stream_is_an_incomplete_reply(as_alice, fake_providers):
    fake_providers.script(Step(break_after=1, response_failed=True))
    session = new_session(as_alice, OPENAI.provider, OPENAI.model)
    events = events_of(send(as_alice, session["id"], "a b", stream=True))
    assert [name for name, _ in events] == ["message", "delta", "error"]
    reply = stored_messages(session["id"])[-1]
    assert (reply.content, reply.status) == ("Echo: ", MessageStatus.INCOMPLETE)


@pytest.mark.parametrize("broken", [stream_error, stream_drop], ids=["error-frame", "dropped"])
def test_a_stream_broken_midway_stores_an_incomplete_reply(as_alice, fake_providers, case, broken):
    fake_providers.script(broken(after=2))
    session = new_session(as_alice, case.provider, case.model)
    events = events_of(send(as_alice, session["id"], "a b c d", stream=True))
    names = [name for name, _ in events]
    assert names == ["message", "delta", "delta", "error"]
    error = events[-1][1]
    assert error["code"] == "provider_error"
    # The contract: "stream_interrupted", or the code of the error the frame names (Anthropic's
    # frame says overloaded_error); a cut connection is always an interruption.
    allowed = (
        {"stream_interrupted"} if broken is stream_drop else {"stream_interrupted", "unavailable"}
    )
    assert error["reason"] in allowed
    user, reply = stored_messages(session["id"])
    assert (user.content, reply.content) == ("a b c d", "Echo: a ")
    assert reply.status == MessageStatus.INCOMPLETE
    assert Session.objects.get(pk=session["id"]).provider_errors == 1
    # A broken stream is not retried: the client already saw the first deltas.
    assert len(fake_providers.requests_for(case.kind)) == 1


def test_a_stream_refused_before_any_delta_is_an_error_frame(as_alice, fake_providers, case):
    fake_providers.script(fail(500, retry_after_ms=1), times=3)
    session = new_session(as_alice, case.provider, case.model)
    events = events_of(send(as_alice, session["id"], "hi", stream=True))
    assert [name for name, _ in events] == ["message", "error"]
    assert events[1][1]["reason"] == "unavailable"
    assert [m.role for m in stored_messages(session["id"])] == ["user"]
