"""The Anthropic Messages API adapter: our history in, prompt caching, usage with cache tokens.

The API keeps no conversation state, so every turn sends the (budgeted) history. With
``prompt_caching`` the system prompt and the stable history prefix carry ``cache_control``
breakpoints, so the next turn reads them from Anthropic's prompt cache.

``timeout`` bounds a whole call, retries included; while a stream is read it bounds each wait
for data, so a long reply that keeps sending may take longer overall.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import anthropic
import httpx2
from anthropic.types import Usage

from sessions_app.exceptions import ConfigurationError, ProviderError
from sessions_app.providers.base import (
    ChatMessage,
    Completion,
    CompletionRequest,
    Provider,
    StreamEvent,
    TextDelta,
    TokenCount,
)
from sessions_app.providers.sdk import (
    CLIENT_OPTION_NAMES,
    ClientOptions,
    FinalAttempt,
    SDKClients,
    client_options,
    flag,
    mapped_errors,
    positive_int,
)

API_KEY_VARIABLE = "ANTHROPIC_API_KEY"
DEFAULT_MAX_TOKENS = 1024
EPHEMERAL = {"type": "ephemeral"}
# Anthropic wants a user message first; history trimmed to an assistant reply gets this one.
CONTINUATION = "(The conversation continues.)"

STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}
OPTIONS = CLIENT_OPTION_NAMES | {"max_tokens", "prompt_caching"}
# A session's provider_config. The documents' examples also set these two, which are not sent:
# conversation_metadata is a label of ours, and the Messages API (SDK 2.x) has no temperature.
IGNORED_SESSION_OPTIONS = ("conversation_metadata", "temperature")
SESSION_OPTIONS = ("max_tokens", "stop_sequences", *IGNORED_SESSION_OPTIONS)


class AnthropicProvider(Provider):
    """Claude through the official ``anthropic`` SDK, sync and async, streamed or not."""

    name = "anthropic"
    price_provider_id: ClassVar[str | None] = "anthropic"
    fallback_model: ClassVar[str] = "claude-sonnet-4-5"
    api_key_env_var: ClassVar[str] = API_KEY_VARIABLE

    def __init__(self, *, name: str | None = None, **options: Any) -> None:
        # Upper-case keys are the app's (DEFAULT_MODEL, PRICES…); the others are OPTIONS.
        own = {key: value for key, value in options.items() if not key.isupper()}
        unknown = sorted(own.keys() - OPTIONS)
        if unknown:
            raise ConfigurationError(
                f"Unknown options for the Anthropic provider: {', '.join(unknown)}. "
                f"Known: {', '.join(sorted(OPTIONS))}."
            )
        super().__init__(name=name, **{k: v for k, v in options.items() if k.isupper()})
        self.max_tokens = positive_int(
            own.get("max_tokens", DEFAULT_MAX_TOKENS), "The Anthropic option 'max_tokens'"
        )
        self.prompt_caching = flag(
            own.get("prompt_caching", True), "The Anthropic option 'prompt_caching'"
        )
        self._clients = _sdk_clients(
            client_options(
                own,
                env_key=self.api_key_env_var,
                env_base_url="ANTHROPIC_BASE_URL",
                vendor_host="api.anthropic.com",
            )
        )

    # -- requests ----------------------------------------------------------------------------

    def request_params(self, request: CompletionRequest) -> dict[str, Any]:
        """The Messages API arguments for ``request`` (also what ``count_tokens`` counts)."""
        messages, folded = _alternating(request.messages)
        system = "\n\n".join(part for part in (request.system, folded) if part)
        params: dict[str, Any] = {
            "model": request.model or self.default_model,
            "messages": [_message_param(m) for m in messages],
        }
        if system:
            params["system"] = [{"type": "text", "text": system}]
        if self.prompt_caching:
            _add_cache_breakpoints(params)
        return params

    def _create_params(self, request: CompletionRequest) -> dict[str, Any]:
        """``request_params`` with a session's options; its ``max_tokens_per_message`` (the
        request's ``max_tokens``) wins over its ``provider_config``, which wins over OPTIONS."""
        options = request.options
        limit = request.max_tokens or options.get("max_tokens") or self.max_tokens
        params = {**self.request_params(request), "max_tokens": limit}
        if options.get("stop_sequences"):
            params["stop_sequences"] = list(options["stop_sequences"])
        return params

    def check_session_options(self, options: dict[str, Any]) -> None:
        unknown = sorted(options.keys() - set(SESSION_OPTIONS))
        if unknown:
            raise ConfigurationError(
                f"Unknown {self.name} session option(s): {', '.join(unknown)}. "
                f"Known: {', '.join(SESSION_OPTIONS)}."
            )
        if options.get("max_tokens") is not None:
            positive_int(options["max_tokens"], "Session option 'max_tokens'")
        stops = options.get("stop_sequences")
        if stops is not None and not (
            isinstance(stops, list) and all(isinstance(stop, str) and stop for stop in stops)
        ):
            raise ConfigurationError("Session option 'stop_sequences' must be a list of strings.")

    # -- the four entry points ---------------------------------------------------------------

    def complete(self, request: CompletionRequest) -> Completion:
        client = self._client()
        with self._mapped_errors(), self._clients.deadline():
            message = client.messages.create(**self._create_params(request))
        return _completion(message)

    async def acomplete(self, request: CompletionRequest) -> Completion:
        client = self._async_client()
        with self._mapped_errors(), self._clients.deadline():
            message = await client.messages.create(**self._create_params(request))
        return _completion(message)

    def stream(self, request: CompletionRequest) -> Iterator[StreamEvent]:
        client = self._client()
        with self._mapped_errors(), self._clients.deadline():
            events = client.messages.create(**self._create_params(request), stream=True)
        reply = _StreamedReply(self.name, request.model or self.default_model)
        try:
            with self._mapped_errors(mid_stream=True):
                for event in events:
                    if text := reply.feed(event):
                        yield TextDelta(text)
            yield reply.completion()
        finally:
            events.close()

    async def astream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        client = self._async_client()
        with self._mapped_errors(), self._clients.deadline():
            events = await client.messages.create(**self._create_params(request), stream=True)
        reply = _StreamedReply(self.name, request.model or self.default_model)
        try:
            with self._mapped_errors(mid_stream=True):
                async for event in events:
                    if text := reply.feed(event):
                        yield TextDelta(text)
            yield reply.completion()
        finally:
            await events.close()

    # -- token counting ----------------------------------------------------------------------

    def count_tokens(self, request: CompletionRequest) -> TokenCount:
        """Anthropic's own count of the request; the estimate when counting fails (once: a
        count is worth less than a retry's wait)."""
        try:
            client = self._client().with_options(max_retries=0)
            with self._clients.deadline():
                counted = client.messages.count_tokens(**self.request_params(request))
        except (anthropic.AnthropicError, httpx2.HTTPError, ProviderError):
            return super().count_tokens(request)
        return TokenCount(counted.input_tokens, "anthropic")

    async def acount_tokens(self, request: CompletionRequest) -> TokenCount:
        try:
            client = self._async_client().with_options(max_retries=0)
            with self._clients.deadline():
                counted = await client.messages.count_tokens(**self.request_params(request))
        except (anthropic.AnthropicError, httpx2.HTTPError, ProviderError):
            return Provider.count_tokens(self, request)
        return TokenCount(counted.input_tokens, "anthropic")

    # -- clients ---------------------------------------------------------------------------

    def _client(self) -> anthropic.Anthropic:
        self._require_key()
        return self._clients.sync()

    def _async_client(self) -> anthropic.AsyncAnthropic:
        self._require_key()
        return self._clients.async_()

    def _require_key(self) -> None:
        # Without a key the SDK would go looking in profiles and config files.
        if not self._clients.options.configured:
            raise ProviderError(
                f"{self.name}: no API key; set OPTIONS['api_key'] or {self.api_key_env_var}.",
                provider=self.name,
                error_code="auth",
            )

    def _mapped_errors(
        self, *, mid_stream: bool = False
    ) -> contextlib.AbstractContextManager[None]:
        """SDK and transport failures as ``ProviderError``, without the key."""
        return mapped_errors(
            self.name,
            self._clients.options.api_key,
            sdk_error=anthropic.AnthropicError,
            mid_stream=mid_stream,
        )

    def capabilities(self) -> dict[str, Any]:
        return {
            **super().capabilities(),
            "prompt_caching": self.prompt_caching,
            "max_tokens": self.max_tokens,
            "configured": self._clients.options.configured,
        }


def _sdk_clients(
    options: ClientOptions,
) -> SDKClients[anthropic.Anthropic, anthropic.AsyncAnthropic]:
    def settings() -> dict[str, Any]:
        return {
            "api_key": options.api_key,
            "base_url": options.base_url,
            "timeout": options.timeout,
            "max_retries": options.max_retries,
        }

    return SDKClients(
        options,
        build_sync=lambda http: anthropic.Anthropic(**settings(), http_client=http),
        build_async=lambda http: anthropic.AsyncAnthropic(**settings(), http_client=http),
        default_http_client=anthropic.DefaultHttpxClient,
        default_async_http_client=anthropic.DefaultAsyncHttpxClient,
        final_error=_FinalAttempt,
    )


class _FinalAttempt(FinalAttempt, anthropic.AnthropicError):
    """Ends a call at its deadline: an SDK error that is neither a status nor a connection
    error, so the SDK re-raises it unretried."""


def _alternating(history: list[ChatMessage]) -> tuple[list[ChatMessage], str]:
    """``history`` as Anthropic accepts it, and the text of any system messages in it.

    Consecutive messages of one role are joined, empty ones dropped, and a history that
    starts with a reply gets a short user message first: refusing the turn would help no one.
    """
    merged: list[ChatMessage] = []
    system: list[str] = []
    for message in history:
        if not message.content.strip():
            continue
        if message.role not in ("user", "assistant"):
            system.append(message.content)
        elif merged and merged[-1].role == message.role:
            merged[-1] = ChatMessage(message.role, f"{merged[-1].content}\n\n{message.content}")
        else:
            merged.append(message)
    if merged and merged[0].role == "assistant":
        merged.insert(0, ChatMessage("user", CONTINUATION))
    return merged, "\n\n".join(system)


def _message_param(message: ChatMessage) -> dict[str, Any]:
    return {"role": message.role, "content": [{"type": "text", "text": message.content}]}


def _add_cache_breakpoints(params: dict[str, Any]) -> None:
    """Mark the system prompt and the history before the new message as cacheable (2 of the
    4 breakpoints Anthropic allows); the prefix is what the next turn sends again."""
    if "system" in params:
        params["system"][-1]["cache_control"] = EPHEMERAL
    messages = params["messages"]
    if len(messages) >= 2:
        messages[-2]["content"][-1]["cache_control"] = EPHEMERAL


def _finish_reason(stop_reason: str | None) -> str:
    return STOP_REASONS.get(stop_reason or "end_turn", stop_reason or "stop")


def _build_completion(
    *, text: str, model: str, message_id: str, stop_reason: str | None, usage: Usage
) -> Completion:
    """A ``Completion`` with our token fields; Anthropic's ``input_tokens`` leaves out the
    tokens read from and written to the cache, ours include them."""
    cached = usage.cache_read_input_tokens or 0
    written = usage.cache_creation_input_tokens or 0
    details = usage.output_tokens_details
    return Completion(
        text=text,
        model=model,
        input_tokens=usage.input_tokens + cached + written,
        output_tokens=usage.output_tokens,
        provider_message_id=message_id,
        finish_reason=_finish_reason(stop_reason),
        cached_input_tokens=cached,
        cache_write_tokens=written,
        reasoning_tokens=details.thinking_tokens if details is not None else 0,
    )


def _completion(message: Any) -> Completion:
    return _build_completion(
        text="".join(block.text for block in message.content if block.type == "text"),
        model=message.model,
        message_id=message.id,
        stop_reason=message.stop_reason,
        usage=message.usage,
    )


class _StreamedReply:
    """Collects a stream's events into the final ``Completion``."""

    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self.message_id = ""
        self.parts: list[str] = []
        self.stop_reason: str | None = None
        self.usage = Usage(input_tokens=0, output_tokens=0)
        self.stopped = False

    def feed(self, event: Any) -> str:
        """Take one event; the text it adds, if any."""
        if event.type == "message_start":
            self.message_id, self.model = event.message.id, event.message.model
            self.usage = event.message.usage.model_copy()
        elif event.type == "content_block_delta" and event.delta.type == "text_delta":
            self.parts.append(event.delta.text)
            return str(event.delta.text)
        elif event.type == "message_delta":
            self.stop_reason = event.delta.stop_reason
            self._update_usage(event.usage)
        elif event.type == "message_stop":
            self.stopped = True
        return ""

    def _update_usage(self, delta: Any) -> None:
        # A delta's counts are running totals; the input ones only when the API sends them.
        for field in delta.model_fields_set & set(type(self.usage).model_fields):
            value = getattr(delta, field)
            if value is not None:
                setattr(self.usage, field, value)

    def completion(self) -> Completion:
        if not self.stopped:
            raise ProviderError(
                f"{self.provider}: the stream ended before the reply was complete.",
                provider=self.provider,
                error_code="stream_interrupted",
                retryable=True,
            )
        return _build_completion(
            text="".join(self.parts),
            model=self.model,
            message_id=self.message_id,
            stop_reason=self.stop_reason,
            usage=self.usage,
        )
