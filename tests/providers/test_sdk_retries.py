"""The SDK's own retries, bounded by the configured timeout (a whole call, all attempts),
against the fake server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from sessions_app.exceptions import ProviderError
from sessions_app.providers.openai import OpenAIProvider
from sessions_app.testing import FakeLLMServer, delayed, fail
from tests.providers.openai_wire import KEY, request

TURN = request("hi")


def openai_on(server: FakeLLMServer, **options: Any) -> OpenAIProvider:
    return OpenAIProvider(api_key=KEY, base_url=server.openai_url, **options)


def timed_failure(call: object) -> tuple[ProviderError, float]:
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        call()  # type: ignore[operator]
    return caught.value, time.monotonic() - started


def test_429_with_a_short_retry_after_is_retried_and_succeeds(fake_llm):
    fake_llm.script(fail(429, retry_after=1))
    started = time.monotonic()

    completion = openai_on(fake_llm, timeout=5).complete(TURN)

    assert completion.text == "Echo: hi"
    assert len(fake_llm.requests_for("responses")) == 2
    assert time.monotonic() - started >= 0.9  # the server's wait was honoured


def test_a_retry_after_beyond_the_timeout_fails_at_once(fake_llm):
    fake_llm.script(fail(429, retry_after=30), times=3)

    error, elapsed = timed_failure(lambda: openai_on(fake_llm, timeout=2).complete(TURN))

    assert elapsed < 1.5
    assert (error.error_code, error.status_code, error.retry_after) == ("rate_limited", 429, 30)
    assert error.retryable is True
    assert len(fake_llm.requests_for("responses")) == 1


def test_the_async_client_is_capped_too(fake_llm):
    fake_llm.script(fail(429, retry_after_ms=30_000), times=3)
    openai = openai_on(fake_llm, timeout=2)

    error, elapsed = timed_failure(lambda: asyncio.run(openai.acomplete(TURN)))

    assert elapsed < 1.5
    assert (error.error_code, error.retry_after) == ("rate_limited", 30)


def test_repeated_500_fails_unavailable_after_max_retries_plus_one_attempts(fake_llm):
    fake_llm.script(fail(500), times=3)

    error, _ = timed_failure(lambda: openai_on(fake_llm, timeout=10, max_retries=2).complete(TURN))

    assert (error.error_code, error.status_code, error.retryable) == ("unavailable", 500, True)
    assert len(fake_llm.requests_for("responses")) == 3


def test_backoff_retries_stop_when_the_next_wait_would_pass_the_timeout(fake_llm):
    fake_llm.script(fail(503), times=10)

    error, elapsed = timed_failure(
        lambda: openai_on(fake_llm, timeout=1.2, max_retries=8).complete(TURN)
    )

    assert error.error_code == "unavailable"
    # Backoff 0.5 s then 1 s: the second wait would end after the 1.2 s budget.
    assert len(fake_llm.requests_for("responses")) == 2
    assert elapsed < 1.5


def test_a_slow_server_times_out_within_about_the_timeout(fake_llm):
    fake_llm.script(delayed(5), times=3)

    error, elapsed = timed_failure(
        lambda: openai_on(fake_llm, timeout=1, max_retries=2).complete(TURN)
    )

    assert error.error_code == "timeout"
    assert error.retryable is True
    # One attempt uses the whole budget; at most one backoff (<= 0.5 s) follows.
    assert 0.9 <= elapsed < 1.8
