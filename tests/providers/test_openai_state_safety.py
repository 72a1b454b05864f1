"""OpenAI-side state a client cannot forge or break: signed conversation ids, metadata and
output limits checked at write time, truncation on stateful turns, lost state rebuilt."""

from __future__ import annotations

import asyncio

import httpx2
import pytest

from sessions_app.exceptions import ConfigurationError, ProviderError
from sessions_app.providers import reset_providers
from sessions_app.providers.anthropic import AnthropicProvider
from sessions_app.providers.openai import signed_conversation
from tests.providers.openai_wire import KEY, Wire, provider, request, sse
from tests.support.api import client_for, url


def not_found(state_id: str, param: str = "conversation") -> httpx2.Response:
    error = {
        "message": f"Conversation with id '{state_id}' not found.",
        "type": "invalid_request_error",
        "param": param,
        "code": None,
    }
    return httpx2.Response(404, json={"error": error})


# -- 1: conversation ids in provider_config ------------------------------------------------


def test_a_conversation_id_signed_for_another_session_is_ignored():
    wire = Wire()
    openai = provider(wire)
    victims = signed_conversation("victim", "conversation_id", "conv_victim")

    completion = openai.complete(
        request("hi", session_id="attacker", options={"conversation_id": victims})
    )

    assert [body["conversation"] for body in wire.bodies("/v1/responses")] == ["conv_1"]
    assert completion.provider_state["conversation_id"] == "conv_1"


def test_an_unsigned_conversation_id_is_refused_as_a_session_option():
    openai = provider(Wire())

    for key in ("conversation_id", "ended_conversation_id"):
        with pytest.raises(ConfigurationError, match="set by the server"):
            openai.check_session_options({key: "conv_victim"})


@pytest.fixture
def openai_settings(db, settings):  # the database first: settings changes touch it
    wire = Wire()
    transport = httpx2.MockTransport(wire)
    options = {
        "api_key": KEY,
        "http_client": httpx2.Client(transport=transport),
        "async_http_client": httpx2.AsyncClient(transport=transport),
    }
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "THROTTLE_RATES": {"user": None, "anon": None, "session": None},
        "PROVIDERS": {"mock": {}, "openai": {"OPTIONS": options, "DEFAULT_MODEL": "gpt-4o"}},
    }
    reset_providers()
    yield wire
    reset_providers()


@pytest.fixture
def as_alice(django_user_model):
    return client_for(django_user_model.objects.create_user("alice", password="pw-alice"))


@pytest.mark.parametrize(
    "provider_config",
    [
        {"conversation_id": "conv_someone_elses"},
        {"ended_conversation_id": "conv_x"},
        {"thread_metadata": {"k": "x" * 513}},
        {"thread_metadata": {"k" * 65: "v"}},
        {"max_output_tokens": 10**9},
    ],
)
def test_the_api_refuses_what_would_break_the_session_later(
    openai_settings, as_alice, provider_config
):
    body = {"provider": "openai", "model": "gpt-4o", "config": {"provider_config": provider_config}}

    created = as_alice.post(url("sessions"), body, format="json")

    assert created.status_code == 400, created.content
    assert openai_settings.seen == []


def test_the_api_refuses_a_forged_conversation_id_on_update(openai_settings, as_alice):
    created = as_alice.post(url("sessions"), {"provider": "openai"}, format="json")
    assert created.status_code == 201, created.content
    session_url = url("sessions", created.json()["id"])

    changed = as_alice.patch(
        session_url,
        {"config": {"provider_config": {"conversation_id": "conv_victim"}}},
        format="json",
    )

    assert changed.status_code == 400, changed.content


# -- 2: limits ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"thread_metadata": {"k": "x" * 513}},
        {"thread_metadata": {"": "v"}},
        {"thread_metadata": {"k" * 65: "v"}},
        {"thread_metadata": {f"k{n}": "v" for n in range(16)}},
        {"max_output_tokens": 128_001},
        {"max_tokens": 10**9},
    ],
)
def test_openai_session_options_past_openais_limits_are_refused(options):
    with pytest.raises(ConfigurationError):
        provider(Wire()).check_session_options(options)


def test_limits_at_the_edge_pass():
    provider(Wire()).check_session_options(
        {
            "thread_metadata": {("k" * 62 + f"{n:02}"): "x" * 512 for n in range(15)},
            "max_output_tokens": 128_000,
        }
    )


def test_anthropic_max_tokens_is_capped_in_options_and_sessions():
    with pytest.raises(ConfigurationError):
        AnthropicProvider(api_key=KEY, max_tokens=10**9)
    with pytest.raises(ConfigurationError):
        AnthropicProvider(api_key=KEY).check_session_options({"max_tokens": 128_001})
    AnthropicProvider(api_key=KEY).check_session_options({"max_tokens": 128_000})


# -- 5: truncation --------------------------------------------------------------------------


def test_turns_on_openai_side_state_are_sent_with_truncation_auto():
    wire = Wire()
    conversation = provider(wire)
    chained = provider(wire, previous_response_id=True)
    stateless = provider(wire, store=False)

    conversation.complete(request("hi"))
    first = chained.complete(request("hi"))
    chained.complete(request("hi", "Hello!", "more", provider_state=first.provider_state))
    stateless.complete(request("hi"))

    sent = [body.get("truncation") for body in wire.bodies("/v1/responses")]
    assert sent == ["auto", None, "auto", None]


# -- 6: lost state --------------------------------------------------------------------------


def test_a_deleted_conversation_is_replaced_by_one_seeded_from_our_history():
    wire = Wire()
    wire.queue("/v1/responses", not_found("conv_gone"))
    openai = provider(wire)

    completion = openai.complete(
        request(
            "first",
            "reply",
            "second",
            session_id="s1",
            provider_state={"conversation_id": "conv_gone"},
        )
    )

    sent = wire.bodies("/v1/responses")
    assert [body["conversation"] for body in sent] == ["conv_gone", "conv_1"]
    assert [item["content"] for item in sent[1]["input"]] == ["second"]
    seeded = wire.bodies("/v1/conversations")[0]
    assert [item["content"] for item in seeded["items"]] == ["first", "reply"]
    assert seeded["metadata"] == {"session_id": "s1"}
    assert completion.provider_state == {"conversation_id": "conv_1", "response_id": "resp_1"}


def test_an_expired_previous_response_is_replaced_by_the_full_history_while_streaming():
    wire = Wire()
    wire.queue("/v1/responses", not_found("resp_old", param="previous_response_id"))
    openai = provider(wire, previous_response_id=True)

    events = list(openai.stream(request("a", "b", "c", provider_state={"response_id": "resp_old"})))

    sent = wire.bodies("/v1/responses")
    assert [body.get("previous_response_id") for body in sent] == ["resp_old", None]
    assert [item["content"] for item in sent[1]["input"]] == ["a", "b", "c"]
    assert events[-1].provider_state == {"response_id": "resp_1"}


def test_lost_state_is_rebuilt_by_the_async_client_too():
    wire = Wire()
    wire.queue("/v1/responses", not_found("conv_gone"))

    completion = asyncio.run(
        provider(wire).acomplete(
            request("a", "b", "c", provider_state={"conversation_id": "conv_gone"})
        )
    )

    assert completion.provider_state["conversation_id"] == "conv_1"


def test_a_404_about_something_else_is_not_retried():
    wire = Wire()
    missing_model = httpx2.Response(
        404, json={"error": {"message": "The model `nope` does not exist.", "type": "x"}}
    )
    wire.queue("/v1/responses", missing_model)

    with pytest.raises(ProviderError) as caught:
        provider(wire).complete(request("a", "b", "c", provider_state={"conversation_id": "c9"}))

    assert caught.value.error_code == "bad_request"
    assert len(wire.bodies("/v1/responses")) == 1
    assert wire.conversations == 0


# -- 10: error frames are redacted of the configured key ------------------------------------


def test_an_error_frame_never_repeats_the_configured_key():
    secret = "plainsecretwithoutprefix42"
    wire = Wire()
    frame = {"type": "error", "code": "server_error", "message": f"bad key {secret}", "param": None}
    wire.queue(
        "/v1/responses", httpx2.Response(200, content=sse([{**frame, "sequence_number": 0}]))
    )

    with pytest.raises(ProviderError) as caught:
        list(provider(wire, api_key=secret).stream(request("hi")))

    assert secret not in str(caught.value)
