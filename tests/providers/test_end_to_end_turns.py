"""Whole turns through the REST API on the fake LLM server, for every adapter and mode:
the stored reply, its usage, cost, time to first token, and the session's metrics and analytics.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from genai_prices import Usage as PriceUsage
from genai_prices import calc_price

from sessions_app.models import Message, Session
from sessions_app.testing import Usage, answers_as, slow_stream
from tests.providers.conftest import (
    ANTHROPIC,
    configure,
    events_of,
    new_session,
    provider_settings,
    send,
)
from tests.support.api import client_for, url

pytestmark = pytest.mark.django_db

USAGE = Usage(100, 20, cached_input_tokens=40, cache_write_tokens=10, reasoning_tokens=5)
PRICE_IDS = {"openai": "openai", "openai-chat": "openai", "anthropic": "anthropic"}


def expected_usage(case):
    """What the adapter must report from USAGE: OpenAI's wire has no cache-write count."""
    written = USAGE.cache_write_tokens if case is ANTHROPIC else 0
    reasoning = 0 if case is ANTHROPIC else USAGE.reasoning_tokens
    return {
        "input_tokens": USAGE.input_tokens,
        "output_tokens": USAGE.output_tokens,
        "cached_input_tokens": USAGE.cached_input_tokens,
        "cache_write_tokens": written,
        "reasoning_tokens": reasoning,
    }


def test_a_json_turn_stores_the_reply_with_its_usage(as_alice, fake_providers, case):
    fake_providers.usage = USAGE
    session = new_session(as_alice, case.provider, case.model)
    response = send(as_alice, session["id"], "hello there")
    assert response.status_code == 201, response.content
    reply = response.json()["reply"]
    assert (reply["content"], reply["status"]) == ("Echo: hello there", "complete")
    usage = expected_usage(case)
    assert {name: reply[name] for name in usage} == usage
    assert reply["provider_message_id"]
    assert reply["time_to_first_token_ms"] is None  # not streamed
    stored = Session.objects.get(pk=session["id"])
    for name, value in usage.items():
        assert getattr(stored, name) == value, name
    sent = fake_providers.requests_for(case.kind)
    assert len(sent) == 1 and sent[0].body["model"] == case.model
    assert not sent[0].body.get("stream")


def test_the_session_metrics_add_up_the_replies(as_alice, fake_providers, case):
    fake_providers.usage = USAGE
    session = new_session(as_alice, case.provider, case.model)
    for text in ("one", "two"):
        assert send(as_alice, session["id"], text).status_code == 201
    metrics = as_alice.get(url("sessions", session["id"], "metrics")).json()
    usage = expected_usage(case)
    for name, value in usage.items():
        assert metrics[name] == 2 * value, name
    assert metrics["total_tokens"] == 2 * (USAGE.input_tokens + USAGE.output_tokens)
    assert (metrics["provider_calls"], metrics["provider_errors"]) == (2, 0)
    assert metrics["cost_status"] == "known" and metrics["estimated_cost"] > 0
    assert metrics["avg_time_to_first_token_ms"] is None  # nothing was streamed


def test_a_priced_model_costs_what_the_price_table_says(as_alice, fake_providers, case):
    fake_providers.usage = USAGE
    session = new_session(as_alice, case.provider, case.model)
    reply = send(as_alice, session["id"]).json()["reply"]
    usage = expected_usage(case)
    expected = calc_price(
        PriceUsage(
            input_tokens=usage["input_tokens"],
            cache_read_tokens=usage["cached_input_tokens"],
            cache_write_tokens=usage["cache_write_tokens"],
            output_tokens=usage["output_tokens"],
        ),
        case.model,
        provider_id=PRICE_IDS[case.provider],
    ).total_price
    assert expected > 0
    assert Decimal(str(reply["estimated_cost"])) == pytest.approx(expected, abs=Decimal("1e-6"))
    assert reply["cost_status"] == "known"
    stored = Session.objects.get(pk=session["id"])
    assert stored.estimated_cost == pytest.approx(expected, abs=Decimal("1e-6"))


def test_prices_in_settings_override_the_table(as_alice, settings, fake_llm, case):
    prices = {case.model: {"input": 2, "output": 8, "cached_input": 1, "cache_write": 3}}
    configure(settings, provider_settings(fake_llm, PRICES=prices))
    fake_llm.usage = USAGE
    session = new_session(as_alice, case.provider, case.model)
    reply = send(as_alice, session["id"]).json()["reply"]
    usage = expected_usage(case)
    uncached = usage["input_tokens"] - usage["cached_input_tokens"] - usage["cache_write_tokens"]
    micro = (
        uncached * 2 + usage["cached_input_tokens"] * 1 + usage["cache_write_tokens"] * 3
    ) + usage["output_tokens"] * 8
    assert Decimal(str(reply["estimated_cost"])) == Decimal(micro) / 1_000_000


def test_an_unknown_model_has_an_unknown_cost_not_zero(as_alice, fake_providers, case):
    session = new_session(as_alice, case.provider, "model-nobody-prices")
    reply = send(as_alice, session["id"]).json()["reply"]
    assert reply["cost_status"] == "unknown" and reply["estimated_cost"] is None
    assert Message.objects.get(pk=reply["id"]).estimated_cost is None
    metrics = as_alice.get(url("sessions", session["id"], "metrics")).json()
    assert metrics["cost_status"] == "unknown" and metrics["estimated_cost"] is None
    assert metrics["unpriced_replies"] == 1
    listed = as_alice.get(url("sessions", session["id"])).json()
    assert listed["cost_status"] == "unknown" and listed["estimated_cost"] is None


def test_an_sse_turn_streams_deltas_and_records_the_time_to_first_token(
    as_alice, fake_providers, case
):
    fake_providers.usage = USAGE
    fake_providers.script(slow_stream(0.03))
    session = new_session(as_alice, case.provider, case.model)
    events = events_of(send(as_alice, session["id"], "stream me now", stream=True))
    names = [name for name, _ in events]
    assert names[0] == "message" and names[-1] == "done" and "error" not in names
    deltas = [data["text"] for name, data in events if name == "delta"]
    assert len(deltas) == 4 and "".join(deltas) == "Echo: stream me now"
    done = events[-1][1]
    assert (done["content"], done["status"]) == ("Echo: stream me now", "complete")
    assert done["time_to_first_token_ms"] >= 30
    assert {name: done[name] for name in expected_usage(case)} == expected_usage(case)
    assert fake_providers.requests_for(case.kind)[0].body["stream"] is True
    metrics = as_alice.get(url("sessions", session["id"], "metrics")).json()
    assert metrics["avg_time_to_first_token_ms"] >= 30
    assert metrics["streamed_replies"] == 1


def test_analytics_count_usage_and_time_to_first_token(
    as_alice, fake_providers, case, django_user_model
):
    fake_providers.usage = USAGE
    fake_providers.script(slow_stream(0.02))
    session = new_session(as_alice, case.provider, case.model)
    events_of(send(as_alice, session["id"], "streamed", stream=True))
    assert send(as_alice, session["id"], "not streamed").status_code == 201
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    report = client_for(staff).get(url("analytics")).json()
    assert report["avg_time_to_first_token_ms"] >= 20
    for name, value in expected_usage(case).items():
        assert report[name] == 2 * value, name


def test_prices_for_the_model_asked_for_apply_to_a_dated_answer(as_alice, settings, fake_llm, case):
    # Real services answer with a dated snapshot name (gpt-4o-2024-08-06 for gpt-4o).
    prices = {case.model: {"input": 1, "output": 1}}
    configure(settings, provider_settings(fake_llm, PRICES=prices))
    fake_llm.usage = Usage(100, 20)
    fake_llm.script(answers_as(f"{case.model}-2099-01-01"))
    session = new_session(as_alice, case.provider, case.model)
    reply = send(as_alice, session["id"]).json()["reply"]
    stored = Message.objects.get(pk=reply["id"])
    assert stored.provider_metadata["model"] == f"{case.model}-2099-01-01"
    assert (reply["cost_status"], reply["estimated_cost"]) == ("known", 120 / 1_000_000)


def test_the_table_prices_the_model_asked_for_when_it_knows_not_the_answer(
    as_alice, fake_providers, case
):
    fake_providers.usage = Usage(1000, 100)
    fake_providers.script(answers_as(f"private-{case.model}"))  # no table knows it
    session = new_session(as_alice, case.provider, case.model)
    reply = send(as_alice, session["id"]).json()["reply"]
    expected = calc_price(
        PriceUsage(input_tokens=1000, output_tokens=100),
        case.model,
        provider_id=PRICE_IDS[case.provider],
    ).total_price
    assert reply["cost_status"] == "known"
    assert Decimal(str(reply["estimated_cost"])) == pytest.approx(expected, abs=Decimal("1e-6"))
