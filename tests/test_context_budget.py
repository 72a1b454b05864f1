"""CONTEXT_BUDGET: the oldest dialogue is left out of the request (never the system prompt or
the new message), the reply records it, the stored history stays whole; and the system prompt
built from the session's system context."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions_app import aio
from sessions_app.exceptions import ConfigurationError
from sessions_app.models import Message
from sessions_app.providers import (
    Completion,
    CompletionRequest,
    StreamEvent,
    register_provider,
    unregister_provider,
)
from sessions_app.providers.base import TokenCount, estimate_tokens
from sessions_app.providers.mock import MockProvider
from tests.support.api import client_for, create, url

# Each 80-character message is estimated at 20 tokens + 4 for the message; a reply "ok" at 5.
LONG = "x" * 80
BUDGET = 60


class Budgeted(MockProvider):
    """The mock answering "ok", recording the requests it gets and the counts it makes."""

    name = "budgeted"
    keeps_history = False

    def __init__(self, **options: Any) -> None:
        super().__init__(**{"response_pattern": "ok", "CONTEXT_BUDGET": BUDGET, **options})
        self.requests: list[CompletionRequest] = []
        self.counted: list[str] = []

    def complete(self, request: CompletionRequest) -> Completion:
        self.requests.append(request)
        return super().complete(request)

    def stream(self, request: CompletionRequest) -> Iterator[StreamEvent]:
        self.requests.append(request)
        return super().stream(request)

    async def acomplete(self, request: CompletionRequest) -> Completion:
        self.requests.append(request)
        return await super().acomplete(request)

    def count_tokens(self, request: CompletionRequest) -> TokenCount:
        self.counted.append("sync")
        return super().count_tokens(request)

    async def acount_tokens(self, request: CompletionRequest) -> TokenCount:
        await asyncio.sleep(0)  # really asynchronous: no thread, no blocking
        self.counted.append("async")
        return TokenCount(estimate_tokens(request), "async-counter")

    def sends_history(self, request: CompletionRequest) -> bool:
        return not self.keeps_history


@pytest.fixture
def budgeted():
    yield register_provider("budgeted", Budgeted)
    unregister_provider("budgeted")


def sent_contents(request: CompletionRequest) -> list[str]:
    return [f"{message.role}:{message.content[:2]}" for message in request.messages]


def test_the_oldest_exchange_is_left_out_and_recorded(manager, budgeted):
    session = manager.create_session("u1", provider="budgeted")
    first = session.send_message("1" + LONG[1:])  # 24 tokens
    second = session.send_message("2" + LONG[1:])  # 24 + 5 + 24 = 53: fits
    assert "context" not in first.metadata and "context" not in second.metadata
    third = session.send_message("3" + LONG[1:])  # 82: the first exchange (29) goes
    assert sent_contents(budgeted.requests[-1]) == ["user:2x", "assistant:ok", "user:3x"]
    assert third.metadata["context"] == {
        "budget": BUDGET,
        "input_tokens": 53,
        "omitted_messages": 2,
        "omitted_tokens": 29,
        "counted_by": "estimate",
    }
    assert budgeted.counted == ["sync"] * 4  # once per turn, plus once for the trimmed request
    assert Message.objects.filter(session_id=session.session_id).count() == 6


def test_the_system_prompt_and_new_message_are_sent_even_over_budget(manager, budgeted):
    session = manager.create_session("u1", provider="budgeted")
    session.send_system_message("s" * 40)  # 14 tokens, always sent
    session.send_message("1" + LONG[1:])
    reply = session.send_message("n" * 400)  # 104 tokens alone
    request = budgeted.requests[-1]
    assert sent_contents(request) == ["user:nn"] and request.system == "s" * 40
    record = reply.metadata["context"]
    assert record["over_budget"] is True and record["omitted_messages"] == 2
    assert record["input_tokens"] == 104 + 14 > BUDGET


def test_a_stream_is_fitted_too(manager, budgeted):
    session = manager.create_session("u1", provider="budgeted")
    for digit in "12":
        session.send_message(digit + LONG[1:])
    *_, reply = session.stream_message("3" + LONG[1:])
    assert sent_contents(budgeted.requests[-1]) == ["user:2x", "assistant:ok", "user:3x"]
    assert reply.metadata["context"]["omitted_messages"] == 2


def test_an_async_turn_awaits_the_providers_counting(db, budgeted):
    async def scenario() -> Any:
        session = await aio.SessionManager().create_session("u1", provider="budgeted")
        for digit in "12":
            await session.send_message(digit + LONG[1:])
        return await session.send_message("3" + LONG[1:])

    reply = async_to_sync(scenario)()
    assert set(budgeted.counted) == {"async"}
    assert reply.metadata["context"]["counted_by"] == "async-counter"
    assert sent_contents(budgeted.requests[-1]) == ["user:2x", "assistant:ok", "user:3x"]


def test_a_provider_keeping_the_conversation_is_sent_it_whole(manager, budgeted):
    budgeted.keeps_history = True
    session = manager.create_session("u1", provider="budgeted")
    for digit in "123":
        reply = session.send_message(digit + LONG[1:])
    assert len(budgeted.requests[-1].messages) == 5 and "context" not in reply.metadata
    assert budgeted.counted == []


def test_a_small_request_is_not_counted(manager):
    provider = register_provider("budgeted", Budgeted, CONTEXT_BUDGET=10_000)
    try:
        manager.create_session("u1", provider="budgeted").send_message(LONG)
    finally:
        unregister_provider("budgeted")
    assert provider.counted == []  # its UTF-8 size alone is under the budget


def test_counting_that_fails_falls_back_to_the_estimate(manager):
    class Unreachable(Budgeted):
        def count_tokens(self, request: CompletionRequest) -> TokenCount:
            raise RuntimeError("counting endpoint down")

    provider = register_provider("budgeted", Unreachable)
    try:
        session = manager.create_session("u1", provider="budgeted")
        for digit in "123":
            reply = session.send_message(digit + LONG[1:])
    finally:
        unregister_provider("budgeted")
    assert reply.metadata["context"]["counted_by"] == "estimate"
    assert len(provider.requests[-1].messages) == 3


def test_the_api_answers_the_record_of_a_fitted_request(django_user_model, budgeted):
    client = client_for(django_user_model.objects.create_user("alice"))
    session = create(client, provider="budgeted")
    for digit in "12":
        client.post(
            url("sessions", session["id"], "messages"), {"content": digit + LONG[1:]}, format="json"
        )
    sent = client.post(
        url("sessions", session["id"], "messages"), {"content": "3" + LONG[1:]}, format="json"
    )
    assert sent.json()["reply"]["metadata"]["context"]["omitted_messages"] == 2
    history = client.get(url("sessions", session["id"], "messages")).json()
    assert len(history["results"]) == 6


@pytest.mark.parametrize(
    "budget", [0, -5, True, "100", 1.5, {"*": 0}, {"": 10}, {"m": "10"}, [100]]
)
def test_a_malformed_budget_is_refused_at_construction(budget):
    with pytest.raises(ConfigurationError, match="CONTEXT_BUDGET"):
        MockProvider(CONTEXT_BUDGET=budget)


def test_a_budget_by_model_falls_back_to_the_wildcard():
    assert MockProvider(CONTEXT_BUDGET=500).context_budget("any") == 500
    by_model = MockProvider(CONTEXT_BUDGET={"small": 50, "*": 100})
    assert (by_model.context_budget("small"), by_model.context_budget("big")) == (50, 100)
    assert MockProvider(CONTEXT_BUDGET={"small": 50}).context_budget("big") is None
    assert MockProvider().context_budget("any") is None


# --- the system prompt from the system context -----------------------------------------------


def test_the_system_prompt_is_built_from_the_system_context(manager, spy_requests):
    session = manager.create_session("u1", provider="spy")
    session.update_context(
        {
            "system_context.system_prompt": "Be terse.",
            "system_context.locale": "fr",
            "system_context.plan": {"tier": 2, "name": "pro"},
        }
    )
    session.send_system_message("Answer in French.")
    session.send_message("hi")
    [request] = spy_requests
    assert request.system == (
        "Be terse.\n\nAnswer in French.\n\n"
        'Context: locale: fr\nContext: plan: {"name": "pro", "tier": 2}'
    )
    assert request.session_id == session.session_id


def test_reading_the_system_context_costs_no_query(manager, spy_requests):
    plain = manager.create_session("u1", provider="spy")
    with_context = manager.create_session("u2", provider="spy")
    with_context.update_context({"system_context.system_prompt": "Be terse."})
    counts = []
    for session in (plain, with_context, plain):
        with CaptureQueriesContext(connection) as queries:
            session.send_message("hi")
        counts.append(len(queries))
    assert counts[0] == counts[1] == counts[2]
    assert [request.system for request in spy_requests] == [None, "Be terse.", None]
