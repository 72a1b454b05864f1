"""CONTEXT_BUDGET on the fake LLM server: the oldest turns are left out of the request (the
system prompt is kept), the reply says what was left out, and the stored history stays whole."""

from __future__ import annotations

import pytest

from sessions_app.models import Message
from sessions_app.providers import tokens
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

LONG_FIRST = "alpha " * 40  # about 60 tokens however it is counted
LONG_SECOND = "bravo " * 40


def counted_by(case):
    """Anthropic counts through its API; tiktoken counts when its encoding file is cached
    (it is never downloaded), else the estimate does."""
    if case is ANTHROPIC:
        return "anthropic"
    encoding = tokens.encoding_name_for(case.model)
    return "tiktoken" if encoding and tokens.cached_encoding(encoding) else "estimate"


@pytest.fixture
def budgeted(settings, fake_llm):
    configure(settings, provider_settings(fake_llm, CONTEXT_BUDGET={"*": 90}))
    fake_llm.reply = "ok"
    return fake_llm


def dialogue(body, case):
    """(role, text) of the non-system messages a request carried."""
    pairs = []
    for message in body.get("messages") or body.get("input") or []:
        content = message["content"]
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content)
        if message["role"] != "system":
            pairs.append((message["role"], content))
    return pairs


def system_text(body):
    if "system" in body:
        return str(body["system"])
    return " ".join(str(m["content"]) for m in body["messages"] if m["role"] == "system")


@pytest.mark.parametrize("case", [OPENAI_CHAT, ANTHROPIC], ids=str)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_the_oldest_turn_is_left_out_and_recorded(as_alice, budgeted, case, stream):
    session = new_session(as_alice, case.provider, case.model)
    system = {"content": "Be brief.", "role": "system"}
    as_alice.post(url("sessions", session["id"], "messages"), system, format="json")
    assert send(as_alice, session["id"], LONG_FIRST).status_code == 201
    response = send(as_alice, session["id"], LONG_SECOND, stream=stream)
    reply = events_of(response)[-1][1] if stream else response.json()["reply"]
    first, second = budgeted.requests_for(case.kind)
    assert dialogue(first.body, case) == [("user", LONG_FIRST)]
    assert dialogue(second.body, case) == [("user", LONG_SECOND)]
    assert "Be brief." in system_text(second.body)
    record = reply["metadata"]["context"]
    assert record["omitted_messages"] == 2 and record["budget"] == 90
    assert record["omitted_tokens"] > 0 and record["counted_by"] == counted_by(case)
    assert record["input_tokens"] <= 90
    stored = Message.objects.filter(session_id=session["id"]).order_by("seq")
    assert [m.content for m in stored] == ["Be brief.", LONG_FIRST, "ok", LONG_SECOND, "ok"]
    history = as_alice.get(url("sessions", session["id"], "messages")).json()["results"]
    assert len(history) == 5


def test_anthropic_counts_with_its_count_tokens_endpoint(as_alice, budgeted):
    session = new_session(as_alice, ANTHROPIC.provider, ANTHROPIC.model)
    send(as_alice, session["id"], LONG_FIRST)
    send(as_alice, session["id"], LONG_SECOND)
    counted = budgeted.requests_for("count_tokens")
    assert counted and counted[-1].body["model"] == ANTHROPIC.model
    assert dialogue(counted[-1].body, ANTHROPIC)[-1] == ("user", LONG_SECOND)


def test_an_openai_conversation_is_not_trimmed_it_holds_the_history(as_alice, budgeted):
    session = new_session(as_alice, OPENAI.provider, OPENAI.model)
    send(as_alice, session["id"], LONG_FIRST)
    reply = send(as_alice, session["id"], LONG_SECOND).json()["reply"]
    assert "context" not in reply["metadata"]
    [conversation] = budgeted.conversations.values()
    assert len(conversation.items) == 4  # the server keeps the whole dialogue


def test_a_history_within_the_budget_is_sent_whole(as_alice, settings, fake_llm):
    configure(settings, provider_settings(fake_llm, CONTEXT_BUDGET=10_000))
    session = new_session(as_alice, ANTHROPIC.provider, ANTHROPIC.model)
    send(as_alice, session["id"], LONG_FIRST)
    reply = send(as_alice, session["id"], LONG_SECOND).json()["reply"]
    assert "context" not in reply["metadata"]
    assert len(fake_llm.requests_for("messages")[-1].body["messages"]) == 3
