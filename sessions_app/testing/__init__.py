"""Test helpers that ship with the app: a fake OpenAI/Anthropic server on 127.0.0.1."""

from sessions_app.testing.fake_llm import (
    FakeLLMServer,
    RecordedRequest,
    Step,
    Usage,
    answers_as,
    auth_failure,
    delayed,
    fail,
    rate_limited,
    slow_stream,
    stream_drop,
    stream_error,
)

__all__ = [
    "FakeLLMServer",
    "RecordedRequest",
    "Step",
    "Usage",
    "answers_as",
    "auth_failure",
    "delayed",
    "fail",
    "rate_limited",
    "slow_stream",
    "stream_drop",
    "stream_error",
]
