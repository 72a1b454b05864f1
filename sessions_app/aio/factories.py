"""The documents' factory functions and global-manager helpers, as coroutines where they were."""

from __future__ import annotations

import functools
from typing import Any

from asgiref.sync import sync_to_async

from sessions_app import factories, global_manager
from sessions_app.aio.manager import SessionManager
from sessions_app.aio.session import AsyncConversationSession
from sessions_app.providers.base import Provider
from sessions_app.providers.sessions import create_provider_session as _create_provider_session
from sessions_app.services.context import SessionContext


@functools.wraps(factories.create_session_manager)
def create_session_manager(*args: Any, **kwargs: Any) -> SessionManager:
    """See ``sessions_app.factories.create_session_manager``; no I/O, so not a coroutine."""
    return SessionManager.of(factories.create_session_manager(*args, **kwargs))


async def create_simple_session(
    user_id: str,
    provider: str = "mock",
    model: str = "mock-model",
    api_key: str | None = None,
    storage: str = "memory",
) -> AsyncConversationSession:
    created = await sync_to_async(factories.create_simple_session)(
        user_id, provider, model, api_key, storage
    )
    return AsyncConversationSession(created)


def create_provider_session(provider: str, api_key: str, **kwargs: Any) -> Provider:
    return _create_provider_session(provider, api_key, **kwargs)


def configure_development_sessions() -> SessionManager:
    return SessionManager.of(global_manager.configure_development_sessions())


def configure_production_sessions(
    storage_config: dict[str, Any] | None = None, providers: dict[str, str | None] | None = None
) -> SessionManager:
    return SessionManager.of(
        global_manager.configure_production_sessions(storage_config, providers)
    )


def initialize_default_session_manager() -> SessionManager:
    return SessionManager.of(global_manager.initialize_default_session_manager())


def set_global_session_manager(manager: SessionManager | None) -> None:
    global_manager.set_global_session_manager(manager.sync if manager is not None else None)


def get_global_session_manager() -> SessionManager | None:
    manager = global_manager.get_global_session_manager()
    return SessionManager.of(manager) if manager is not None else None


async def get_or_create_session(
    user_id: str, provider: str = "mock", model: str = "mock-model"
) -> AsyncConversationSession:
    """The user's newest active session of the global manager, or a new one."""
    found = await global_manager.aget_or_create_session(user_id, provider, model)
    return AsyncConversationSession(found)


def session_context(session: AsyncConversationSession) -> SessionContext:
    """``async with session_context(session) as s:`` archives the session on an error."""
    return SessionContext(session)


get_session_manager = get_global_session_manager
set_session_manager = set_global_session_manager
