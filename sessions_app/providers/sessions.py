"""The provider side of one stored session (the documents' provider sessions), and their factory.

One adapter instance (``Provider``) serves every session of a provider; what is per session
lives in the session: its ``provider_config`` (sent as the request's ``options``) and the
provider-native state of its latest reply (``provider_metadata["state"]``). A
``ProviderSession`` is a view of those through a ``ConversationSession`` handle.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import connections

from sessions_app.exceptions import ConfigurationError, SessionStateError, ValidationError
from sessions_app.models import Message, MessageRole, MessageStatus, Session
from sessions_app.providers import registry
from sessions_app.providers.base import ChatMessage, Completion, Provider
from sessions_app.providers.mock import validate_session_option
from sessions_app.providers.sdk import metadata_problem
from sessions_app.services import catalog, provider_state, sessions
from sessions_app.services.provider_requests import SYSTEM_PROMPT_KEY
from sessions_app.utils.asyncutils import async_twin
from sessions_app.validation import json_object

if TYPE_CHECKING:
    from sessions_app.handle import ConversationSession
    from sessions_app.manager import SessionManager
    from sessions_app.providers.openai import OpenAIProvider

R = TypeVar("R")


def _outside_event_loop(function: Callable[[], R]) -> R:
    """Run ``function`` here; from a thread running an event loop, in a worker thread.

    The documents call some of these methods without ``await`` from async code (e.g.
    ``set_response_pattern``, ``provider_session_id``), where the ORM refuses to run.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function()

    def in_worker() -> R:
        try:
            return function()
        finally:
            connections.close_all()  # this thread's connections only

    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(in_worker).result()


def _merged(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``current`` with ``changes`` applied; a ``None`` value removes its key."""
    merged = {**current, **changes}
    return {key: value for key, value in merged.items() if value is not None}


class IProviderSession(ABC):
    """The provider side of one session (the documents' interface, sync with ``a`` twins)."""

    @property
    @abstractmethod
    def provider_session_id(self) -> str | None:
        """The provider's own id of this conversation (e.g. an OpenAI conversation id)."""

    @abstractmethod
    def send_message(
        self, content: str, role: str = MessageRole.USER, metadata: dict[str, Any] | None = None
    ) -> Message:
        """Store a message; for a user message, return the provider's stored reply."""

    @abstractmethod
    def get_provider_metadata(self) -> dict[str, Any]:
        """Provider, model, native id and state, per-session config, capabilities."""

    @abstractmethod
    def update_provider_config(self, config: dict[str, Any]) -> None:
        """Merge ``config`` into the session's ``provider_config``, used from the next turn."""

    @abstractmethod
    def cleanup_provider_resources(self) -> None:
        """Release what the provider keeps on its side for this session."""


class ProviderSession(IProviderSession):
    """The provider side of the session behind ``session`` (a ``ConversationSession``)."""

    def __init__(self, session: ConversationSession) -> None:
        self.session = session

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.session.session_id} {self.session.provider!r}>"

    @property
    def adapter(self) -> Provider | None:
        """The provider adapter; ``None`` for a session without a provider (a TTL session)."""
        session = self.session
        return session.pipeline.get_provider(session.provider) if session.provider else None

    @property
    def provider_session_id(self) -> str | None:
        return self.get_provider_session_id()

    def get_provider_session_id(self) -> str | None:
        """As ``provider_session_id``; with the async twin ``aget_provider_session_id``."""

        def read() -> str | None:
            state = provider_state.latest_provider_state(self.session.record)
            return provider_state.provider_session_id(state)

        return _outside_event_loop(read)

    def send_message(
        self, content: str, role: str = MessageRole.USER, metadata: dict[str, Any] | None = None
    ) -> Message:
        return self.session.send_message(content, role=role, metadata=metadata)

    async def asend_message(
        self, content: str, role: str = MessageRole.USER, metadata: dict[str, Any] | None = None
    ) -> Message:
        return await self.session.asend_message(content, role=role, metadata=metadata)

    def get_provider_metadata(self) -> dict[str, Any]:
        adapter = self.adapter
        state = provider_state.latest_provider_state(self.session.record)
        return {
            "provider": self.session.provider,
            "model": self.session.model,
            "provider_session_id": provider_state.provider_session_id(state),
            "state": state,
            "provider_config": dict(self.session.config.provider_config),
            "capabilities": adapter.capabilities() if adapter else {},
        }

    def update_provider_config(self, config: dict[str, Any]) -> None:
        """Merge ``config`` (a ``None`` value removes a key); credentials are refused."""
        changes = json_object(config, "provider_config", session_id=self.session.session_id)
        adapter = self.adapter

        def compute(fresh: Session) -> dict[str, Any]:
            current = sessions.session_config(fresh)
            merged = _merged(current.provider_config, changes)
            if adapter is not None:
                adapter.check_session_options(merged)
            return {"config": current.merged({"provider_config": merged}).stored()}

        sessions.update_session(self.session.record, compute)

    def cleanup_provider_resources(self) -> None:
        adapter = self.adapter
        if adapter is not None:
            state = provider_state.latest_provider_state(self.session.record)
            adapter.cleanup_resources(self.session.session_id, state)

    aget_provider_session_id = async_twin(get_provider_session_id)
    aget_provider_metadata = async_twin(get_provider_metadata)
    aupdate_provider_config = async_twin(update_provider_config)
    acleanup_provider_resources = async_twin(cleanup_provider_resources)


class MockProviderSession(ProviderSession):
    """A mock-backed session: its reply pattern, delay and error rate, for this session only."""

    def set_response_pattern(self, pattern: str) -> None:
        """Replies become ``pattern`` with ``{input}`` replaced by the user's message."""
        self._set("response_pattern", pattern)

    def set_response_delay(self, delay_ms: float) -> None:
        """Each reply waits ``delay_ms`` milliseconds (spread over a stream's chunks)."""
        self._set("delay_ms", delay_ms)

    def set_error_rate(self, error_rate: float) -> None:
        """The share of provider calls that fail, from 0 to 1."""
        self._set("error_rate", error_rate)

    def _set(self, option: str, value: Any) -> None:
        valid = validate_session_option(option, value)
        _outside_event_loop(lambda: self.update_provider_config({option: valid}))

    aset_response_pattern = async_twin(set_response_pattern)
    aset_response_delay = async_twin(set_response_delay)
    aset_error_rate = async_twin(set_error_rate)


class OpenAIProviderSession(ProviderSession):
    """An OpenAI-backed session; the documents' thread is its Conversations API conversation.

    A conversation made here before the first turn is kept in the session's
    ``provider_config["conversation_id"]``, which the adapter uses from the next turn on.
    """

    @property
    def openai(self) -> OpenAIProvider:
        # Imported here: only OpenAI-backed sessions need the SDK loaded.
        from sessions_app.providers.openai import OpenAIProvider

        adapter = self.adapter
        if not isinstance(adapter, OpenAIProvider):  # the provider name was re-registered
            raise ConfigurationError(
                f"Provider {self.session.provider!r} is not an OpenAI adapter.",
                session_id=self.session.session_id,
            )
        return adapter

    @property
    def thread_id(self) -> str | None:
        return self.get_thread_id()

    def get_thread_id(self) -> str | None:
        """The session's conversation id; ``None`` before there is one (or in chat mode)."""
        return _outside_event_loop(self._conversation_id)

    def _conversation_id(self) -> str | None:
        from sessions_app.providers.openai import session_conversation

        config = self.session.config.provider_config
        state = provider_state.latest_provider_state(self.session.record)
        return session_conversation(self.session.session_id, config, state)

    def _signed(self, option: str, conversation_id: str) -> str:
        from sessions_app.providers.openai import signed_conversation

        return signed_conversation(self.session.session_id, option, conversation_id)

    def create_thread(self, metadata: dict[str, Any] | None = None) -> str:
        """The session's conversation, created (holding the stored history) if it has none
        yet; ``metadata`` (string values) is set on it either way."""
        labels = _conversation_metadata(metadata, self.session.session_id)
        adapter = self.openai
        existing = self._conversation_id()
        if existing:
            if metadata:
                adapter.update_conversation(existing, labels)
            return existing
        if not adapter.capabilities()["conversations"]:
            raise ConfigurationError(
                f"Provider {self.session.provider!r} keeps no conversations "
                f"(mode {adapter.mode!r}, store {adapter.store}).",
                session_id=self.session.session_id,
                error_code="no_conversations",
            )
        history = [ChatMessage(m.role, m.content) for m in self._dialogue()]
        conversation_id = adapter.create_conversation(metadata=labels, history=history)
        self.update_provider_config(
            {"conversation_id": self._signed("conversation_id", conversation_id)}
        )
        return conversation_id

    def get_thread_messages(self) -> list[Message]:
        """The conversation's messages as OpenAI keeps them (unsaved ``Message``s), or the
        stored history while the session has no conversation."""
        conversation_id = self._conversation_id()
        if conversation_id is None:
            return self.session.get_messages()
        items = self.openai.conversation_items(conversation_id)
        record = self.session.record
        return [
            Message(session=record, seq=seq, role=item.role, content=item.content)
            for seq, item in enumerate(items, start=1)
        ]

    def update_thread_metadata(self, metadata: dict[str, Any]) -> None:
        """Replace the conversation's metadata (string values)."""
        labels = _conversation_metadata(metadata, self.session.session_id)
        self.openai.update_conversation(self._require_conversation(), labels)

    def delete_thread(self) -> None:
        """Delete the conversation at OpenAI; the next turn starts a new one."""
        conversation_id = self._conversation_id()
        if conversation_id is None:
            return
        state = {"conversation_id": conversation_id}
        self.openai.cleanup_resources(self.session.session_id, state)
        ended = self._signed("ended_conversation_id", conversation_id)
        self.update_provider_config({"conversation_id": None, "ended_conversation_id": ended})

    def get_thread_runs(self) -> list[dict[str, Any]]:
        """One entry per stored reply, oldest first (the Responses API has no runs)."""
        return [_run(reply) for reply in self.session.get_messages(role=MessageRole.ASSISTANT)]

    def _require_conversation(self) -> str:
        conversation_id = self._conversation_id()
        if conversation_id is None:
            raise SessionStateError(
                "The session has no OpenAI conversation yet; create_thread() makes one.",
                session_id=self.session.session_id,
                error_code="no_thread",
            )
        return conversation_id

    def _dialogue(self) -> list[Message]:
        return [
            message
            for message in self.session.get_messages()
            if message.role in (MessageRole.USER, MessageRole.ASSISTANT)
            and message.status != MessageStatus.ERROR
            and message.content
        ]

    acreate_thread = async_twin(create_thread)
    aget_thread_id = async_twin(get_thread_id)
    aget_thread_messages = async_twin(get_thread_messages)
    aupdate_thread_metadata = async_twin(update_thread_metadata)
    adelete_thread = async_twin(delete_thread)
    aget_thread_runs = async_twin(get_thread_runs)


class AnthropicProviderSession(ProviderSession):
    """An Anthropic-backed session: its history is ours (the API keeps no state)."""

    def get_conversation_history(self) -> list[Message]:
        return self.session.get_messages()

    def update_system_prompt(self, system_prompt: str) -> None:
        """Make ``system_prompt`` the start of every request's system prompt (the session's
        ``system_context["system_prompt"]``); an empty one removes it."""
        if not isinstance(system_prompt, str):
            raise ValidationError(
                "system_prompt must be a string.", session_id=self.session.session_id
            )
        self.session.update_context({"system_context": {SYSTEM_PROMPT_KEY: system_prompt or None}})

    def get_model_info(self) -> dict[str, Any]:
        """The session's model with what is known of it: limits, caching and prices."""
        adapter = self.adapter
        model = self.session.model
        capabilities = adapter.capabilities() if adapter else {}
        prices = _prices_per_million(adapter, model) if adapter else None
        return {
            "provider": self.session.provider,
            "model": model,
            "max_tokens": capabilities.get("max_tokens"),
            "prompt_caching": capabilities.get("prompt_caching", False),
            "context_budget": adapter.context_budget(model) if adapter else None,
            "price_known": prices is not None,
            "prices_per_million": prices,
            "capabilities": capabilities,
        }

    aget_conversation_history = async_twin(get_conversation_history)
    aupdate_system_prompt = async_twin(update_system_prompt)
    aget_model_info = async_twin(get_model_info)


# Views by adapter class path, looked up along the adapter's MRO (a subclass gets its parent's
# view); by path, so that this module imports no SDK.
_VIEWS: dict[str, type[ProviderSession]] = {
    "sessions_app.providers.mock.MockProvider": MockProviderSession,
    "sessions_app.providers.openai.OpenAIProvider": OpenAIProviderSession,
    "sessions_app.providers.anthropic.AnthropicProvider": AnthropicProviderSession,
}
_PRICE_PROBE_TOKENS = 1000  # few enough to stay in a model's first price tier


def provider_session_for(session: ConversationSession) -> ProviderSession:
    """The view that fits the session's adapter: ``MockProviderSession`` for a mock-backed
    session, ``OpenAIProviderSession`` / ``AnthropicProviderSession`` for those adapters."""
    adapter = session.pipeline.get_provider(session.provider) if session.provider else None
    for cls in type(adapter).__mro__ if adapter is not None else ():
        view = _VIEWS.get(f"{cls.__module__}.{cls.__qualname__}")
        if view is not None:
            return view(session)
    return ProviderSession(session)


def _conversation_metadata(metadata: Any, session_id: str) -> dict[str, str]:
    """``metadata`` as OpenAI takes it, with the session's id unless it names another."""
    labels = json_object(metadata or {}, "metadata", session_id=session_id)
    if problem := metadata_problem(labels):
        raise ValidationError(f"Conversation metadata: {problem}.", session_id=session_id)
    return {"session_id": session_id, **labels}


def _run(reply: Message) -> dict[str, Any]:
    state = reply.provider_metadata.get("state") or {}
    return {
        "id": state.get("response_id") or reply.provider_message_id or None,
        "message_id": str(reply.pk),
        "conversation_id": state.get("conversation_id"),
        "model": reply.provider_metadata.get("model"),
        "status": reply.status,
        "created_at": reply.created_at,
        "input_tokens": reply.input_tokens,
        "output_tokens": reply.output_tokens,
        "cached_input_tokens": reply.cached_input_tokens,
        "reasoning_tokens": reply.reasoning_tokens,
        "processing_time_ms": reply.processing_time_ms,
    }


def _prices_per_million(adapter: Provider, model: str) -> dict[str, Decimal] | None:
    """What a million tokens of each kind cost with ``model``; ``None`` when unknown."""
    probe = _PRICE_PROBE_TOKENS
    usages = {
        "input": Completion("", model, input_tokens=probe),
        "output": Completion("", model, output_tokens=probe),
        "cached_input": Completion("", model, input_tokens=probe, cached_input_tokens=probe),
        "cache_write": Completion("", model, input_tokens=probe, cache_write_tokens=probe),
    }
    prices: dict[str, Decimal] = {}
    for kind, usage in usages.items():
        price = adapter.price(usage)
        if price is None:
            return None
        prices[kind] = price * (1_000_000 // probe)
    return prices


def create_provider_session(provider: str, api_key: str | None = None, **kwargs: Any) -> Provider:
    """A new adapter for ``provider`` as configured in settings, with ``api_key`` and ``kwargs``
    over its ``OPTIONS``. It is not registered; one adapter serves many sessions."""
    if api_key is not None:
        kwargs["api_key"] = api_key
    return registry.build_provider(provider, **kwargs)


class ProviderSessionFactory:
    """Registers providers with their options (e.g. API keys) and opens per-session views.

    ``provider_configs`` maps a configured provider name to options for its adapter, e.g.
    ``{"openai": {"api_key": "sk-…"}, "mock": None}``; each is registered for the whole
    process. Sessions are looked up through ``manager`` (default: the default sandbox's).
    """

    def __init__(
        self,
        provider_configs: Mapping[str, Mapping[str, Any] | None] | None = None,
        *,
        manager: SessionManager | None = None,
    ) -> None:
        self._manager = manager
        self.providers: dict[str, Provider] = {
            name: create_provider_session(name, **(options or {}))
            for name, options in (provider_configs or {}).items()
        }
        if manager is not None:
            self.install(manager)

    def install(self, manager: SessionManager) -> None:
        """Let ``manager``'s sessions use this factory's providers."""
        manager.pipeline.providers.update(self.providers)

    def __repr__(self) -> str:
        return f"<ProviderSessionFactory providers={self.list_providers()!r}>"

    def create_provider_session(
        self, provider: str, session_id: Any, model: str, config: dict[str, Any] | None = None
    ) -> ProviderSession:
        """The provider view of the existing session ``session_id``, which must use
        ``provider`` and ``model``; ``config`` is merged into its ``provider_config``."""
        session = self._find(session_id)
        if (session.provider, session.model) != (provider, model):
            raise ConfigurationError(
                f"Session {session.session_id} uses provider {session.provider!r} with model "
                f"{session.model!r}, not {provider!r} with {model!r}.",
                session_id=session.session_id,
                error_code="provider_mismatch",
            )
        view = provider_session_for(session)
        if config:
            view.update_provider_config(config)
        return view

    def _find(self, session_id: Any) -> ConversationSession:
        # Imported here: the manager imports the handle, which imports this module.
        from sessions_app.manager import SessionManager

        if self._manager is None:
            self._manager = SessionManager()
            self.install(self._manager)
        return self._manager.get_session(session_id)

    def register_provider(
        self,
        name: str,
        provider_class: type[Provider],
        default_config: dict[str, Any] | None = None,
    ) -> None:
        """Make ``provider_class(**default_config)`` available as ``name`` to the sessions
        of this factory's managers."""
        self.providers[name] = provider_class(name=name, **(default_config or {}))
        if self._manager is not None:
            self.install(self._manager)

    def list_providers(self) -> list[str]:
        return sorted(set(registry.available_providers()) | set(self.providers))

    def get_provider_info(self, provider: str) -> dict[str, Any]:
        """The provider as ``GET providers`` lists it: models, ``any_model``, capabilities."""
        return catalog.provider_info(provider, self.providers.get(provider))

    acreate_provider_session = async_twin(create_provider_session)
