"""One process-wide manager, as the documents' global helpers keep it."""

from __future__ import annotations

import threading
from typing import Any

from sessions_app.exceptions import SessionError
from sessions_app.factories import create_session_manager
from sessions_app.handle import ConversationSession
from sessions_app.manager import SessionManager
from sessions_app.models import SessionStatus
from sessions_app.utils.asyncutils import async_twin

_lock = threading.Lock()
_manager: SessionManager | None = None


def set_global_session_manager(manager: SessionManager | None) -> None:
    if manager is not None and not isinstance(manager, SessionManager):
        raise SessionError(f"{manager!r} is not a SessionManager.")
    global _manager
    with _lock:
        _manager = manager


def get_global_session_manager() -> SessionManager | None:
    return _manager


def initialize_default_session_manager() -> SessionManager:
    """The global manager, created (default sandbox and settings) when there is none."""
    global _manager
    with _lock:
        if _manager is None:
            _manager = create_session_manager()
        return _manager


def configure_development_sessions() -> SessionManager:
    """A development-preset manager, made the global one."""
    manager = create_session_manager(storage="memory", preset="development")
    set_global_session_manager(manager)
    return manager


def configure_production_sessions(
    storage_config: dict[str, Any] | None = None, providers: dict[str, str | None] | None = None
) -> SessionManager:
    """A production-preset manager, made the global one."""
    manager = create_session_manager(
        storage_config=storage_config, providers=providers, preset="production"
    )
    set_global_session_manager(manager)
    return manager


def require_global_session_manager() -> SessionManager:
    manager = _manager
    if manager is None:
        raise SessionError("No global session manager configured")
    return manager


def get_or_create_session(
    user_id: str, provider: str = "mock", model: str = "mock-model"
) -> ConversationSession:
    """The user's newest active session of the global manager, or a new one."""
    manager = require_global_session_manager()
    found = manager.get_user_sessions(user_id=user_id, status=SessionStatus.ACTIVE, limit=1)
    return found[0] if found else manager.create_session(user_id, provider, model)


aget_or_create_session = async_twin(get_or_create_session)

# The names of the documents' module reference (001).
get_session_manager = get_global_session_manager
set_session_manager = set_global_session_manager
