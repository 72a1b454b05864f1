"""The OpenAI adapter: the Responses API with native conversation state, or Chat Completions.

OPTIONS: ``api_key`` (else ``OPENAI_API_KEY``), ``base_url`` (else ``OPENAI_BASE_URL``),
``mode`` (``"responses"``, the default, or ``"chat"`` for any OpenAI-compatible server),
``timeout`` (seconds for a whole call, retries included; while a stream is read it bounds
each wait for data, so a long reply may take longer overall), ``max_retries``, ``store`` (default
True), ``previous_response_id`` (default False: chain replies by response id instead of a
Conversation), ``max_output_tokens``, ``organization``, ``project``, ``tokenizer`` (a tiktoken
encoding name or instance, or ``"estimate"``) and, for tests, ``http_client`` /
``async_http_client``.

Per-session ``provider_config``: ``temperature``, ``max_output_tokens`` (or ``max_tokens``),
``store``, ``thread_metadata`` (labels of the conversation made on the first turn) and
``conversation_id`` / ``ended_conversation_id`` (a conversation made or deleted outside a turn
by ``OpenAIProviderSession``; signed with the session's id by ``signed_conversation``, so no
client can point a session at another conversation: an unsigned value is refused, one that
does not verify is ignored); ``assistant_id`` is accepted and ignored (the Assistants API is
deprecated).

A turn that builds on OpenAI-side state (a conversation or a previous response) is sent with
``truncation="auto"``: OpenAI drops the oldest items rather than refusing a conversation that
outgrew the model's context window. When OpenAI answers 404 for that state (a response older
than its 30 days, a conversation deleted elsewhere), the turn is sent once more from our
history: in a new conversation seeded with it, or, when chaining responses, in full.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import openai
from django.core import signing

from sessions_app.exceptions import ConfigurationError, ProviderError
from sessions_app.providers import tokens
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
    RETRYABLE_CODES,
    FinalAttempt,
    SDKClients,
    client_options,
    flag,
    mapped_errors,
    metadata_problem,
    optional_positive_int,
    optional_string,
    redact,
    stream_error_code,
)

MODES = ("responses", "chat")
ADAPTER_OPTION_NAMES = frozenset(
    {
        "mode",
        "store",
        "previous_response_id",
        "max_output_tokens",
        "organization",
        "project",
        "tokenizer",
    }
)
KNOWN_OPTIONS = ", ".join(sorted(CLIENT_OPTION_NAMES | ADAPTER_OPTION_NAMES))
SESSION_OPTION_NAMES = (
    "conversation_id",
    "ended_conversation_id",
    "max_output_tokens",
    "max_tokens",
    "store",
    "temperature",
    "thread_metadata",
)
# The documents' example passes an Assistants ``assistant_id``; that API is deprecated.
IGNORED_SESSION_OPTIONS = ("assistant_id",)
# Set by OpenAIProviderSession only; signed with the session's id.
SIGNED_SESSION_OPTIONS = ("conversation_id", "ended_conversation_id")
_SIGNING_SALT = "sessions_app.providers.openai"
# The Conversations API takes at most 20 items per call.
ITEMS_PER_CALL = 20
# An OpenAI-compatible server by base_url may need no key; the SDK insists on one.
KEYLESS_PLACEHOLDER = "not-needed"
_FINISH_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


class _FinalAttempt(FinalAttempt, openai.OpenAIError):
    """Ends a call at its deadline; the SDK re-raises its own errors unretried."""


def signed_conversation(session_id: str, option: str, conversation_id: str) -> str:
    """``conversation_id`` as a session's ``provider_config[option]`` holds it."""
    return signing.Signer(salt=f"{_SIGNING_SALT}.{option}.{session_id}").sign(conversation_id)


def verified_conversation(session_id: str, options: Mapping[str, Any], option: str) -> str | None:
    """The conversation id ``options[option]`` holds if it was signed for this session."""
    value = options.get(option)
    if not session_id or not isinstance(value, str):
        return None
    try:
        return signing.Signer(salt=f"{_SIGNING_SALT}.{option}.{session_id}").unsign(value)
    except signing.BadSignature:
        return None


def session_conversation(
    session_id: str, options: Mapping[str, Any], state: Mapping[str, Any]
) -> str | None:
    """The conversation a session's next turn builds on: the one of its latest reply unless
    it was ended, else one made (signed) by ``OpenAIProviderSession.create_thread``."""
    stored = state.get("conversation_id")
    ended = verified_conversation(session_id, options, "ended_conversation_id")
    if isinstance(stored, str) and stored and stored != ended:
        return stored
    return verified_conversation(session_id, options, "conversation_id")


@dataclass(frozen=True)
class _Turn:
    """How one request is sent: what state it builds on and which messages go with it."""

    kind: str  # "conversation", "previous_response", "stateless" or "chat"
    store: bool
    conversation_id: str | None = None
    previous_response_id: str | None = None


class OpenAIProvider(Provider):
    """OpenAI (or an OpenAI-compatible server) through the official ``openai`` SDK."""

    name = "openai"
    fallback_model: ClassVar[str] = "gpt-4o-mini"
    price_provider_id: ClassVar[str | None] = "openai"
    api_key_env_var: ClassVar[str] = "OPENAI_API_KEY"

    def __init__(self, *, name: str | None = None, **options: Any) -> None:
        own = {key: value for key, value in options.items() if not key.isupper()}
        _reject_unknown(own)
        super().__init__(name=name, **{k: v for k, v in options.items() if k.isupper()})
        self.client_options = client_options(
            own,
            env_key=self.api_key_env_var,
            env_base_url="OPENAI_BASE_URL",
            vendor_host="api.openai.com",
        )
        self.mode: str = _choice(own.get("mode", "responses"), "mode", MODES)
        self.store: bool = flag(own.get("store", True), _what("store"))
        self.chain_responses: bool = flag(
            own.get("previous_response_id", False), _what("previous_response_id")
        )
        self.max_output_tokens = optional_positive_int(
            own.get("max_output_tokens"), _what("max_output_tokens")
        )
        self.organization = optional_string(own.get("organization"), _what("organization"))
        self.project = optional_string(own.get("project"), _what("project"))
        self.tokenizer = _tokenizer(own.get("tokenizer"))
        self._clients: SDKClients[openai.OpenAI, openai.AsyncOpenAI] = SDKClients(
            self.client_options,
            build_sync=lambda http: openai.OpenAI(http_client=http, **self._sdk_kwargs()),
            build_async=lambda http: openai.AsyncOpenAI(http_client=http, **self._sdk_kwargs()),
            default_http_client=openai.DefaultHttpxClient,
            default_async_http_client=openai.DefaultAsyncHttpxClient,
            final_error=_FinalAttempt,
        )

    def _sdk_kwargs(self) -> dict[str, Any]:
        options = self.client_options
        api_key = options.api_key or (KEYLESS_PLACEHOLDER if options.base_url else None)
        if api_key is None:
            raise ProviderError(
                f"{self.name}: no API key; set OPTIONS api_key or {self.api_key_env_var}.",
                provider=self.name,
                error_code="auth",
                status_code=401,
            )
        return {
            "api_key": api_key,
            "base_url": options.base_url,
            "organization": self.organization,
            "project": self.project,
            "timeout": options.timeout,
            "max_retries": options.max_retries,
        }

    # -- what a turn sends -------------------------------------------------------------------

    def _turn(self, request: CompletionRequest) -> _Turn:
        options = request.options
        if self.mode == "chat":
            return _Turn("chat", store=False)
        store = options.get("store", self.store)
        if not store:
            return _Turn("stateless", store=False)
        state = request.provider_state
        if self.chain_responses:
            return _Turn("previous_response", True, previous_response_id=state.get("response_id"))
        conversation = session_conversation(request.session_id, options, state)
        return _Turn("conversation", True, conversation_id=conversation)

    def sends_history(self, request: CompletionRequest) -> bool:
        turn = self._turn(request)
        return not (turn.conversation_id or turn.previous_response_id)

    def _response_kwargs(self, request: CompletionRequest, turn: _Turn) -> dict[str, Any]:
        # A conversation or a previous response holds the history: send the new turn only.
        builds_on_state = bool(turn.conversation_id or turn.previous_response_id)
        messages = _new_messages(request.messages) if builds_on_state else request.messages
        kwargs: dict[str, Any] = {
            "model": request.model,
            "input": [_item(message) for message in messages],
            "store": turn.store,
            **self._common_kwargs(request),
        }
        if request.system:
            kwargs["instructions"] = request.system
        if turn.conversation_id:
            kwargs["conversation"] = turn.conversation_id
        if turn.previous_response_id:
            kwargs["previous_response_id"] = turn.previous_response_id
        if builds_on_state:
            # OpenAI keeps the history: past the context window it drops the oldest items
            # instead of refusing every later turn.
            kwargs["truncation"] = "auto"
        if limit := self._output_limit(request):
            kwargs["max_output_tokens"] = limit
        return kwargs

    def _chat_kwargs(self, request: CompletionRequest) -> dict[str, Any]:
        system = [{"role": "system", "content": request.system}] if request.system else []
        kwargs: dict[str, Any] = {
            "model": request.model,
            "messages": system + [_item(message, typed=False) for message in request.messages],
            **self._common_kwargs(request),
        }
        if limit := self._output_limit(request):
            # OpenAI's reasoning models refuse max_tokens; compatible servers often only know it.
            key = "max_tokens" if self.client_options.base_url else "max_completion_tokens"
            kwargs[key] = limit
        return kwargs

    def _output_limit(self, request: CompletionRequest) -> int | None:
        options = request.options
        limit = request.max_tokens or options.get("max_output_tokens") or options.get("max_tokens")
        return limit or self.max_output_tokens

    def _common_kwargs(self, request: CompletionRequest) -> dict[str, Any]:
        temperature = request.options.get("temperature")
        return {} if temperature is None else {"temperature": temperature}

    # -- conversations -------------------------------------------------------------------------

    def create_conversation(
        self,
        *,
        metadata: dict[str, str] | None = None,
        history: list[ChatMessage] | None = None,
    ) -> str:
        """A new conversation holding ``history``; its id."""
        history = history or []
        client = self._clients.sync()
        with self._errors(), self._clients.deadline():
            conversation = client.conversations.create(
                metadata=metadata or {},
                items=_items(history[:ITEMS_PER_CALL]),
            )
            for start in range(ITEMS_PER_CALL, len(history), ITEMS_PER_CALL):
                chunk = history[start : start + ITEMS_PER_CALL]
                client.conversations.items.create(conversation.id, items=_items(chunk))
        return conversation.id

    async def acreate_conversation(
        self,
        *,
        metadata: dict[str, str] | None = None,
        history: list[ChatMessage] | None = None,
    ) -> str:
        history = history or []
        client = self._clients.async_()
        with self._errors(), self._clients.deadline():
            conversation = await client.conversations.create(
                metadata=metadata or {},
                items=_items(history[:ITEMS_PER_CALL]),
            )
            for start in range(ITEMS_PER_CALL, len(history), ITEMS_PER_CALL):
                chunk = history[start : start + ITEMS_PER_CALL]
                await client.conversations.items.create(conversation.id, items=_items(chunk))
        return conversation.id

    def conversation_items(self, conversation_id: str) -> list[ChatMessage]:
        """The conversation's messages, oldest first (their text parts joined)."""
        client = self._clients.sync()
        with self._errors(), self._clients.deadline():
            page = client.conversations.items.list(conversation_id, order="asc", limit=100)
            items = list(page)
        return [message for item in items if (message := _chat_message(item)) is not None]

    def update_conversation(self, conversation_id: str, metadata: dict[str, str]) -> None:
        client = self._clients.sync()
        with self._errors(), self._clients.deadline():
            client.conversations.update(conversation_id, metadata=metadata)

    def cleanup_resources(self, session_id: str, state: dict[str, Any]) -> None:
        """Delete the session's conversation; one already gone is fine."""
        conversation_id = state.get("conversation_id")
        if not conversation_id or self.mode == "chat":
            return
        client = self._clients.sync()
        try:
            with self._errors(), self._clients.deadline():
                client.conversations.delete(conversation_id)
        except ProviderError as exc:
            if exc.status_code != 404:
                raise

    def _first_turn_metadata(self, request: CompletionRequest) -> dict[str, str]:
        labels = dict(request.options.get("thread_metadata") or {})
        return {**labels, "session_id": request.session_id} if request.session_id else labels

    def _ensure_conversation(self, request: CompletionRequest, turn: _Turn) -> _Turn:
        if turn.kind != "conversation" or turn.conversation_id:
            return turn
        conversation_id = self.create_conversation(
            metadata=self._first_turn_metadata(request), history=_earlier_messages(request.messages)
        )
        return _Turn("conversation", True, conversation_id=conversation_id)

    async def _aensure_conversation(self, request: CompletionRequest, turn: _Turn) -> _Turn:
        if turn.kind != "conversation" or turn.conversation_id:
            return turn
        conversation_id = await self.acreate_conversation(
            metadata=self._first_turn_metadata(request), history=_earlier_messages(request.messages)
        )
        return _Turn("conversation", True, conversation_id=conversation_id)

    # -- sending a turn ------------------------------------------------------------------------

    def _call(self, client: Any, request: CompletionRequest, turn: _Turn, *, stream: bool) -> Any:
        """The SDK call for ``turn`` (with the async client: its coroutine)."""
        if turn.kind == "chat":
            extra: dict[str, Any] = (
                {"stream": True, "stream_options": {"include_usage": True}} if stream else {}
            )
            return client.chat.completions.create(**extra, **self._chat_kwargs(request))
        extra = {"stream": True} if stream else {}
        return client.responses.create(**extra, **self._response_kwargs(request, turn))

    def _send(self, request: CompletionRequest, *, stream: bool) -> tuple[_Turn, Any]:
        """The turn and the SDK's answer; a lost OpenAI-side state is rebuilt once."""
        client = self._clients.sync()
        with self._errors():
            turn = self._ensure_conversation(request, self._turn(request))
        try:
            with self._errors(turn=turn):
                return turn, self._call(client, request, turn, stream=stream)
        except ProviderError as exc:
            if not _lost_state(exc, turn):
                raise
        with self._errors():
            turn = self._ensure_conversation(request, _without_state(turn))
        with self._errors(turn=turn):
            return turn, self._call(client, request, turn, stream=stream)

    async def _asend(self, request: CompletionRequest, *, stream: bool) -> tuple[_Turn, Any]:
        client = self._clients.async_()
        with self._errors():
            turn = await self._aensure_conversation(request, self._turn(request))
        try:
            with self._errors(turn=turn):
                return turn, await self._call(client, request, turn, stream=stream)
        except ProviderError as exc:
            if not _lost_state(exc, turn):
                raise
        with self._errors():
            turn = await self._aensure_conversation(request, _without_state(turn))
        with self._errors(turn=turn):
            return turn, await self._call(client, request, turn, stream=stream)

    # -- whole replies -------------------------------------------------------------------------

    def complete(self, request: CompletionRequest) -> Completion:
        with self._clients.deadline():
            turn, answer = self._send(request, stream=False)
        return self._completion(answer, turn)

    async def acomplete(self, request: CompletionRequest) -> Completion:
        with self._clients.deadline():
            turn, answer = await self._asend(request, stream=False)
        return self._completion(answer, turn)

    def _completion(self, answer: Any, turn: _Turn) -> Completion:
        if turn.kind == "chat":
            return _chat_completion(answer)
        with self._errors(turn=turn):
            return _response_completion(answer, turn, self.name, self.client_options.api_key)

    # -- streams -------------------------------------------------------------------------------

    def _reader(self, turn: _Turn) -> _ChatStream | _ResponseStream:
        if turn.kind == "chat":
            return _ChatStream()
        return _ResponseStream(turn, self.name, self.client_options.api_key)

    def stream(self, request: CompletionRequest) -> Iterator[StreamEvent]:
        with self._clients.deadline():
            turn, events = self._send(request, stream=True)
        reader = self._reader(turn)
        try:
            with self._errors(mid_stream=True, turn=turn):
                for event in events:
                    if delta := reader.read(event):
                        yield TextDelta(delta)
                yield reader.completion()
        finally:
            # Also when the consumer stops early: release the HTTP response.
            events.close()

    async def astream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        with self._clients.deadline():
            turn, events = await self._asend(request, stream=True)
        reader = self._reader(turn)
        try:
            with self._errors(mid_stream=True, turn=turn):
                async for event in events:
                    if delta := reader.read(event):
                        yield TextDelta(delta)
                yield reader.completion()
        finally:
            await events.close()

    # -- the rest of the interface -------------------------------------------------------------

    def _errors(
        self, *, mid_stream: bool = False, turn: _Turn | None = None
    ) -> contextlib.AbstractContextManager[None]:
        # A failed turn of a conversation still names it, so the failure can keep it.
        state = {"conversation_id": turn.conversation_id} if turn and turn.conversation_id else {}
        return mapped_errors(
            self.name,
            self.client_options.api_key,
            sdk_error=openai.OpenAIError,
            mid_stream=mid_stream,
            state=state,
        )

    def count_tokens(self, request: CompletionRequest) -> TokenCount:
        if self.tokenizer == "estimate":
            return super().count_tokens(request)
        return tokens.count_tokens(request, encoding=self.tokenizer)

    def check_session_options(self, options: dict[str, Any]) -> None:
        known = (*SESSION_OPTION_NAMES, *IGNORED_SESSION_OPTIONS)
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ConfigurationError(
                f"Unknown {self.name} session option(s): {', '.join(unknown)}. "
                f"Known: {', '.join(known)}."
            )
        for key in SIGNED_SESSION_OPTIONS:
            value = options.get(key)
            # The signature is checked at each turn, against the session's id.
            if value is not None and not (
                isinstance(value, str) and value.startswith("conv_") and ":" in value
            ):
                raise ConfigurationError(
                    f"Session option {key!r} is set by the server "
                    "(OpenAIProviderSession.create_thread / delete_thread) and cannot be given."
                )
        flag(options.get("store", True), "Session option 'store'")
        for key in ("max_output_tokens", "max_tokens"):
            optional_positive_int(options.get(key), f"Session option {key!r}")
        labels = options.get("thread_metadata")
        if labels is not None and (problem := metadata_problem(labels)):
            raise ConfigurationError(f"Session option 'thread_metadata': {problem}.")
        temperature = options.get("temperature")
        if temperature is not None and not _number_between(temperature, 0, 2):
            raise ConfigurationError("Session option 'temperature' must be a number from 0 to 2.")

    def capabilities(self) -> dict[str, Any]:
        options = self.client_options
        return {
            **super().capabilities(),
            "mode": self.mode,
            "store": self.store,
            "conversations": self.mode == "responses" and self.store and not self.chain_responses,
            "previous_response_id": self.chain_responses,
            "configured": options.configured or bool(options.base_url),
        }


# -- reading replies ---------------------------------------------------------------------------


class _ResponseStream:
    """Reads Responses API stream events: text deltas, then the final response."""

    def __init__(self, turn: _Turn, provider: str, secret: str | None) -> None:
        self.turn, self.provider, self.secret = turn, provider, secret
        self.final: Any = None

    def read(self, event: Any) -> str:
        kind = getattr(event, "type", "")
        if kind == "response.output_text.delta":
            return str(event.delta)
        if kind in ("response.completed", "response.incomplete"):
            self.final = event.response
        elif kind == "response.failed":
            raise _failed(event.response, self.provider, self.secret)
        elif kind == "error":
            raise _stream_failure(event, self.provider, self.secret)
        return ""

    def completion(self) -> Completion:
        if self.final is None:
            raise ProviderError(
                f"{self.provider}: the stream ended before the response was complete.",
                provider=self.provider,
                retryable=True,
                error_code="stream_interrupted",
            )
        return _response_completion(self.final, self.turn, self.provider, self.secret)


class _ChatStream:
    """Reads Chat Completions chunks: content deltas, the finish reason, then the usage."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.id, self.model, self.finish_reason = "", "", "stop"
        self.usage: Any = None

    def read(self, chunk: Any) -> str:
        self.id, self.model = chunk.id or self.id, chunk.model or self.model
        if chunk.usage is not None:
            self.usage = chunk.usage
        if not chunk.choices:
            return ""
        choice = chunk.choices[0]
        if choice.finish_reason:
            self.finish_reason = choice.finish_reason
        text = (choice.delta.content if choice.delta else None) or ""
        self.parts.append(text)
        return text

    def completion(self) -> Completion:
        return Completion(
            text="".join(self.parts),
            model=self.model,
            provider_message_id=self.id,
            finish_reason=self.finish_reason,
            metadata={"mode": "chat"},
            **_chat_usage(self.usage),
        )


def _response_completion(
    response: Any, turn: _Turn, provider: str, secret: str | None
) -> Completion:
    if getattr(response, "status", None) == "failed":
        raise _failed(response, provider, secret)
    details = getattr(response, "incomplete_details", None)
    reason = getattr(details, "reason", None) if details else None
    return Completion(
        text=response.output_text,
        model=response.model or "",
        provider_message_id=response.id,
        finish_reason=_FINISH_REASONS.get(reason, reason) if reason else "stop",
        provider_state=_state(response, turn),
        metadata={"mode": "responses", "store": turn.store},
        **_response_usage(response.usage),
    )


def _state(response: Any, turn: _Turn) -> dict[str, Any]:
    if turn.kind == "conversation":
        return {"conversation_id": turn.conversation_id, "response_id": response.id}
    if turn.kind == "previous_response":
        return {"response_id": response.id}
    return {}


def _response_usage(usage: Any) -> dict[str, Any]:
    if usage is None:
        return {}
    cached = (
        getattr(usage.input_tokens_details, "cached_tokens", 0) if usage.input_tokens_details else 0
    )
    reasoning = (
        getattr(usage.output_tokens_details, "reasoning_tokens", 0)
        if usage.output_tokens_details
        else 0
    )
    return {
        "input_tokens": usage.input_tokens or 0,
        "output_tokens": usage.output_tokens or 0,
        "cached_input_tokens": cached or 0,
        "reasoning_tokens": reasoning or 0,
    }


def _chat_completion(chat: Any) -> Completion:
    choice = chat.choices[0] if chat.choices else None
    return Completion(
        text=(choice.message.content or "") if choice else "",
        model=chat.model or "",
        provider_message_id=chat.id or "",
        finish_reason=(choice.finish_reason if choice else None) or "stop",
        metadata={"mode": "chat"},
        **_chat_usage(chat.usage),
    )


def _chat_usage(usage: Any) -> dict[str, Any]:
    if usage is None:
        return {}
    prompt_details = getattr(usage, "prompt_tokens_details", None)
    completion_details = getattr(usage, "completion_tokens_details", None)
    return {
        "input_tokens": usage.prompt_tokens or 0,
        "output_tokens": usage.completion_tokens or 0,
        "cached_input_tokens": getattr(prompt_details, "cached_tokens", 0) or 0,
        "reasoning_tokens": getattr(completion_details, "reasoning_tokens", 0) or 0,
    }


def _failed(response: Any, provider: str, secret: str | None) -> ProviderError:
    return _stream_failure(getattr(response, "error", None), provider, secret)


def _stream_failure(error: Any, provider: str, secret: str | None) -> ProviderError:
    """A ``response.failed`` / ``error`` frame: the reply broke off."""
    code = str(getattr(error, "code", "") or "")
    message = str(getattr(error, "message", "") or "the response failed")
    error_code = stream_error_code(code)
    return ProviderError(
        redact(f"{provider}: the stream failed ({code or 'no code'}): {message}", secret)[:500],
        provider=provider,
        retryable=error_code in RETRYABLE_CODES,
        error_code=error_code,
    )


def _chat_message(item: Any) -> ChatMessage | None:
    if getattr(item, "type", None) != "message" or item.role not in ("user", "assistant", "system"):
        return None
    parts = [getattr(part, "text", "") or "" for part in (item.content or [])]
    return ChatMessage(role=item.role, content="".join(parts))


# -- lost state ----------------------------------------------------------------------------


def _lost_state(error: ProviderError, turn: _Turn) -> bool:
    """OpenAI no longer has the conversation / previous response the turn built on."""
    state_id = turn.conversation_id or turn.previous_response_id
    return bool(state_id) and error.status_code == 404 and str(state_id) in str(error)


def _without_state(turn: _Turn) -> _Turn:
    """``turn`` sent from our history: a new conversation (made next) or the full history."""
    return replace(turn, conversation_id=None, previous_response_id=None)


# -- request pieces ----------------------------------------------------------------------------


def _item(message: ChatMessage, *, typed: bool = True) -> dict[str, Any]:
    item: dict[str, Any] = {"role": message.role, "content": message.content}
    return {"type": "message", **item} if typed else item


def _items(messages: list[ChatMessage]) -> Any:
    return [_item(message) for message in messages]


def _new_messages(messages: list[ChatMessage]) -> list[ChatMessage]:
    """The messages after the latest assistant reply: what the provider has not seen yet."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "assistant":
            return messages[index + 1 :]
    return list(messages)


def _earlier_messages(messages: list[ChatMessage]) -> list[ChatMessage]:
    new = _new_messages(messages)
    return messages[: len(messages) - len(new)]


# -- option validation ------------------------------------------------------------------------


def _reject_unknown(options: Mapping[str, Any]) -> None:
    unknown = sorted(set(options) - CLIENT_OPTION_NAMES - ADAPTER_OPTION_NAMES)
    if unknown:
        raise ConfigurationError(
            f"Unknown OpenAI provider option(s): {', '.join(unknown)}. "
            f"Known options: {KNOWN_OPTIONS}."
        )


def _choice(value: Any, option: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigurationError(f"OpenAI option {option!r} must be one of {', '.join(choices)}.")
    return str(value)


def _what(option: str) -> str:
    return f"OpenAI option {option!r}"


def _number_between(value: Any, low: float, high: float) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    )


def _tokenizer(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "encode_ordinary_batch"):
        return value
    raise ConfigurationError(
        "OpenAI option 'tokenizer' must be an encoding name, 'estimate' or a tiktoken.Encoding."
    )
