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
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import connections

from sessions_app.exceptions import ConfigurationError
from sessions_app.models import Message, MessageRole, Session
from sessions_app.providers import registry
from sessions_app.providers.base import Provider
from sessions_app.providers.mock import MockProvider, validate_session_option
from sessions_app.services import catalog, provider_state, sessions
from sessions_app.utils.asyncutils import async_twin
from sessions_app.validation import json_object

if TYPE_CHECKING:
    from sessions_app.handle import ConversationSession
    from sessions_app.manager import SessionManager

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
    """An OpenAI-backed session; the documents' ``thread_id`` is its provider session id."""

    @property
    def thread_id(self) -> str | None:
        return self.provider_session_id


class AnthropicProviderSession(ProviderSession):
    """An Anthropic-backed session (its history is ours; no server-side state)."""


def provider_session_for(session: ConversationSession) -> ProviderSession:
    """The view that fits the session's adapter: ``MockProviderSession`` for a mock-backed one."""
    adapter = session.pipeline.get_provider(session.provider) if session.provider else None
    if isinstance(adapter, MockProvider):
        return MockProviderSession(session)
    return ProviderSession(session)


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
