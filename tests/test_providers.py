"""The provider layer: the mock provider, the base class's async streaming, and the registry."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sessions_app.exceptions import ConfigurationError, ProviderError
from sessions_app.providers import (
    ChatMessage,
    Completion,
    CompletionRequest,
    Provider,
    StreamEvent,
    TextDelta,
    available_providers,
    get_provider,
    register_provider,
    registry,
    reset_providers,
    unregister_provider,
)
from sessions_app.providers.mock import MockProvider, count_tokens

MOCK_PATH = "sessions_app.providers.mock.MockProvider"
MESSAGE_ID = re.compile(r"^mock-[0-9a-f]{16}$")


@pytest.fixture(autouse=True)
def isolated_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with no registered providers and no cached instances."""
    monkeypatch.setattr(registry, "_registered", {})
    reset_providers()
    yield
    reset_providers()


def make_request(
    content: str = "hello",
    *,
    history: tuple[ChatMessage, ...] = (),
    system: str | None = None,
    model: str = "mock-model",
) -> CompletionRequest:
    return CompletionRequest(
        model=model, messages=[*history, ChatMessage("user", content)], system=system
    )


def collect(provider: Provider, request: CompletionRequest) -> list[StreamEvent]:
    return list(provider.stream(request))


async def acollect_events(provider: Provider, request: CompletionRequest) -> list[StreamEvent]:
    return [event async for event in provider.astream(request)]


def acollect(provider: Provider, request: CompletionRequest) -> list[StreamEvent]:
    return asyncio.run(acollect_events(provider, request))


def outcomes(provider: MockProvider, calls: int) -> list[str]:
    """What each of ``calls`` calls gave: the message id, or "error"."""
    results = []
    for _ in range(calls):
        try:
            results.append(provider.complete(make_request()).provider_message_id)
        except ProviderError:
            results.append("error")
    return results


def split_stream(events: list[StreamEvent]) -> tuple[list[TextDelta], Completion]:
    """The deltas and the final completion; asserts the stream's shape on the way."""
    *deltas, last = events
    assert all(isinstance(event, TextDelta) for event in deltas)
    assert isinstance(last, Completion)
    return deltas, last  # type: ignore[return-value]


# -- the reply ---------------------------------------------------------------------------------


def test_default_pattern_answers_the_last_user_message() -> None:
    history = (ChatMessage("user", "first question"), ChatMessage("assistant", "first answer"))
    completion = MockProvider().complete(make_request("second question", history=history))
    assert completion.text == "Mock response to: second question"


def test_custom_pattern_replaces_every_placeholder() -> None:
    provider = MockProvider(response_pattern="<{input}|{input}>")
    assert provider.complete(make_request("x")).text == "<x|x>"


@pytest.mark.parametrize("content", ["{0} {input} {missing} }{", "{{input}}", "%s {!r}"])
def test_braces_in_user_text_are_taken_literally(content: str) -> None:
    completion = MockProvider(response_pattern="said: {input}").complete(make_request(content))
    assert completion.text == f"said: {content}"


def test_other_braces_in_the_pattern_stay_as_written() -> None:
    provider = MockProvider(response_pattern='{"echo": "{input}", "n": {count}}')
    assert provider.complete(make_request("hi")).text == '{"echo": "hi", "n": {count}}'


def test_reply_fields() -> None:
    first = MockProvider().complete(make_request(model=""))
    second = MockProvider().complete(make_request(model="mock-echo"))
    assert first.model == "mock-model"  # the default model when the request names none
    assert second.model == "mock-echo"
    assert first.finish_reason == "stop"
    assert MESSAGE_ID.match(first.provider_message_id)
    assert first.provider_state == {"last_response_id": first.provider_message_id}
    assert first.provider_message_id != second.provider_message_id


# -- errors and the seed -----------------------------------------------------------------------


def test_same_seed_gives_the_same_errors_and_ids() -> None:
    first = outcomes(MockProvider(seed=42, error_rate=0.5), 40)
    second = outcomes(MockProvider(seed=42, error_rate=0.5), 40)
    assert first == second
    assert "error" in first
    assert any(MESSAGE_ID.match(result) for result in first)


def test_different_seeds_give_different_sequences() -> None:
    assert outcomes(MockProvider(seed=1, error_rate=0.5), 40) != outcomes(
        MockProvider(seed=2, error_rate=0.5), 40
    )


def test_error_rate_roughly_honoured() -> None:
    errors = outcomes(MockProvider(seed=3, error_rate=0.25), 400).count("error")
    assert 60 <= errors <= 140


def test_error_rate_one_always_fails_in_every_call_style() -> None:
    provider = MockProvider(error_rate=1)
    request = make_request()
    calls = [
        lambda: provider.complete(request),
        lambda: collect(provider, request),
        lambda: asyncio.run(provider.acomplete(request)),
        lambda: acollect(provider, request),
    ]
    for call in calls * 5:
        with pytest.raises(ProviderError) as caught:
            call()
        assert caught.value.error_code == "provider_error"
        assert caught.value.provider == "mock"
        assert caught.value.retryable is True
        assert caught.value.status_code == 503


def test_error_rate_zero_never_fails() -> None:
    assert "error" not in outcomes(MockProvider(error_rate=0), 200)


def test_seeded_sequence_survives_concurrent_callers() -> None:
    """Draws of one call are not interleaved with another thread's: same ids as sequentially."""
    expected = set(outcomes(MockProvider(seed=9), 400))
    shared = MockProvider(seed=9)
    with ThreadPoolExecutor(max_workers=8) as pool:
        batches = list(pool.map(lambda _: outcomes(shared, 50), range(8)))
    got = [result for batch in batches for result in batch]
    assert len(got) == 400
    assert set(got) == expected


# -- delay ---------------------------------------------------------------------------------------


def elapsed(call: Any) -> float:
    start = time.monotonic()
    call()
    return time.monotonic() - start


def test_delay_honoured_by_every_call_style() -> None:
    provider = MockProvider(delay=0.05)
    request = make_request()
    assert 0.045 <= elapsed(lambda: provider.complete(request)) < 2
    assert 0.045 <= elapsed(lambda: collect(provider, request)) < 2
    assert 0.045 <= elapsed(lambda: asyncio.run(provider.acomplete(request))) < 2
    assert 0.045 <= elapsed(lambda: acollect(provider, request)) < 2


def test_no_delay_by_default() -> None:
    assert elapsed(lambda: MockProvider().complete(make_request())) < 0.04


def test_stream_spreads_the_delay_over_the_deltas() -> None:
    # "Mock response to: a b c" is six words: about 0.05 s before each.
    provider = MockProvider(delay=0.3)
    start = time.monotonic()
    arrivals = [time.monotonic() - start for _ in provider.stream(make_request("a b c"))]
    assert arrivals[0] < 0.2
    assert arrivals[-1] >= 0.28


def test_async_stream_spreads_the_delay_over_the_deltas() -> None:
    async def arrivals() -> list[float]:
        start = time.monotonic()
        return [time.monotonic() - start async for _ in provider.astream(make_request("a b c"))]

    provider = MockProvider(delay=0.3)
    times = asyncio.run(arrivals())
    assert times[0] < 0.2
    assert times[-1] >= 0.28


def test_async_delay_does_not_block_the_event_loop() -> None:
    async def three_at_once() -> float:
        start = time.monotonic()
        await asyncio.gather(*(provider.acomplete(make_request()) for _ in range(3)))
        return time.monotonic() - start

    provider = MockProvider(delay=0.2)
    assert asyncio.run(three_at_once()) < 0.5


# -- tokens ----------------------------------------------------------------------------------------


def test_token_counts() -> None:
    history = (ChatMessage("user", "a" * 10), ChatMessage("assistant", "b" * 7))
    request = make_request("c" * 4, history=history)
    completion = MockProvider().complete(request)
    assert completion.input_tokens == 3 + 2 + 1
    assert completion.output_tokens == count_tokens(completion.text) > 0
    with_system = MockProvider().complete(make_request("c" * 4, history=history, system="s" * 9))
    assert with_system.input_tokens == completion.input_tokens + 3


def test_count_tokens_is_at_least_one() -> None:
    assert count_tokens("") == 1
    assert count_tokens("abcd") == 1
    assert count_tokens("abcde") == 2


def test_stream_ends_with_the_same_completion_as_complete() -> None:
    request = make_request("tell me", system="be brief")
    whole = MockProvider(seed=5).complete(request)
    _, streamed = split_stream(collect(MockProvider(seed=5), request))
    assert streamed == whole


# -- streaming -------------------------------------------------------------------------------------


@pytest.mark.parametrize("content", ["one", "  spaced\n\nout   words  ", "a b c d e f g"])
@pytest.mark.parametrize("words", [1, 2, 5])
def test_deltas_join_to_the_full_text(content: str, words: int) -> None:
    provider = MockProvider(stream_chunk_words=words)
    deltas, completion = split_stream(collect(provider, make_request(content)))
    assert "".join(delta.text for delta in deltas) == completion.text
    word_count = len(completion.text.split())
    assert len(deltas) == math.ceil(word_count / words)
    assert all(delta.text for delta in deltas)


def test_empty_reply_streams_only_the_completion() -> None:
    events = collect(MockProvider(response_pattern="{input}"), make_request(""))
    assert len(events) == 1
    assert isinstance(events[0], Completion)
    assert events[0].text == ""


def test_stream_error_happens_before_any_delta() -> None:
    seen: list[StreamEvent] = []
    with pytest.raises(ProviderError):
        for event in MockProvider(error_rate=1).stream(make_request()):
            seen.append(event)
    assert seen == []


# -- async twins -----------------------------------------------------------------------------------


def test_acomplete_matches_complete() -> None:
    request = make_request("same question", system="sys")
    awaited = asyncio.run(MockProvider(seed=11).acomplete(request))
    assert awaited == MockProvider(seed=11).complete(request)


def test_astream_matches_stream() -> None:
    request = make_request("a longer question with words")
    options = {"seed": 12, "stream_chunk_words": 2}
    assert acollect(MockProvider(**options), request) == collect(MockProvider(**options), request)


def test_async_seeded_sequence_matches_sync() -> None:
    async def run(provider: MockProvider) -> list[str]:
        results = []
        for _ in range(30):
            try:
                results.append((await provider.acomplete(make_request())).provider_message_id)
            except ProviderError:
                results.append("error")
        return results

    sync = outcomes(MockProvider(seed=13, error_rate=0.5), 30)
    assert asyncio.run(run(MockProvider(seed=13, error_rate=0.5))) == sync


# -- options -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "mentioned"),
    [
        ({"delay": -0.1}, "delay"),
        ({"delay": float("nan")}, "delay"),
        ({"delay": "soon"}, "delay"),
        ({"delay": True}, "delay"),
        ({"error_rate": 1.5}, "error_rate"),
        ({"error_rate": -0.01}, "error_rate"),
        ({"error_rate": None}, "error_rate"),
        ({"seed": "abc"}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"stream_chunk_words": 0}, "stream_chunk_words"),
        ({"stream_chunk_words": 1.0}, "stream_chunk_words"),
        ({"response_pattern": 42}, "response_pattern"),
        ({"respons_pattern": "x {input}"}, "respons_pattern"),
    ],
)
def test_invalid_options_are_rejected_clearly(options: dict[str, Any], mentioned: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        MockProvider(**options)
    assert mentioned in str(caught.value)
    assert caught.value.error_code == "configuration_error"


def test_numeric_strings_are_accepted() -> None:
    provider = MockProvider(delay="0.01", error_rate="0")
    assert (provider.delay, provider.error_rate) == (0.01, 0.0)


def test_any_model_unless_models_restrict() -> None:
    unrestricted = MockProvider()
    assert (unrestricted.default_model, unrestricted.models) == ("mock-model", [])
    assert unrestricted.accepts_model("gpt-4") and unrestricted.accepts_model("mock-model")
    configured = MockProvider(DEFAULT_MODEL="mock-echo", MODELS=["mock-echo", "mock-2"])
    assert configured.default_model == "mock-echo"
    assert configured.models == ["mock-echo", "mock-2"]
    assert configured.accepts_model("mock-2") and not configured.accepts_model("mock-model")
    assert MockProvider(MODELS=["small", "large"]).default_model == "small"


def test_the_mock_answers_for_any_model() -> None:
    completion = MockProvider().complete(make_request("hi", model="claude-3-sonnet-20240229"))
    assert (completion.text, completion.model) == (
        "Mock response to: hi",
        "claude-3-sonnet-20240229",
    )


@pytest.mark.parametrize(
    ("options", "mentioned"),
    [
        ({"MODELS": "mock-model"}, "MODELS"),
        ({"MODELS": ["ok", ""]}, "MODELS"),
        ({"DEFAULT_MODEL": 3}, "DEFAULT_MODEL"),
        ({"DEFAULT_MODEL": "other", "MODELS": ["small"]}, "not one of MODELS"),
    ],
)
def test_invalid_model_settings(options: dict[str, Any], mentioned: str) -> None:
    with pytest.raises(ConfigurationError, match=mentioned):
        MockProvider(**options)


def test_estimate_cost_uses_prices_per_million_tokens() -> None:
    provider = MockProvider(PRICES={"mock-model": {"input": 1.0, "output": 2.0}})
    assert provider.estimate_cost("mock-model", 1_000_000, 500_000) == pytest.approx(2.0)
    assert provider.estimate_cost("mock-model", 250, 100) == pytest.approx(0.00045)
    assert provider.estimate_cost("unpriced", 1_000_000, 1_000_000) == 0.0


def test_estimate_cost_falls_back_to_the_wildcard_price() -> None:
    provider = MockProvider(PRICES={"*": {"input": 3.0, "output": 0}})
    assert provider.estimate_cost("any", 2_000_000, 9) == pytest.approx(6.0)


def test_capabilities() -> None:
    capabilities = MockProvider(name="local", DEFAULT_MODEL="mock-echo", delay=0.5).capabilities()
    assert capabilities["name"] == "local"
    # Unrestricted: the default is the one model known, and any other name is accepted too.
    assert (capabilities["models"], capabilities["any_model"]) == (["mock-echo"], True)
    assert capabilities["default_model"] == "mock-echo"
    assert capabilities["streaming"] is True
    assert capabilities["delay"] == 0.5


# -- the base class's async streaming ------------------------------------------------------------


class GatedProvider(Provider):
    """Emits one delta, then waits for the consumer to confirm it arrived before finishing."""

    name = "gated"

    def __init__(self) -> None:
        super().__init__()
        self.first_delta_received = threading.Event()
        self.confirmed_in_time = False

    def stream(self, request: CompletionRequest) -> Iterator[StreamEvent]:
        yield TextDelta("first ")
        self.confirmed_in_time = self.first_delta_received.wait(timeout=5)
        yield TextDelta("second")
        yield Completion(text="first second", model=request.model)


def test_base_astream_hands_over_each_event_as_it_arrives() -> None:
    async def consume() -> list[StreamEvent]:
        events = []
        async for event in provider.astream(make_request()):
            events.append(event)
            provider.first_delta_received.set()
        return events

    provider = GatedProvider()
    events = asyncio.run(asyncio.wait_for(consume(), timeout=10))
    assert provider.confirmed_in_time  # the first delta reached us while the stream still ran
    assert events == [
        TextDelta("first "),
        TextDelta("second"),
        Completion(text="first second", model="mock-model"),
    ]


class FailingProvider(Provider):
    name = "failing"

    def stream(self, request: CompletionRequest) -> Iterator[StreamEvent]:
        yield TextDelta("partial")
        raise ProviderError("upstream broke", provider=self.name, status_code=502)


def test_base_astream_raises_the_stream_error_after_the_deltas_so_far() -> None:
    async def consume(seen: list[StreamEvent]) -> None:
        async for event in FailingProvider().astream(make_request()):
            seen.append(event)

    seen: list[StreamEvent] = []
    with pytest.raises(ProviderError, match="upstream broke") as caught:
        asyncio.run(asyncio.wait_for(consume(seen), timeout=10))
    assert caught.value.status_code == 502
    assert seen == [TextDelta("partial")]


class EagerFailureProvider(Provider):
    name = "eager"

    def stream(self, request: CompletionRequest) -> Iterator[StreamEvent]:
        raise ProviderError("refused before streaming", provider=self.name)


def test_base_astream_raises_when_stream_fails_before_returning() -> None:
    with pytest.raises(ProviderError, match="refused before streaming"):
        asyncio.run(asyncio.wait_for(acollect_events(EagerFailureProvider(), make_request()), 10))


class LongProvider(Provider):
    """Far longer than any consumer here reads; finite, so a regression fails instead of hanging."""

    name = "long"
    length = 400

    def __init__(self) -> None:
        super().__init__()
        self.produced = 0
        self.closed = threading.Event()

    def stream(self, request: CompletionRequest) -> Iterator[StreamEvent]:
        try:
            for _ in range(self.length):
                time.sleep(0.005)
                self.produced += 1
                yield TextDelta("more ")
            yield Completion(text="more " * self.length, model=request.model)
        finally:
            self.closed.set()


def test_base_astream_closes_the_sync_stream_when_the_consumer_leaves() -> None:
    async def take_two() -> list[StreamEvent]:
        taken: list[StreamEvent] = []
        stream: AsyncIterator[StreamEvent] = provider.astream(make_request())
        async with contextlib.aclosing(stream):  # type: ignore[type-var]
            async for event in stream:
                taken.append(event)
                if len(taken) == 2:
                    break
        return taken

    provider = LongProvider()
    assert asyncio.run(take_two()) == [TextDelta("more "), TextDelta("more ")]
    assert provider.closed.wait(timeout=5)
    assert provider.produced < provider.length / 2  # stopped, not drained


request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


class ContextReadingProvider(Provider):
    name = "context"

    def stream(self, request: CompletionRequest) -> Iterator[StreamEvent]:
        yield Completion(text=request_id.get(), model=request.model)


def test_base_astream_runs_the_stream_in_the_callers_context() -> None:
    async def consume() -> list[StreamEvent]:
        request_id.set("req-7")
        return await acollect_events(ContextReadingProvider(), make_request())

    [completion] = asyncio.run(consume())
    assert isinstance(completion, Completion)
    assert completion.text == "req-7"


# -- the registry ----------------------------------------------------------------------------------


def test_configured_provider_is_built_from_settings_with_options(settings: Any) -> None:
    settings.SESSIONS_APP = {
        "DEFAULT_PROVIDER": "mock",
        "PROVIDERS": {
            "mock": {
                "DEFAULT_MODEL": "mock-echo",
                "MODELS": ["mock-model", "mock-echo"],
                "PRICES": {"mock-echo": {"input": 1.0, "output": 1.0}},
                "OPTIONS": {"response_pattern": "echo: {input}", "seed": 7, "delay": 0},
            }
        },
    }
    provider = get_provider()
    assert isinstance(provider, MockProvider)
    assert provider is get_provider("mock")  # built once, then cached
    assert provider.name == "mock"
    assert provider.default_model == "mock-echo"
    assert provider.models == ["mock-model", "mock-echo"]
    assert provider.capabilities()["any_model"] is False
    assert provider.estimate_cost("mock-echo", 500_000, 500_000) == pytest.approx(1.0)
    assert provider.complete(make_request("ping")).text == "echo: ping"
    assert outcomes(provider, 5) == outcomes(MockProvider(seed=7), 6)[1:]


def test_backend_setting_builds_a_provider_under_another_name(settings: Any) -> None:
    settings.SESSIONS_APP = {
        "PROVIDERS": {"local": {"BACKEND": MOCK_PATH, "OPTIONS": {"error_rate": 1}}}
    }
    provider = get_provider("local")
    assert isinstance(provider, MockProvider)
    assert provider.name == "local"
    with pytest.raises(ProviderError) as caught:
        provider.complete(make_request())
    assert caught.value.provider == "local"


def test_unknown_provider(settings: Any) -> None:
    settings.SESSIONS_APP = {"PROVIDERS": {"mock": {}}}
    with pytest.raises(ConfigurationError) as caught:
        get_provider("nope")
    assert caught.value.error_code == "unknown_provider"
    assert "nope" in str(caught.value)


def test_unknown_default_provider(settings: Any) -> None:
    settings.SESSIONS_APP = {"DEFAULT_PROVIDER": "ghost", "PROVIDERS": {"mock": {}}}
    with pytest.raises(ConfigurationError) as caught:
        get_provider()
    assert caught.value.error_code == "unknown_provider"


def test_invalid_options_in_settings_fail_when_built(settings: Any) -> None:
    settings.SESSIONS_APP = {"PROVIDERS": {"mock": {"OPTIONS": {"error_rate": 2}}}}
    with pytest.raises(ConfigurationError, match="error_rate"):
        get_provider("mock")


def test_unimportable_backend(settings: Any) -> None:
    settings.SESSIONS_APP = {"PROVIDERS": {"x": {"BACKEND": "sessions_app.providers.nope.X"}}}
    with pytest.raises(ConfigurationError, match="cannot be imported"):
        get_provider("x")


def test_register_an_instance(settings: Any) -> None:
    settings.SESSIONS_APP = {"PROVIDERS": {"mock": {}}}
    instance = MockProvider(name="custom", response_pattern="custom: {input}")
    assert register_provider("custom", instance) is instance
    assert get_provider("custom") is instance
    assert available_providers() == ["custom", "mock"]


def test_register_a_class_with_options() -> None:
    provider = register_provider("classy", MockProvider, response_pattern="classy {input}")
    assert isinstance(provider, MockProvider)
    assert provider.name == "classy"
    assert get_provider("classy") is provider
    assert provider.complete(make_request("x")).text == "classy x"


def test_register_a_dotted_path_with_options() -> None:
    provider = register_provider("dotted", MOCK_PATH, DEFAULT_MODEL="mock-9", seed=3)
    assert isinstance(provider, MockProvider)
    assert get_provider("dotted") is provider
    assert provider.default_model == "mock-9"
    assert outcomes(provider, 3) == outcomes(MockProvider(seed=3), 3)


def test_registered_provider_wins_over_settings_and_survives_reset(settings: Any) -> None:
    settings.SESSIONS_APP = {"PROVIDERS": {"mock": {}}}
    replacement = MockProvider(response_pattern="replaced")
    register_provider("mock", replacement)
    reset_providers()
    assert get_provider("mock") is replacement
    assert available_providers() == ["mock"]


def test_available_providers_lists_settings_and_registrations(settings: Any) -> None:
    settings.SESSIONS_APP = {"PROVIDERS": {"mock": {}, "local": {"BACKEND": MOCK_PATH}}}
    assert available_providers() == ["local", "mock"]
    register_provider("extra", MockProvider())
    assert available_providers() == ["extra", "local", "mock"]


def test_settings_change_rebuilds_the_provider(settings: Any) -> None:
    settings.SESSIONS_APP = {"PROVIDERS": {"mock": {"OPTIONS": {"response_pattern": "A {input}"}}}}
    before = get_provider("mock")
    assert before.complete(make_request("x")).text == "A x"
    settings.SESSIONS_APP = {"PROVIDERS": {"mock": {"OPTIONS": {"response_pattern": "B {input}"}}}}
    after = get_provider("mock")
    assert after is not before
    assert after.complete(make_request("x")).text == "B x"


def test_reset_providers_forgets_built_instances(settings: Any) -> None:
    settings.SESSIONS_APP = {"PROVIDERS": {"mock": {}}}
    before = get_provider("mock")
    assert get_provider("mock") is before
    reset_providers()
    assert get_provider("mock") is not before


def test_unregister_provider_falls_back_to_settings(settings: Any) -> None:
    settings.SESSIONS_APP = {"PROVIDERS": {"mock": {}}}
    replacement = MockProvider(response_pattern="replaced")
    register_provider("mock", replacement)
    unregister_provider("mock")
    rebuilt = get_provider("mock")
    assert rebuilt is not replacement
    assert rebuilt.complete(make_request("x")).text == "Mock response to: x"


def test_backend_rejecting_its_options_is_a_configuration_error(settings: Any) -> None:
    settings.SESSIONS_APP = {
        "PROVIDERS": {"odd": {"BACKEND": "sessions_app.providers.base.ChatMessage"}},
    }
    with pytest.raises(ConfigurationError, match="Invalid options"):
        get_provider("odd")


# -- per-session options (a session's provider_config, sent as the request's options) -------------


def with_options(options: dict[str, Any], content: str = "hello") -> CompletionRequest:
    return CompletionRequest(
        model="mock-model", messages=[ChatMessage("user", content)], options=options
    )


def test_session_options_override_the_instance_for_that_request_only() -> None:
    provider = MockProvider(response_pattern="instance: {input}")
    assert provider.complete(with_options({"response_pattern": "custom: {input}"})).text == (
        "custom: hello"
    )
    assert provider.complete(with_options({})).text == "instance: hello"
    with pytest.raises(ProviderError):
        provider.complete(with_options({"error_rate": 1}))
    assert provider.complete(with_options({"temperature": 0.2})).text == "instance: hello"


@pytest.mark.parametrize(
    "options", [{"delay_ms": 60}, {"delay": 0.06}, {"delay_ms": 60, "delay": 9}]
)
def test_session_delay_in_seconds_or_milliseconds(options: dict[str, Any]) -> None:
    assert 0.055 <= elapsed(lambda: MockProvider().complete(with_options(options))) < 2


def test_an_invalid_session_option_fails_the_call_not_the_instance() -> None:
    provider = MockProvider()
    with pytest.raises(ProviderError, match="error_rate") as caught:
        provider.complete(with_options({"error_rate": 7}))
    assert (caught.value.retryable, caught.value.status_code) == (False, 400)
    assert provider.complete(with_options({})).text == "Mock response to: hello"


def test_the_mock_accepts_an_api_key_and_never_shows_it(caplog: pytest.LogCaptureFixture) -> None:
    provider = MockProvider(name="openai", api_key="sk-secret-123")
    shown = [repr(provider), str(provider.capabilities()), str(vars(provider)), caplog.text]
    assert not any("sk-secret-123" in text for text in shown)
    assert provider.complete(make_request("hi")).text == "Mock response to: hi"


@pytest.mark.parametrize(
    "options", [{"MODELS": "one"}, {"DEFAULT_MODEL": "big", "MODELS": ["small"]}]
)
def test_check_reports_invalid_model_settings(settings: Any, options: dict[str, Any]) -> None:
    from sessions_app.checks import check_settings

    settings.SESSIONS_APP = {"PROVIDERS": {"mock": options}}
    [error] = check_settings()
    assert error.id == "sessions_app.E013" and "MODELS" in error.msg
