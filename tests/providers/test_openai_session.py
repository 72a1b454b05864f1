"""The adapter under a real session: settings build it, turns store its native state."""

from __future__ import annotations

import httpx2
import pytest

from sessions_app.exceptions import ConfigurationError
from sessions_app.models import Message
from sessions_app.providers import get_provider, reset_providers
from sessions_app.providers.openai import OpenAIProvider, signed_conversation
from tests.providers.openai_wire import KEY, Wire


@pytest.fixture
def wire(settings):
    wire = Wire()
    transport = httpx2.MockTransport(wire)
    options = {
        "api_key": KEY,
        "http_client": httpx2.Client(transport=transport),
        "async_http_client": httpx2.AsyncClient(transport=transport),
    }
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "PROVIDERS": {"mock": {}, "openai": {"OPTIONS": options, "DEFAULT_MODEL": "gpt-4o"}},
    }
    reset_providers()
    yield wire
    reset_providers()


@pytest.mark.django_db
def test_a_session_keeps_the_conversation_and_sends_only_new_turns(manager, wire):
    session = manager.create_session(user_id="alice", provider="openai", model="gpt-4o")

    first = session.send_message("Hello")
    second = session.send_message("And again")

    conversation_id = "conv_1"
    assert (first.content, second.content) == ("Hello!", "Hello!")
    assert first.provider_metadata["state"]["conversation_id"] == conversation_id
    assert session.provider_session_id == conversation_id
    assert wire.conversations == 1
    created = wire.bodies("/v1/conversations")[0]
    assert created["metadata"] == {"session_id": str(session.session_id)}
    sent = wire.bodies("/v1/responses")
    assert [body["conversation"] for body in sent] == [conversation_id, conversation_id]
    assert [[item["content"] for item in body["input"]] for body in sent] == [
        ["Hello"],
        ["And again"],
    ]
    reply = Message.objects.get(pk=second.pk)
    assert (reply.input_tokens, reply.output_tokens) == (120, 30)


@pytest.mark.django_db
def test_settings_build_the_builtin_openai_backend(wire):
    openai = get_provider("openai")

    assert isinstance(openai, OpenAIProvider)
    assert openai.default_model == "gpt-4o"
    assert openai.capabilities()["mode"] == "responses"
    assert KEY not in repr(openai)


def test_unknown_options_are_refused_with_the_known_ones():
    with pytest.raises(ConfigurationError) as caught:
        OpenAIProvider(api_key=KEY, modes="chat")

    message = str(caught.value)
    assert "modes" in message and "previous_response_id" in message
    assert KEY not in message


@pytest.mark.parametrize(
    "options",
    [{"mode": "assistants"}, {"store": "yes"}, {"max_output_tokens": 0}, {"tokenizer": 3}],
)
def test_bad_adapter_options_are_configuration_errors(options):
    with pytest.raises(ConfigurationError):
        OpenAIProvider(api_key=KEY, **options)


@pytest.mark.parametrize(
    "options",
    [
        {"colour": "red"},
        {"temperature": 3},
        {"temperature": "hot"},
        {"store": 1},
        {"conversation_id": "thread_1"},
        {"max_output_tokens": -5},
        {"max_tokens": 0},
        {"thread_metadata": {"n": 1}},
        {"thread_metadata": {f"k{i}": "v" for i in range(16)}},
    ],
)
def test_bad_session_options_are_refused(options):
    with pytest.raises(ConfigurationError):
        OpenAIProvider(api_key=KEY).check_session_options(options)


def test_good_session_options_pass():
    OpenAIProvider(api_key=KEY).check_session_options(
        {
            "temperature": 0.7,
            "store": False,
            "conversation_id": signed_conversation("s1", "conversation_id", "conv_1"),
            "max_output_tokens": 9,
        }
    )


def test_the_documents_openai_provider_config_is_accepted():
    OpenAIProvider(api_key=KEY).check_session_options(
        {
            "thread_metadata": {"user_type": "premium"},
            "assistant_id": "asst_abc123",
            "temperature": 0.7,
            "max_tokens": 2048,
        }
    )
