"""SDK failures become ``ProviderError``s with stable codes, and the API key never leaks."""

from __future__ import annotations

import contextlib
import logging
import socket

import httpx2
import pytest

from sessions_app.exceptions import ConfigurationError, ProviderError
from sessions_app.providers.openai import OpenAIProvider
from sessions_app.providers.sdk import client_options, redact, retry_after_seconds
from sessions_app.testing import auth_failure
from tests.providers.openai_wire import KEY, Wire, provider, request

TURN = request("hi", provider_state={"conversation_id": "conv_1"})


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (400, "bad_request", False),
        (401, "auth", False),
        (403, "auth", False),
        (404, "bad_request", False),
        (408, "timeout", True),
        (409, "bad_request", False),
        (413, "bad_request", False),
        (422, "bad_request", False),
        (429, "rate_limited", True),
        (500, "unavailable", True),
        (503, "unavailable", True),
        (529, "unavailable", True),
    ],
)
def test_an_http_status_maps_to_an_error_code(status, code, retryable):
    wire = Wire()
    body = {"error": {"message": f"upstream says {status}", "type": "x", "code": None}}
    wire.queue("/v1/responses", httpx2.Response(status, json=body))

    with pytest.raises(ProviderError) as caught:
        provider(wire, max_retries=0).complete(TURN)

    error = caught.value
    assert (error.error_code, error.status_code, error.retryable) == (code, status, retryable)
    assert error.provider == "openai"
    assert str(error) == f"openai: upstream {status} {code}: upstream says {status}"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_connection_is_unavailable():
    openai = OpenAIProvider(
        api_key=KEY, base_url=f"http://127.0.0.1:{closed_port()}/v1", max_retries=0
    )

    with pytest.raises(ProviderError) as caught:
        openai.complete(TURN)
    assert (caught.value.error_code, caught.value.retryable) == ("unavailable", True)


def test_an_auth_failure_echoing_the_key_is_redacted(fake_llm):
    fake_llm.script(auth_failure())
    openai = OpenAIProvider(api_key=KEY, base_url=fake_llm.openai_url)

    with pytest.raises(ProviderError) as caught:
        openai.complete(request("hi"))

    assert fake_llm.requests[-1].api_key == KEY  # the server did echo it back
    error = caught.value
    assert error.error_code == "auth" and error.status_code == 401
    assert KEY not in str(error) and KEY not in repr(error.to_dict())
    assert "***" in str(error)


def test_redact_hides_the_key_and_key_like_tokens():
    text = "Incorrect API key provided: sk-abc12345678. Bearer tok.en and mine=s3cret!"

    assert redact(text, "s3cret!") == "Incorrect API key provided: ***. *** and mine=***"


def test_no_key_is_constructible_unconfigured_and_fails_its_first_call_as_auth(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    wire = Wire()
    openai = OpenAIProvider(http_client=httpx2.Client(transport=httpx2.MockTransport(wire)))

    assert openai.capabilities()["configured"] is False
    with pytest.raises(ProviderError) as caught:
        openai.complete(TURN)
    assert caught.value.error_code == "auth"
    assert "OPENAI_API_KEY" in str(caught.value)
    assert wire.seen == []


def test_the_key_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    wire = Wire()
    openai = OpenAIProvider(http_client=httpx2.Client(transport=httpx2.MockTransport(wire)))

    openai.complete(TURN)

    assert openai.capabilities()["configured"] is True
    assert wire.seen[0].headers["authorization"] == f"Bearer {KEY}"


def test_debug_logs_of_a_call_never_hold_the_key(caplog):
    wire = Wire()
    openai = provider(wire)
    loggers = ("openai", "httpx2", "httpcore2", "sessions_app")

    with contextlib.ExitStack() as levels:
        for name in loggers:
            levels.enter_context(caplog.at_level(logging.DEBUG, logger=name))
        openai.complete(TURN)
        wire.queue("/v1/responses", httpx2.Response(401, json={"error": {"message": KEY}}))
        with pytest.raises(ProviderError):
            openai.complete(TURN)

    assert any(record.name.startswith("openai") for record in caplog.records)
    logged = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.__dict__!r}" for record in caplog.records
    )
    assert KEY not in logged


def test_repr_and_capabilities_never_show_the_key():
    openai = provider(Wire())

    assert KEY not in repr(openai)
    assert KEY not in repr(openai.client_options)
    assert KEY not in repr(openai.capabilities())


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": "30"}, 30.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_headers(headers, seconds):
    assert retry_after_seconds(httpx2.Headers(headers)) == seconds


def test_a_retry_after_date_is_seconds_from_now():
    headers = httpx2.Headers({"retry-after": "Wed, 21 Oct 2099 07:28:00 GMT"})

    assert (retry_after_seconds(headers) or 0) > 1e9


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("api_key", 12345),
        ("base_url", ["sk-not-a-url-0000"]),
        ("timeout", "sk-oops-secret-1"),
        ("timeout", 0),
        ("timeout", float("inf")),
        ("max_retries", -1),
        ("max_retries", True),
        ("http_client", "sk-some-secret-value"),
    ],
)
def test_bad_client_options_name_the_option_never_the_value(option, value):
    with pytest.raises(ConfigurationError) as caught:
        client_options(
            {option: value},
            env_key="NO_SUCH_ENV_VAR_B1",
            env_base_url="NO_SUCH_ENV_VAR_B1_URL",
            vendor_host="api.openai.com",
        )

    assert option in str(caught.value)
    assert str(value) not in str(caught.value)
