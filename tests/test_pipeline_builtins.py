"""Built-in message middleware: PII redaction, logging, metrics and rate limiting."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache.backends.locmem import LocMemCache

from sessions_app.exceptions import ConfigurationError, RateLimitExceeded
from sessions_app.pipeline import (
    LoggingMiddleware,
    MetricsMiddleware,
    PIIRedactionMiddleware,
    PipelineMessage,
    RateLimitMiddleware,
    SecurityMiddleware,
    redact_pii,
)
from sessions_app.pipeline.redaction import luhn_valid

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EMAIL, PHONE = "[REDACTED_EMAIL]", "[REDACTED_PHONE]"
CARD, SSN = "[REDACTED_CARD]", "[REDACTED_SSN]"


def msg(
    content: str = "hello",
    *,
    session_id: str = "s-1",
    role: str = "user",
    direction: str = "incoming",
    metadata: dict[str, Any] | None = None,
) -> PipelineMessage:
    return PipelineMessage(
        session_id=session_id,
        role=role,
        content=content,
        direction=direction,
        metadata=metadata if metadata is not None else {},
    )


# --- redaction: one table per kind -------------------------------------------------------

POSITIVES: list[tuple[str, str, str, dict[str, int]]] = [
    # (kind, text, expected text, expected counts)
    ("email", "mail jane.doe@example.com now", f"mail {EMAIL} now", {"email": 1}),
    ("email", "john+tag@sub.example.co.uk.", f"{EMAIL}.", {"email": 1}),
    ("email", "<UPPER_CASE@EXAMPLE.ORG>", f"<{EMAIL}>", {"email": 1}),
    ("email", "a@b.io, x-y@ex-ample.dev", f"{EMAIL}, {EMAIL}", {"email": 2}),
    ("email", "mailto:ops@example.com", f"mailto:{EMAIL}", {"email": 1}),
    ("phone", "call (555) 123-4567", f"call {PHONE}", {"phone": 1}),
    ("phone", "call 555-123-4567 today", f"call {PHONE} today", {"phone": 1}),
    ("phone", "555.123.4567", PHONE, {"phone": 1}),
    ("phone", "(555)123-4567", PHONE, {"phone": 1}),
    ("phone", "1-800-555-0199", PHONE, {"phone": 1}),
    ("phone", "+1 555 123 4567", PHONE, {"phone": 1}),
    ("phone", "+1 (555) 123-4567", PHONE, {"phone": 1}),
    ("phone", "+15551234567", PHONE, {"phone": 1}),
    ("phone", "London: +44 20 7946 0958.", f"London: {PHONE}.", {"phone": 1}),
    ("phone", "+44 (0)20 7946 0958", PHONE, {"phone": 1}),
    ("phone", "+33 1 23 45 67 89", PHONE, {"phone": 1}),
    ("phone", "+49-30-1234567", PHONE, {"phone": 1}),
    ("phone", "555-123-4567 or 555-987-6543", f"{PHONE} or {PHONE}", {"phone": 2}),
    ("card", "4111 1111 1111 1111", CARD, {"card": 1}),
    ("card", "card 4111111111111111!", f"card {CARD}!", {"card": 1}),
    ("card", "5555-5555-5555-4444", CARD, {"card": 1}),
    ("card", "amex 3782 822463 10005", f"amex {CARD}", {"card": 1}),
    ("card", "4222222222222", CARD, {"card": 1}),  # 13 digits
    ("card", "6011 0009 9013 9424", CARD, {"card": 1}),
    # An expiry date right after the number must not hide the card.
    ("card", "4111 1111 1111 1111 12/27", f"{CARD} 12/27", {"card": 1}),
    ("card", "4111111111111111 5555555555554444", f"{CARD} {CARD}", {"card": 2}),
    ("ssn", "SSN 123-45-6789.", f"SSN {SSN}.", {"ssn": 1}),
    ("ssn", "078-05-1120", SSN, {"ssn": 1}),
    ("ssn", "665-01-0001", SSN, {"ssn": 1}),
]

NEGATIVES: list[tuple[str, str]] = [
    # (kind it might be mistaken for, text that must stay as it is)
    ("email", "user@localhost"),
    ("email", "ping @alice about it"),
    ("email", "a@b"),
    ("email", "name at example dot com"),
    ("phone", "call 911"),
    ("phone", "in 2024 it cost $1,299.99"),
    ("phone", "due 2024-01-15T10:30:00Z"),
    ("phone", "order 1234567890"),
    ("phone", "order #A-55512-3456"),
    ("phone", "ref 12345-67890"),
    ("phone", "version 10.2.3, build 4567"),
    ("phone", "1+1 = 2, +5 points"),
    ("phone", "+1 555"),
    ("phone", "123-456-7890"),  # no North-American area code starts with 1
    ("phone", "3.14159 2.71828"),
    ("card", "4111 1111 1111 1112"),  # fails Luhn
    ("card", "4111111111111112"),
    ("card", "1234 5678 9012 3456"),
    ("card", "411111111111"),  # 12 digits, Luhn-valid, too short
    ("card", "41111111111111111111"),  # 20 digits: an id, not a card
    ("card", "tracking 1Z999AA10123456784"),
    ("ssn", "000-12-3456"),
    ("ssn", "666-12-3456"),
    ("ssn", "900-12-3456"),
    ("ssn", "123-00-4567"),
    ("ssn", "123-45-0000"),
    ("ssn", "123456789"),
    ("ssn", "123-45-67890"),
    ("ssn", "2024-12-31"),
    ("any", ""),
    ("any", "Nothing to see here."),
]


@pytest.mark.parametrize(("kind", "text", "expected", "counts"), POSITIVES)
def test_redacts(kind: str, text: str, expected: str, counts: dict[str, int]) -> None:
    assert redact_pii(text) == (expected, counts)


@pytest.mark.parametrize(("kind", "text"), NEGATIVES)
def test_leaves_alone(kind: str, text: str) -> None:
    assert redact_pii(text) == (text, {})


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4111111111111111", True),
        ("4111111111111112", False),
        ("378282246310005", True),
        ("79927398713", True),
        ("79927398710", False),
        ("0", True),
    ],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


def test_mixed_text_counts_every_kind() -> None:
    text = (
        "Hi, I'm jane@example.com (backup: j.doe@example.org). SSN 123-45-6789, "
        "card 4111 1111 1111 1111 exp 12/27, not 4111 1111 1111 1112. "
        "Call +44 20 7946 0958 or (555) 123-4567. Order 1234567 on 2024-01-15 cost $42.50."
    )
    redacted, counts = redact_pii(text)
    assert redacted == (
        f"Hi, I'm {EMAIL} (backup: {EMAIL}). SSN {SSN}, "
        f"card {CARD} exp 12/27, not 4111 1111 1111 1112. "
        f"Call {PHONE} or {PHONE}. Order 1234567 on 2024-01-15 cost $42.50."
    )
    assert counts == {"email": 2, "ssn": 1, "card": 1, "phone": 2}


def test_card_is_not_half_eaten_as_a_phone() -> None:
    assert redact_pii("pay 5555 5555 5555 4444 now") == (f"pay {CARD} now", {"card": 1})
    assert redact_pii("pay 5555 5555 5555 4444 now", kinds=["phone"]) == (
        "pay 5555 5555 5555 4444 now",
        {},
    )


def test_digits_inside_an_email_stay_with_the_email() -> None:
    assert redact_pii("5551234567@sms.example.com") == (EMAIL, {"email": 1})


def test_kinds_restrict_what_is_redacted() -> None:
    text = "a@b.io 123-45-6789"
    assert redact_pii(text, kinds=["ssn"]) == (f"a@b.io {SSN}", {"ssn": 1})
    assert redact_pii(text, kinds=[]) == (text, {})


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="passport"):
        redact_pii("x", kinds=["email", "passport"])
    with pytest.raises(ConfigurationError):
        SecurityMiddleware(kinds=["passport"])


def test_long_adversarial_input_is_fast() -> None:
    texts = ["a" * 50_000 + "@", "1 " * 20_000, "+1 " * 20_000, "a@" + "a." * 25_000]
    started = time.perf_counter()
    for text in texts:
        redact_pii(text)
    assert time.perf_counter() - started < 2


# --- SecurityMiddleware ------------------------------------------------------------------


@pytest.mark.parametrize(("direction", "role"), [("incoming", "user"), ("outgoing", "assistant")])
def test_security_middleware_redacts_both_directions(direction: str, role: str) -> None:
    caller_metadata = {"source": "web"}
    message = msg("write to a@b.io", direction=direction, role=role, metadata=caller_metadata)
    out = SecurityMiddleware().process(message)
    assert out.content == f"write to {EMAIL}"
    assert out.metadata == {"source": "web", "redactions": {"email": 1}}
    assert caller_metadata == {"source": "web"}


def test_security_middleware_adds_no_metadata_when_nothing_is_redacted() -> None:
    out = SecurityMiddleware().process(msg("nothing here 2024"))
    assert out.content == "nothing here 2024"
    assert "redactions" not in out.metadata


def test_security_middleware_kinds() -> None:
    out = SecurityMiddleware(kinds=["card"]).process(msg("a@b.io 4111111111111111"))
    assert out.content == f"a@b.io {CARD}"
    assert out.metadata["redactions"] == {"card": 1}


def test_pii_redaction_middleware_is_an_alias() -> None:
    assert PIIRedactionMiddleware is SecurityMiddleware


# --- LoggingMiddleware -------------------------------------------------------------------


def test_logging_logs_one_line_without_content_or_metadata(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="sessions_app.messages")
    secret_content = "my password is hunter2-XYZZY"
    secret_meta = "sk-live-SECRET-0123456789"
    middleware = LoggingMiddleware()
    message = msg(
        secret_content,
        session_id="0b5c7f0e-aaaa-bbbb-cccc-000000000001",
        metadata={"api_key": secret_meta, "nested": {"token": secret_meta}},
    )

    out = middleware.process(message)

    assert out is message
    assert out.content == secret_content
    [record] = [r for r in caplog.records if r.name == "sessions_app.messages"]
    assert record.levelno == logging.INFO
    line = record.getMessage()
    assert "0b5c7f0e-aaaa-bbbb-cccc-000000000001" in line
    assert "role=user" in line
    assert "direction=incoming" in line
    assert f"chars={len(secret_content)}" in line
    everything = caplog.text + repr(vars(record))
    assert "hunter2" not in everything
    assert secret_meta not in everything
    assert "api_key" not in everything


def test_logging_outgoing_and_level(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="sessions_app.messages")
    LoggingMiddleware(level="debug").process(msg("reply", role="assistant", direction="outgoing"))
    [record] = [r for r in caplog.records if r.name == "sessions_app.messages"]
    assert record.levelno == logging.DEBUG
    assert "role=assistant direction=outgoing chars=5" in record.getMessage()
    assert record.char_count == 5  # type: ignore[attr-defined]


def test_logging_unknown_level_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        LoggingMiddleware(level="LOUD")


# --- MetricsMiddleware -------------------------------------------------------------------


def test_metrics_adds_counts_to_metadata() -> None:
    caller_metadata = {"keep": True}
    out = MetricsMiddleware().process(msg("  Hello there,\nworld  ", metadata=caller_metadata))
    assert out.metadata == {"keep": True, "char_count": 22, "word_count": 3}
    assert caller_metadata == {"keep": True}


def test_metrics_snapshot_totals_per_role() -> None:
    metrics = MetricsMiddleware()
    assert metrics.snapshot() == {}
    metrics.process(msg("one two"))
    metrics.process(msg("three"))
    metrics.process(msg("a reply here", role="assistant", direction="outgoing"))
    metrics.process(msg("", role="system"))

    snapshot = metrics.snapshot()

    assert snapshot == {
        "user": {"messages": 2, "chars": 12, "words": 3},
        "assistant": {"messages": 1, "chars": 12, "words": 3},
        "system": {"messages": 1, "chars": 0, "words": 0},
    }
    snapshot["user"]["messages"] = 999
    assert metrics.snapshot()["user"]["messages"] == 2
    metrics.reset()
    assert metrics.snapshot() == {}


def test_metrics_totals_are_thread_safe() -> None:
    metrics = MetricsMiddleware()
    threads, per_thread = 8, 500

    def send() -> None:
        for _ in range(per_thread):
            metrics.process(msg("ab cd"))

    workers = [threading.Thread(target=send) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    total = threads * per_thread
    assert metrics.snapshot() == {
        "user": {"messages": total, "chars": 5 * total, "words": 2 * total}
    }


# --- RateLimitMiddleware -----------------------------------------------------------------


class FakeClock:
    def __init__(self, now: float = 1_000_000.25) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ExpiresBeforeIncrCache(LocMemCache):
    """Loses the key right after its first add(), as if it expired before incr()."""

    expired_once = False

    def add(self, key: str, value: Any, timeout: Any = None, version: int | None = None) -> bool:
        added = super().add(key, value, timeout, version)
        if not ExpiresBeforeIncrCache.expired_once:
            ExpiresBeforeIncrCache.expired_once = True
            self.delete(key, version)
        return added


@pytest.fixture
def no_shared_cache(settings: Any) -> None:
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "CACHE_ALIAS": None}


def send(middleware: RateLimitMiddleware, count: int, session_id: str = "s-1") -> int:
    """How many of ``count`` incoming messages the middleware accepts."""
    accepted = 0
    for _ in range(count):
        try:
            middleware.process(msg(session_id=session_id))
        except RateLimitExceeded:
            continue
        accepted += 1
    return accepted


@pytest.mark.usefixtures("no_shared_cache")
def test_rate_limit_in_process() -> None:
    clock = FakeClock(1_000_000.25)
    limiter = RateLimitMiddleware(max_messages=3, period=10, clock=clock)
    assert send(limiter, 3) == 3

    with pytest.raises(RateLimitExceeded) as caught:
        limiter.process(msg(session_id="s-1"))

    error = caught.value
    assert error.retry_after == pytest.approx(9.75)
    assert error.session_id == "s-1"
    assert error.error_code == "rate_limited"
    assert error.details == {"limit": 3, "period": 10}


@pytest.mark.usefixtures("no_shared_cache")
def test_rate_limit_window_resets() -> None:
    clock = FakeClock(1_000_000.0)
    limiter = RateLimitMiddleware(max_messages=2, period=10, clock=clock)
    assert send(limiter, 5) == 2
    clock.now += 9.9
    assert send(limiter, 1) == 0
    clock.now += 0.1
    assert send(limiter, 5) == 2


@pytest.mark.usefixtures("no_shared_cache")
def test_rate_limit_window_resets_in_real_time() -> None:
    period = 0.5
    time.sleep(period - time.time() % period)  # start at a window boundary
    limiter = RateLimitMiddleware(max_messages=2, period=period)
    assert send(limiter, 3) == 2
    with pytest.raises(RateLimitExceeded) as caught:
        limiter.process(msg())
    assert 0 < caught.value.retry_after <= period
    time.sleep(caught.value.retry_after + 0.02)
    assert send(limiter, 1) == 1


@pytest.mark.usefixtures("no_shared_cache")
def test_rate_limit_counts_sessions_separately() -> None:
    limiter = RateLimitMiddleware(max_messages=2, period=60, clock=FakeClock())
    assert send(limiter, 3, session_id="a") == 2
    assert send(limiter, 3, session_id="b") == 2
    assert send(limiter, 1, session_id="a") == 0


@pytest.mark.usefixtures("no_shared_cache")
def test_rate_limit_ignores_outgoing_messages() -> None:
    limiter = RateLimitMiddleware(max_messages=1, period=60, clock=FakeClock())
    for _ in range(5):
        limiter.process(msg(direction="outgoing", role="assistant"))
    assert send(limiter, 2) == 1


@pytest.mark.usefixtures("no_shared_cache")
def test_rate_limit_private_caches_are_per_instance() -> None:
    clock = FakeClock()
    first = RateLimitMiddleware(max_messages=1, period=60, clock=clock)
    second = RateLimitMiddleware(max_messages=1, period=60, clock=clock)
    assert send(first, 1) == 1
    assert send(second, 1) == 1


@pytest.mark.usefixtures("no_shared_cache")
def test_rate_limit_local_cache_keeps_counts_for_many_sessions() -> None:
    clock = FakeClock()
    limiter = RateLimitMiddleware(max_messages=1, period=60, clock=clock)
    sessions = [f"s-{n}" for n in range(1000)]
    assert sum(send(limiter, 1, session_id=s) for s in sessions) == 1000
    assert sum(send(limiter, 1, session_id=s) for s in sessions) == 0


@pytest.mark.usefixtures("no_shared_cache")
@pytest.mark.parametrize("session_id", ["with space", "tab\tand\nnewline", "x" * 500, "ü-ñ"])
def test_rate_limit_accepts_any_session_id_as_key(session_id: str) -> None:
    # A CacheKeyWarning would fail the test (pyproject turns RuntimeWarnings into errors).
    limiter = RateLimitMiddleware(max_messages=1, period=60, clock=FakeClock())
    assert send(limiter, 2, session_id=session_id) == 1


def test_rate_limit_uses_the_configured_cache_alias(settings: Any) -> None:
    location = f"ratelimit-{uuid.uuid4().hex}"
    settings.CACHES = {
        **settings.CACHES,
        "limits": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": location,
        },
    }
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "CACHE_ALIAS": "limits"}
    clock = FakeClock()
    # Two instances share the alias's storage, as two processes would share Redis.
    assert send(RateLimitMiddleware(max_messages=3, period=60, clock=clock), 2) == 2
    assert send(RateLimitMiddleware(max_messages=3, period=60, clock=clock), 2) == 1


def test_rate_limit_explicit_alias_wins(settings: Any) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "explicit": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "e"},
    }
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "CACHE_ALIAS": "missing"}
    limiter = RateLimitMiddleware(
        max_messages=1, period=60, cache_alias="explicit", key_prefix=f"test-{uuid.uuid4().hex}"
    )
    assert send(limiter, 2) == 1


def test_rate_limit_unknown_alias_is_a_configuration_error() -> None:
    limiter = RateLimitMiddleware(cache_alias="no-such-cache")
    with pytest.raises(ConfigurationError):
        limiter.process(msg())


@pytest.mark.parametrize("kwargs", [{"max_messages": 0}, {"period": 0}, {"period": -1}])
def test_rate_limit_refuses_bad_configuration(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        RateLimitMiddleware(**kwargs)


def test_rate_limit_survives_key_expiring_between_add_and_incr(settings: Any) -> None:
    ExpiresBeforeIncrCache.expired_once = False
    settings.CACHES = {
        **settings.CACHES,
        "flaky": {
            "BACKEND": f"{__name__}.ExpiresBeforeIncrCache",
            "LOCATION": f"flaky-{uuid.uuid4().hex}",
        },
    }
    limiter = RateLimitMiddleware(max_messages=2, period=60, cache_alias="flaky", clock=FakeClock())
    assert send(limiter, 4) == 2
    assert ExpiresBeforeIncrCache.expired_once


def test_rate_limit_fails_open_when_the_cache_is_down(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "down": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        },
    }
    caplog.set_level(logging.WARNING, logger="sessions_app.cache")
    limiter = RateLimitMiddleware(max_messages=1, period=60, cache_alias="down")

    assert send(limiter, 3) == 3

    # One warning per outage, not one per message (sessions_app.cache_outages).
    [warning] = [r for r in caplog.records if r.name == "sessions_app.cache"]
    assert warning.levelno == logging.WARNING
    assert "'down' failed" in warning.getMessage()


# --- RateLimitMiddleware on a real Redis -------------------------------------------------


@pytest.fixture
def redis_cache(settings: Any, redis_url: str) -> Iterator[dict[str, Any]]:
    """A django-redis cache "shared" under a key prefix unique to this test; emptied after."""
    import redis

    prefix = f"test-ratelimit-{uuid.uuid4().hex}"
    config = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": redis_url,
        "KEY_PREFIX": prefix,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
    }
    settings.CACHES = {**settings.CACHES, "shared": config}
    yield config
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"*{prefix}*"))
    if keys:
        client.delete(*keys)


@pytest.mark.redis
def test_rate_limit_on_redis_in_process(redis_cache: dict[str, Any]) -> None:
    clock = FakeClock(2_000_000.0)
    limiter = RateLimitMiddleware(max_messages=2, period=30, cache_alias="shared", clock=clock)
    assert send(limiter, 3, session_id="a") == 2
    assert send(limiter, 1, session_id="b") == 1
    clock.now += 30
    assert send(limiter, 3, session_id="a") == 2


CHILD = """
import json, os, time
import django
django.setup()
from sessions_app.exceptions import RateLimitExceeded
from sessions_app.pipeline import PipelineMessage, RateLimitMiddleware

now = float(os.environ["RL_NOW"])
limiter = RateLimitMiddleware(
    max_messages=int(os.environ["RL_LIMIT"]), period=3600, cache_alias="shared",
    clock=lambda: now,
)
time.sleep(max(0.0, float(os.environ["RL_START_AT"]) - time.time()))
accepted = 0
for _ in range(int(os.environ["RL_SENDS"])):
    message = PipelineMessage(session_id=os.environ["RL_SESSION"], role="user", content="hi")
    try:
        limiter.process(message)
        accepted += 1
    except RateLimitExceeded:
        pass
print(json.dumps({"pid": os.getpid(), "accepted": accepted}))
"""


@pytest.mark.redis
def test_rate_limit_is_shared_across_processes(redis_cache: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "ratelimit_child_settings.py").write_text(
        "from project.settings import *  # noqa: F403\n"
        f"CACHES = {{**CACHES, 'shared': {redis_cache!r}}}  # noqa: F405\n"
    )
    # Pinning the clock keeps both processes in one window even across a boundary.
    now = time.time()
    session_id = f"shared-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ratelimit_child_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(PROJECT_ROOT)]),
        "RL_NOW": repr(now),
        "RL_LIMIT": "5",
        "RL_SENDS": "4",
        "RL_SESSION": session_id,
        "RL_START_AT": repr(now + 1.5),  # both start sending at about the same moment
    }
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for child in children:
        stdout, stderr = child.communicate(timeout=60)
        assert child.returncode == 0, stderr
        results.append(json.loads(stdout.strip().splitlines()[-1]))

    assert len({r["pid"] for r in results} | {os.getpid()}) == 3
    assert sum(r["accepted"] for r in results) == 5
    # This process shares the same count: the window is full for it too.
    limiter = RateLimitMiddleware(
        max_messages=5, period=3600, cache_alias="shared", clock=FakeClock(now)
    )
    assert send(limiter, 1, session_id=session_id) == 0


# --- the documents' names and defaults --------------------------------------------------------


def test_middleware_names_default_to_the_class_name() -> None:
    assert LoggingMiddleware().name == "LoggingMiddleware"
    renamed = SecurityMiddleware()
    renamed.name = "pii"
    assert renamed.name == "pii" and SecurityMiddleware().name == "SecurityMiddleware"


def test_logging_level_by_either_name() -> None:
    assert LoggingMiddleware(log_level="debug").level == logging.DEBUG
    assert LoggingMiddleware(level=logging.WARNING).log_level == "WARNING"
    assert LoggingMiddleware().log_level == "INFO"


def test_credit_card_is_the_documents_name_of_card() -> None:
    text = "pay with 4111 1111 1111 1111"
    assert redact_pii(text, ["credit_card"]) == redact_pii(text, ["card"])
    assert SecurityMiddleware(filters=["credit_card"]).kinds == ("card",)


def test_rate_limit_defaults_to_sixty_a_minute() -> None:
    default = RateLimitMiddleware()
    assert (default.max_messages, default.period, default.messages_per_minute) == (60, 60, 60)
    assert RateLimitMiddleware(10, period=30).messages_per_minute == 20
    with pytest.raises(ConfigurationError):
        RateLimitMiddleware(messages_per_minute=0)
