"""What the OpenAI and Anthropic adapters share: client options, lazy clients, a call deadline
that caps the SDKs' retries, and one mapping of SDK errors to ``ProviderError``.

Both SDKs (Stainless-generated) sit on ``httpx2`` and retry 408/409/429/5xx and connection
errors on their own, honouring ``Retry-After`` (Anthropic without any cap). ``SDKClients``
builds each client with two ``httpx2`` event hooks that know the current call's deadline (a
context variable set by ``SDKClients.deadline()``): the request hook shrinks each attempt's
timeouts to what is left, the response hook adds ``x-should-retry: false`` (a header both SDKs
obey) when the wait before the next attempt would pass the deadline, so the SDK raises at once.
A transport wrapper does the same after a connection failure (no response to mark): it raises
the adapter's ``FinalAttempt`` error, which the SDK passes on unretried and which maps to the
real failure (a refused connection is ``unavailable``), never to a made-up status.

While a stream is read, ``timeout`` bounds each wait for data, not the whole reply: a long
reply that keeps sending may take longer overall.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import email.utils
import logging
import math
import os
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

import httpx2

from sessions_app.exceptions import ConfigurationError, ProviderError

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2
CLIENT_OPTION_NAMES = frozenset(
    {"api_key", "base_url", "timeout", "max_retries", "http_client", "async_http_client"}
)
# The SDKs' own backoff: 0.5 s doubled per retry, at most 8 s (jitter only shortens it).
_INITIAL_RETRY_DELAY = 0.5
_MAX_RETRY_DELAY = 8.0
_RETRIED_STATUSES = frozenset({408, 409, 429})
_SECRET_PATTERN = re.compile(r"\b(?:sk|key)-[A-Za-z0-9_\-]{6,}|\bBearer\s+\S+", re.IGNORECASE)
_MAX_MESSAGE = 500
# OpenAI's limits on an object's metadata (conversations); one pair is our session id.
MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512
# No current model writes more in one reply; a larger limit is a mistake that would only
# come back later as the provider's 400.
MAX_OUTPUT_TOKENS = 128_000
CONNECTION_FAILED = "connection to the provider failed"
_HOOKS_MARKER = "_sessions_app_deadline_hooks"
logger = logging.getLogger(__name__)

SyncClient = TypeVar("SyncClient")
AsyncClient = TypeVar("AsyncClient")


class FinalAttempt(Exception):
    """Raised from an attempt that may not be retried (the deadline passed or would pass
    during the SDK's backoff); ``cause`` is the attempt's real failure (None: no attempt).

    Each adapter mixes it into its SDK's base error (which the SDK re-raises unretried)."""

    def __init__(self, request: httpx2.Request, cause: BaseException | None = None) -> None:
        super().__init__("The call's deadline passed.")
        self.request = request
        self.cause = cause


FinalError = Callable[[httpx2.Request, BaseException | None], Exception]


@dataclass(frozen=True)
class _Deadline:
    at: float
    final_error: FinalError | None


_deadline: contextvars.ContextVar[_Deadline | None] = contextvars.ContextVar(
    "sessions_app_provider_deadline", default=None
)


@dataclass(frozen=True)
class ClientOptions:
    """The options every SDK client takes; ``api_key`` is None when none is configured."""

    api_key: str | None = None
    base_url: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    http_client: httpx2.Client | None = None
    async_http_client: httpx2.AsyncClient | None = None

    def __repr__(self) -> str:
        # Never the key.
        return f"ClientOptions(base_url={self.base_url!r}, timeout={self.timeout})"

    @property
    def configured(self) -> bool:
        return bool(self.api_key)


def client_options(
    options: Mapping[str, Any], *, env_key: str, env_base_url: str, vendor_host: str
) -> ClientOptions:
    """``ClientOptions`` from a provider's OPTIONS; ``ConfigurationError`` names a bad option.

    Without ``api_key`` the ``env_key`` variable is used, but only for the vendor's own API or
    the ``env_base_url`` variable's server: a compatible server of one's own (Ollama, a proxy)
    must never receive the vendor's key by accident.
    """
    base_url = _optional_str(options, "base_url") or None
    api_key = _optional_str(options, "api_key") or None
    if api_key is None and env_key_applies(base_url, env_base_url, vendor_host):
        api_key = os.environ.get(env_key) or None
    return ClientOptions(
        api_key=api_key,
        base_url=base_url,
        timeout=_timeout(options.get("timeout", DEFAULT_TIMEOUT)),
        max_retries=_max_retries(options.get("max_retries", DEFAULT_MAX_RETRIES)),
        http_client=_instance(options, "http_client", httpx2.Client),
        async_http_client=_instance(options, "async_http_client", httpx2.AsyncClient),
    )


def env_key_applies(base_url: str | None, env_base_url: str, vendor_host: str) -> bool:
    if base_url is None or base_url.rstrip("/") == os.environ.get(env_base_url, "").rstrip("/"):
        return True
    return urlsplit(base_url).hostname == vendor_host


def _optional_str(options: Mapping[str, Any], name: str) -> str | None:
    return optional_string(options.get(name), f"Provider option {name!r}")


# -- option validators the adapters share (``what`` names the option in the message) --------


def flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{what} must be true or false.")
    return value


def positive_int(value: Any, what: str, *, maximum: int = MAX_OUTPUT_TOKENS) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ConfigurationError(f"{what} must be an integer from 1 to {maximum}.")
    return int(value)


def optional_positive_int(value: Any, what: str, *, maximum: int = MAX_OUTPUT_TOKENS) -> int | None:
    return None if value is None else positive_int(value, what, maximum=maximum)


def optional_string(value: Any, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(f"{what} must be a string.")
    return value


def metadata_problem(value: Any, *, pairs: int = MAX_METADATA_PAIRS - 1) -> str | None:
    """Why OpenAI would refuse ``value`` as metadata (None: it would not): a mapping of at
    most ``pairs`` names of 1 to 64 characters to strings of at most 512."""
    if not isinstance(value, dict) or len(value) > pairs:
        return f"must map at most {pairs} names to strings"
    for key, item in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_METADATA_KEY:
            return f"names must be strings of 1 to {MAX_METADATA_KEY} characters"
        if not isinstance(item, str) or len(item) > MAX_METADATA_VALUE:
            return f"values must be strings of at most {MAX_METADATA_VALUE} characters"
    return None


def _timeout(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigurationError("Provider option 'timeout' must be a positive number of seconds.")
    if not math.isfinite(value):
        raise ConfigurationError("Provider option 'timeout' must be finite.")
    return float(value)


def _max_retries(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError("Provider option 'max_retries' must be an integer >= 0.")
    return int(value)


def _instance(options: Mapping[str, Any], name: str, cls: type[Any]) -> Any:
    value = options.get(name)
    if value is not None and not isinstance(value, cls):
        raise ConfigurationError(
            f"Provider option {name!r} must be an {cls.__module__}.{cls.__name__}."
        )
    return value


# -- the call deadline ---------------------------------------------------------------------


@contextlib.contextmanager
def call_deadline(seconds: float, final_error: FinalError | None = None) -> Iterator[None]:
    """Within this block, SDK calls (all their retries) end by ``seconds`` from now;
    ``final_error(request, cause)`` is the SDK error that ends a call at the deadline."""
    current = _deadline.get()
    at = time.monotonic() + seconds
    if current is not None:
        at = min(current.at, at)
        final_error = final_error or current.final_error
    token = _deadline.set(_Deadline(at, final_error))
    try:
        yield
    finally:
        _deadline.reset(token)


def _remaining() -> float | None:
    deadline = _deadline.get()
    return None if deadline is None else deadline.at - time.monotonic()


def retry_after_seconds(headers: httpx2.Headers) -> float | None:
    """The wait a response asks for (``retry-after-ms``, ``retry-after`` seconds or date)."""
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        return max(0.0, seconds) if math.isfinite(seconds) else None
    parsed = email.utils.parsedate_tz(headers.get("retry-after") or "")
    return None if parsed is None else max(0.0, email.utils.mktime_tz(parsed) - time.time())


def _next_wait(request: httpx2.Request, response: httpx2.Response | None = None) -> float:
    """How long the SDK would sleep before retrying (the upper bound)."""
    retry_after = retry_after_seconds(response.headers) if response is not None else None
    if retry_after is not None and retry_after > 0:
        return retry_after
    retries_taken = request.headers.get("x-stainless-retry-count", "0")
    attempt = min(int(retries_taken), 100) if retries_taken.isdigit() else 0
    return min(_INITIAL_RETRY_DELAY * 2.0**attempt, _MAX_RETRY_DELAY)


def _cap_attempt(request: httpx2.Request) -> None:
    deadline = _deadline.get()
    if deadline is None:
        return
    remaining = deadline.at - time.monotonic()
    if remaining <= 0 and deadline.final_error is not None:
        # Raised from the attempt itself, as an SDK error the SDK does not retry.
        raise deadline.final_error(request, None)
    # A small floor so an attempt that starts at the deadline fails fast as a timeout.
    left = max(remaining, 0.01)
    timeouts = request.extensions.get("timeout") or {}
    request.extensions["timeout"] = {
        key: left if value is None else min(value, left) for key, value in timeouts.items()
    } or {"connect": left, "read": left, "write": left, "pool": left}


def _stop_retry_past_deadline(response: httpx2.Response) -> None:
    remaining = _remaining()
    if remaining is None or not _retried(response):
        return
    if _next_wait(response.request, response) >= remaining:
        response.headers["x-should-retry"] = "false"


def _retried(response: httpx2.Response) -> bool:
    return response.status_code in _RETRIED_STATUSES or response.status_code >= 500


def _final_after_failure(request: httpx2.Request, exc: Exception) -> Exception:
    """``exc`` (a transport failure), or the final error when a retry would pass the deadline."""
    deadline = _deadline.get()
    if deadline is None or deadline.final_error is None:
        return exc
    if _next_wait(request) < deadline.at - time.monotonic():
        return exc
    return deadline.final_error(request, exc)


class _DeadlineTransport(httpx2.BaseTransport):
    def __init__(self, inner: httpx2.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            return self.inner.handle_request(request)
        except httpx2.TransportError as exc:
            final = _final_after_failure(request, exc)
            if final is exc:
                raise
            raise final from exc

    def close(self) -> None:
        self.inner.close()


class _AsyncDeadlineTransport(httpx2.AsyncBaseTransport):
    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            return await self.inner.handle_async_request(request)
        except httpx2.TransportError as exc:
            final = _final_after_failure(request, exc)
            if final is exc:
                raise
            raise final from exc

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _acap_attempt(request: httpx2.Request) -> None:
    _cap_attempt(request)


async def _astop_retry(response: httpx2.Response) -> None:
    _stop_retry_past_deadline(response)


def _with_hooks(client: Any, *, is_async: bool) -> Any:
    """``client`` with the deadline hooks (after its own ones) and transport wrapper, added
    once: an injected client may serve several adapters and event loops. The hooks read the
    call's deadline from a context variable, so one set serves every adapter."""
    if getattr(client, _HOOKS_MARKER, False):
        return client
    hooks: dict[str, list[Callable[..., Any]]] = (
        {"request": [_acap_attempt], "response": [_astop_retry]}
        if is_async
        else {"request": [_cap_attempt], "response": [_stop_retry_past_deadline]}
    )
    current = client.event_hooks
    client.event_hooks = {kind: [*current.get(kind, []), *hooks[kind]] for kind in hooks}
    transport = getattr(client, "_transport", None)
    if is_async and isinstance(transport, httpx2.AsyncBaseTransport):
        client._transport = _AsyncDeadlineTransport(transport)
    elif not is_async and isinstance(transport, httpx2.BaseTransport):
        client._transport = _DeadlineTransport(transport)
    setattr(client, _HOOKS_MARKER, True)
    return client


# -- lazily built clients --------------------------------------------------------------------


class SDKClients(Generic[SyncClient, AsyncClient]):
    """One sync SDK client per provider and one async client per event loop, built on first use.

    ``build_sync(http_client)`` / ``build_async(http_client)`` make the SDK client around the
    given ``httpx2`` client; ``default_http_client`` / ``default_async_http_client`` are the
    SDK's ``DefaultHttpxClient`` classes, used unless OPTIONS inject clients.
    ``final_error(request, cause)`` is the SDK error (a ``FinalAttempt`` the SDK does not
    retry) that ends a call at its deadline; without it a late attempt times out at once.
    """

    def __init__(
        self,
        options: ClientOptions,
        *,
        build_sync: Callable[[httpx2.Client], SyncClient],
        build_async: Callable[[httpx2.AsyncClient], AsyncClient],
        default_http_client: Callable[..., httpx2.Client],
        default_async_http_client: Callable[..., httpx2.AsyncClient],
        final_error: FinalError | None = None,
    ) -> None:
        self.options = options
        self._build_sync = build_sync
        self._build_async = build_async
        self._default_http_client = default_http_client
        self._default_async_http_client = default_async_http_client
        self._final_error = final_error
        self._lock = threading.Lock()
        self._sync: SyncClient | None = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"<SDKClients {self.options!r}>"

    def sync(self) -> SyncClient:
        with self._lock:
            if self._sync is None:
                http = self.options.http_client or self._default_http_client()
                self._sync = self._build_sync(_with_hooks(http, is_async=False))
            return self._sync

    def async_(self) -> AsyncClient:
        """The async client of the running event loop (an httpx2 pool must not cross loops)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async.get(loop)
            if client is None:
                # A pooled connection refers to its loop, so a weak key alone never lets go.
                for closed in [known for known in self._async if known.is_closed()]:
                    del self._async[closed]
                http = self.options.async_http_client or self._default_async_http_client()
                client = self._build_async(_with_hooks(http, is_async=True))
                self._async[loop] = client
            return client

    def deadline(self) -> contextlib.AbstractContextManager[None]:
        """Use around each SDK call: its retries end within the configured timeout."""
        return call_deadline(self.options.timeout, self._final_error)


# -- errors ----------------------------------------------------------------------------------

# Upstream error ``type``s (both SDKs' bodies) that say more than a 200 mid-stream status.
_TYPE_CODES = {
    "rate_limit_error": "rate_limited",
    "rate_limit_exceeded": "rate_limited",
    "insufficient_quota": "rate_limited",
    "overloaded_error": "unavailable",
    "api_error": "unavailable",
    "server_error": "unavailable",
    "authentication_error": "auth",
    "permission_error": "auth",
    "invalid_request_error": "bad_request",
    "not_found_error": "bad_request",
    "request_too_large": "bad_request",
    "timeout_error": "timeout",
}
RETRYABLE_CODES = frozenset({"rate_limited", "timeout", "unavailable", "stream_interrupted"})


def redact(text: str, secret: str | None) -> str:
    """``text`` without ``secret`` nor anything that looks like an API key."""
    if secret:
        text = text.replace(secret, "***")
    return _SECRET_PATTERN.sub("***", text)


def provider_error(
    exc: BaseException, *, provider: str, secret: str | None, mid_stream: bool = False
) -> ProviderError:
    """The ``ProviderError`` for an SDK or ``httpx2`` exception, its message redacted.

    ``mid_stream``: raised while reading a stream's events, where an unmapped failure is
    ``stream_interrupted``. A ``FinalAttempt`` maps as its cause (the real last failure), or
    as a ``timeout`` without a status when the deadline passed before an attempt.
    """
    if isinstance(exc, FinalAttempt):
        if exc.cause is None:
            return ProviderError(
                f"{provider}: upstream timeout: the call's deadline passed.",
                provider=provider,
                retryable=True,
                error_code="timeout",
            )
        exc = exc.cause
    status = _status_code(exc)
    code = _error_code(exc, status, mid_stream=mid_stream)
    headers = _response_headers(exc)
    retry_after = retry_after_seconds(headers) if headers is not None else None
    upstream = f" {status}" if status else ""
    if _connection_failure(exc):
        # Its text names internal addresses; kept for the debug log only.
        logger.debug("%s: connection failure: %s", provider, redact(repr(exc), secret))
        detail = CONNECTION_FAILED
    else:
        detail = redact(_upstream_message(exc), secret)[:_MAX_MESSAGE]
    return ProviderError(
        f"{provider}: upstream{upstream} {code}: {detail}".rstrip(": "),
        provider=provider,
        retryable=code in RETRYABLE_CODES,
        status_code=status,
        error_code=code,
        retry_after=retry_after,
    )


def _status_code(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _class_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _timed_out(exc: BaseException) -> bool:
    return "APITimeoutError" in _class_names(exc) or isinstance(exc, httpx2.TimeoutException)


def _connection_failure(exc: BaseException) -> bool:
    if _timed_out(exc):
        return False
    return "APIConnectionError" in _class_names(exc) or isinstance(exc, httpx2.TransportError)


def _error_code(exc: BaseException, status: int | None, *, mid_stream: bool) -> str:
    if _timed_out(exc):
        return "timeout"
    if _connection_failure(exc):
        return "stream_interrupted" if mid_stream else "unavailable"
    if status is not None and status >= 400:
        return _status_code_name(status)
    if mid_stream or status == 200:
        return stream_error_code(_error_type(exc))
    return _TYPE_CODES.get(_error_type(exc) or "", "provider_error")


def stream_error_code(error_type: str | None) -> str:
    """The code of an error frame inside a stream: what its type says, else the stream broke."""
    return _TYPE_CODES.get(error_type or "", "stream_interrupted")


def _status_code_name(status: int) -> str:
    if status == 429:
        return "rate_limited"
    if status in (401, 403):
        return "auth"
    if status == 408:
        return "timeout"
    if status >= 500:
        return "unavailable"
    return "bad_request"


def _error_type(exc: BaseException) -> str | None:
    value = getattr(exc, "type", None)
    if isinstance(value, str):
        return value
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    return kind if isinstance(kind, str) else None


def _response_headers(exc: BaseException) -> httpx2.Headers | None:
    response = getattr(exc, "response", None)
    return response.headers if isinstance(response, httpx2.Response) else None


def _upstream_message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if isinstance(message, str) and message:
        return message
    return str(exc) or type(exc).__name__


def closed_loop_error(exc: RuntimeError) -> bool:
    """An ``httpx2`` pool used from another (or a closed) event loop: an injected async client
    kept a connection of an earlier loop."""
    text = str(exc)
    return (
        "Event loop is closed" in text or "different loop" in text or "different event loop" in text
    )


@contextlib.contextmanager
def mapped_errors(
    provider: str,
    secret: str | None,
    *,
    sdk_error: type[BaseException],
    mid_stream: bool = False,
    state: dict[str, Any] | None = None,
) -> Iterator[None]:
    """Turn ``sdk_error``s, ``httpx2`` errors and a closed-loop ``RuntimeError`` into a
    ``ProviderError`` (redacted of ``secret``). With ``state``, the error's
    ``context["provider_state"]`` is the state the failed turn had (may be ``{}``)."""
    try:
        yield
    except ProviderError as error:
        if state is not None:
            error.context.setdefault("provider_state", state)
        raise
    except (sdk_error, httpx2.HTTPError, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) and not closed_loop_error(exc):
            raise
        if isinstance(exc, RuntimeError):
            mapped = ProviderError(
                f"{provider}: upstream unavailable: {CONNECTION_FAILED} (a closed event loop).",
                provider=provider,
                retryable=True,
                error_code="stream_interrupted" if mid_stream else "unavailable",
            )
        else:
            mapped = provider_error(exc, provider=provider, secret=secret, mid_stream=mid_stream)
        if state is not None:
            mapped.context.setdefault("provider_state", state)
        raise mapped from None
