"""Usage parts, prices, cost status and time to first token: per reply, per session, in
analytics, through the Python API and the REST API."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from sessions_app import aio
from sessions_app.exceptions import ConfigurationError
from sessions_app.models import Message, Session
from sessions_app.providers import (
    Completion,
    CompletionRequest,
    Provider,
    StreamEvent,
    TextDelta,
    register_provider,
    unregister_provider,
)
from sessions_app.providers.mock import MockProvider
from sessions_app.providers.pricing import price_completion, validate_prices
from tests.support.api import client_for, create, url

USAGE = {
    "input_tokens": 1000,
    "output_tokens": 500,
    "cached_input_tokens": 400,
    "cache_write_tokens": 100,
    "reasoning_tokens": 50,
}
PRICES = {"priced-1": {"input": 2, "output": 8, "cached_input": "0.5"}}
# 500 uncached x 2 + 400 cached x 0.5 + 100 written x 2 (cache_write defaults to input)
# + 500 out x 8, per million tokens.
PRICED_COST = Decimal("0.0054")
FIRST_TEXT_AFTER = 0.05  # seconds


def usage(model: str, **overrides: int) -> Completion:
    return Completion(text="ok", model=model, **{**USAGE, **overrides})


# --- pricing -------------------------------------------------------------------------------


def test_configured_prices_per_million_tokens_with_cache_prices():
    prices = validate_prices(PRICES)
    assert price_completion(usage("priced-1"), prices, None) == PRICED_COST
    wildcard = validate_prices({"*": {"input": 1, "output": 1, "cache_write": 4}})
    # 500 x 1 + 400 x 1 (cached_input defaults to input) + 100 x 4 + 500 x 1
    assert price_completion(usage("any"), wildcard, None) == Decimal("0.0018")


@pytest.mark.parametrize("price", [{"input": 1}, {"output": 1}, {"cached_input": 1}])
def test_a_price_needs_input_and_output(price):
    with pytest.raises(ConfigurationError, match="input and output"):
        validate_prices({"m": price})


def test_cache_prices_left_out_of_prices_come_from_the_table_else_input():
    prices = validate_prices({"gpt-4o": {"input": 2, "output": 8}, "*": {"input": 2, "output": 8}})
    # gpt-4o's cache reads cost $1.25 per MTok in the table: 200 uncached x 2 + 400 x 1.25
    # + 500 out x 8 (OpenAI lists no cache-write price: those 100 cost input, 2).
    expected = (500 * 2 + 400 * Decimal("1.25") + 100 * 2 + 500 * 8) / Decimal(10**6)
    assert price_completion(usage("gpt-4o"), prices, "openai") == expected
    # A dated answer to a request for gpt-4o finds gpt-4o's table entry too.
    dated = usage("gpt-4o-private-snapshot")
    assert price_completion(dated, prices, "openai", requested_model="gpt-4o") == expected
    # A model the table does not know: cache tokens cost input.
    assert price_completion(usage("my-model"), prices, "openai") == Decimal("0.0060")


def test_snapshot_prices_count_cache_tokens_inside_input_tokens():
    # gpt-4o in the bundled snapshot: $2.5 input, $1.25 cached input, $10 output per MTok.
    openai = usage("gpt-4o", cache_write_tokens=0)
    expected = (Decimal(600) * Decimal("2.5") + 400 * Decimal("1.25") + 500 * 10) / 10**6
    assert price_completion(openai, {}, "openai") == expected == Decimal("0.007")
    # claude-sonnet-4-5: $3 input, $0.3 cache read, $3.75 cache write, $15 output per MTok.
    claude = usage("claude-sonnet-4-5")
    expected = (500 * 3 + 400 * Decimal("0.3") + 100 * Decimal("3.75") + 500 * 15) / 10**6
    assert price_completion(claude, {}, "anthropic") == expected == Decimal("0.009495")
    # PRICES win over the snapshot.
    free = validate_prices({"gpt-4o": {"input": 0, "output": 0, "cached_input": 0}})
    assert price_completion(openai, free, "openai") == 0


def test_an_unknown_model_or_provider_has_no_price():
    assert price_completion(usage("no-such-model-xyz"), {}, "openai") is None
    assert price_completion(usage("gpt-4o"), {}, "no-such-provider") is None
    assert Provider().price(usage("gpt-4o")) is None  # no price_provider_id, no PRICES
    assert MockProvider().price(usage("anything")) == 0  # the mock costs a known nothing


@pytest.mark.parametrize(
    "prices",
    [
        ["input"],
        {"m": {"input": "cheap"}},
        {"m": {"input": -1}},
        {"m": {"input": True}},
        {"m": {"inputs": 1}},
        {"m": {"input": float("nan")}},
    ],
)
def test_malformed_prices_are_refused_at_construction(prices):
    with pytest.raises(ConfigurationError, match="PRICES"):
        MockProvider(PRICES=prices)


# --- storing replies -------------------------------------------------------------------------


class MeteredProvider(Provider):
    """Answers with USAGE; model "priced-1" has a price (PRICES), any other has none."""

    name = "metered"
    fallback_model = "priced-1"

    def __init__(self, **options: Any) -> None:
        super().__init__(**{"PRICES": PRICES, **options})

    def complete(self, request: CompletionRequest) -> Completion:
        return usage(request.model)

    def stream(self, request: CompletionRequest) -> Iterator[StreamEvent]:
        time.sleep(FIRST_TEXT_AFTER)
        yield TextDelta("o")
        yield TextDelta("k")
        yield usage(request.model)

    async def astream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        for event in self.stream(request):
            yield event


@pytest.fixture(autouse=True)
def metered():
    yield register_provider("metered", MeteredProvider)
    unregister_provider("metered")


def test_a_reply_stores_its_usage_parts_and_cost(manager):
    session = manager.create_session("u1", provider="metered")
    reply = session.send_message("hi")
    stored = Message.objects.get(pk=reply.pk)
    parts = (stored.cached_input_tokens, stored.cache_write_tokens, stored.reasoning_tokens)
    assert (stored.input_tokens, stored.output_tokens, *parts) == (1000, 500, 400, 100, 50)
    assert stored.estimated_cost == PRICED_COST and stored.time_to_first_token_ms is None
    session.send_message("again")
    row = Session.objects.get(pk=session.session_id)
    totals = (row.cached_input_tokens, row.cache_write_tokens, row.reasoning_tokens)
    assert (row.input_tokens, row.output_tokens, *totals) == (2000, 1000, 800, 200, 100)
    assert row.estimated_cost == 2 * PRICED_COST
    assert (row.priced_replies, row.unpriced_replies, row.streamed_replies) == (2, 0, 0)
    # The handle's own copy counted the same (read-your-writes without a query).
    assert session.record.cached_input_tokens == 800
    metrics = session.get_metrics()
    assert (metrics.cost_status, metrics.estimated_cost) == ("known", float(2 * PRICED_COST))
    assert (metrics.reasoning_tokens, metrics.avg_time_to_first_token_ms) == (100, None)


def test_unknown_prices_make_the_cost_partial_then_unknown(manager):
    mixed = manager.create_session("u1", provider="metered", model="priced-1")
    mixed.send_message("priced")
    mixed.record.model = "unpriced-1"
    mixed.record.save()
    reply = mixed.send_message("not priced")
    assert Message.objects.get(pk=reply.pk).estimated_cost is None
    metrics = mixed.get_metrics()
    assert (metrics.cost_status, metrics.unpriced_replies) == ("partial", 1)
    assert metrics.estimated_cost == float(PRICED_COST)

    unknown = manager.create_session("u2", provider="metered", model="unpriced-1")
    unknown.send_message("hi")
    metrics = unknown.get_metrics()
    assert (metrics.cost_status, metrics.estimated_cost) == ("unknown", None)
    assert manager.create_session("u3", provider="metered").get_metrics().cost_status == "known"


def test_a_streamed_reply_records_its_time_to_first_token(manager):
    session = manager.create_session("u1", provider="metered")
    *_, reply = session.stream_message("hi")
    stored = Message.objects.get(pk=reply.pk)
    assert stored.time_to_first_token_ms >= FIRST_TEXT_AFTER * 1000
    assert stored.processing_time_ms >= stored.time_to_first_token_ms
    session.send_message("whole")  # a whole reply has none, and is not averaged in
    row = Session.objects.get(pk=session.session_id)
    assert (row.streamed_replies, row.total_time_to_first_token_ms) == (
        1,
        stored.time_to_first_token_ms,
    )
    metrics = session.get_metrics()
    assert metrics.avg_time_to_first_token_ms == stored.time_to_first_token_ms


def test_an_async_streamed_reply_records_its_time_to_first_token(db):
    async def scenario() -> Any:
        session = await aio.SessionManager().create_session("u1", provider="metered")
        async for event in session.stream_message("hi"):
            last = event
        return last, await session.get_metrics()

    reply, metrics = async_to_sync(scenario)()
    assert reply.time_to_first_token_ms >= FIRST_TEXT_AFTER * 1000
    assert (metrics.streamed_replies, metrics.cached_input_tokens) == (1, 400)


# --- the REST API ----------------------------------------------------------------------------


@pytest.fixture
def client(django_user_model):
    # Staff, who may also read analytics.
    return client_for(django_user_model.objects.create_user("alice", is_staff=True))


def test_the_api_answers_usage_cost_and_time_to_first_token(client):
    session = create(client, provider="metered")
    sent = client.post(url("sessions", session["id"], "messages"), {"content": "hi"}, format="json")
    message, reply = sent.json()["message"], sent.json()["reply"]
    assert (message["estimated_cost"], message["cost_status"]) == (None, None)
    assert (reply["estimated_cost"], reply["cost_status"]) == (float(PRICED_COST), "known")
    assert (reply["cached_input_tokens"], reply["cache_write_tokens"]) == (400, 100)
    assert (reply["reasoning_tokens"], reply["time_to_first_token_ms"]) == (50, None)
    streamed = client.post(
        url("sessions", session["id"], "messages"),
        {"content": "stream"},
        format="json",
        HTTP_ACCEPT="text/event-stream",
    )
    done = b"".join(streamed.streaming_content).decode().split("event: done\ndata: ")[1]
    assert '"time_to_first_token_ms": ' in done and '"cost_status": "known"' in done
    metrics = client.get(url("sessions", session["id"], "metrics")).json()
    assert metrics["cost_status"] == "known" and metrics["unpriced_replies"] == 0
    assert metrics["estimated_cost"] == pytest.approx(float(2 * PRICED_COST))
    assert (metrics["cached_input_tokens"], metrics["streamed_replies"]) == (800, 1)
    assert metrics["avg_time_to_first_token_ms"] >= FIRST_TEXT_AFTER * 1000
    listed = client.get(url("sessions", session["id"])).json()
    assert (listed["cached_input_tokens"], listed["reasoning_tokens"]) == (800, 100)


def test_analytics_sum_usage_cost_and_time_to_first_token(client):
    priced = create(client, provider="metered", model="priced-1")
    unpriced = create(client, provider="metered", model="unpriced-1")
    for session in (priced, unpriced):
        client.post(url("sessions", session["id"], "messages"), {"content": "hi"}, format="json")
    client.post(
        url("sessions", priced["id"], "messages"),
        {"content": "stream"},
        format="json",
        HTTP_ACCEPT="text/event-stream",
    ).getvalue()
    report = client.get(url("analytics")).json()
    assert report["cost_status"] == "partial" and report["unpriced_replies"] == 1
    assert report["estimated_cost"] == pytest.approx(float(2 * PRICED_COST))
    assert (report["cached_input_tokens"], report["reasoning_tokens"]) == (1200, 150)
    assert report["streamed_replies"] == 1 and report["avg_time_to_first_token_ms"] >= 50
    [day] = report["daily"]
    assert (
        day["estimated_cost"] == pytest.approx(float(2 * PRICED_COST))
        and day["cost_status"] == "partial"
    )


# --- replies priced by older hooks, sessions and messages from before the cost columns -----


def test_a_provider_that_overrides_estimate_cost_is_priced_by_it(manager):
    class Legacy(MeteredProvider):
        def estimate_cost(self, model: str, input_tokens: int, output_tokens: int) -> float:
            return (input_tokens + output_tokens) / 1000

    register_provider("metered", Legacy)
    reply = manager.create_session("u1", provider="metered").send_message("hi")
    assert Message.objects.get(pk=reply.pk).estimated_cost == Decimal("1.5")


def test_the_migration_counts_earlier_replies_as_priced(manager):
    import importlib

    from django.apps import apps
    from django.db import connection

    migration = importlib.import_module("sessions_app.migrations.0004_usage_cost_ttft")
    session = manager.create_session("u1", provider="metered", model="unpriced-1")
    idle = manager.create_session("u2", provider="metered")
    # As the columns' defaults leave a session that had three calls, one failed, before them.
    Session.objects.filter(pk=session.session_id).update(
        provider_calls=3, provider_errors=1, estimated_cost=Decimal("0.5")
    )

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection  # type: ignore[attr-defined]
    migration.count_priced_replies(apps, editor)
    assert Session.objects.get(pk=session.session_id).priced_replies == 2
    assert Session.objects.get(pk=idle.session_id).priced_replies == 0
    session.send_message("not priced")
    metrics = session.get_metrics()
    assert (metrics.cost_status, metrics.estimated_cost) == ("partial", 0.5)


def test_an_assistant_message_no_provider_made_has_no_cost_status(manager, client):
    session = manager.create_session("u1", provider="metered")
    session.add_message("assistant", "imported")
    [message] = client.get(url("sessions", session.session_id, "messages")).json()["results"]
    assert (message["estimated_cost"], message["cost_status"]) == (None, None)
    reply = session.send_message("hi")
    listed = client.get(url("sessions", session.session_id, "messages")).json()["results"]
    [answered] = [row for row in listed if row["id"] == str(reply.pk)]
    assert answered["cost_status"] == "known"


def test_the_admin_shows_an_unknown_cost_as_unknown(manager, admin_client):
    from django.urls import reverse

    unknown = manager.create_session("u1", provider="metered", model="unpriced-1")
    unknown.send_message("hi")
    known = manager.create_session("u2", provider="metered")
    known.send_message("hi")

    def cost_shown(session_id: str) -> str:
        page = admin_client.get(reverse("admin:sessions_app_session_change", args=[session_id]))
        text = page.content.decode()
        after_label = text[text.index("Estimated cost:") :]
        shown = re.search(r'<div class="readonly">(.*?)</div>', after_label)
        assert shown is not None
        return shown.group(1)

    assert cost_shown(unknown.session_id) == "unknown"
    assert cost_shown(known.session_id) == "0.005400"


@pytest.mark.parametrize(
    ("priced", "unpriced", "expected"),
    [(2, 0, (1.5, "known")), (1, 1, (1.5, "partial")), (0, 1, (None, "unknown"))],
)
def test_a_reported_cost_is_null_exactly_when_unknown(priced, unpriced, expected):
    from sessions_app.metrics import reported_cost

    assert reported_cost(Decimal("1.5"), priced, unpriced) == expected
