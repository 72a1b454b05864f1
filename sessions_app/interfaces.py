"""The documents' ``interfaces`` module: abstract interfaces and the data classes.

The data classes are the app's own (``SessionMessage`` is the ``Message`` model,
``SessionContext`` the context read, ``SessionMetrics`` a metrics read). The
interfaces describe the async objects of ``sessions_app.aio``, which are
registered as their implementations.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from sessions_app.metrics import SessionAnalytics, SessionMetrics
from sessions_app.models import MessageRole, SessionMessage, SessionStatus
from sessions_app.pipeline import (
    BaseSessionLifecycleHook,
    BaseSessionMiddleware,
    ISessionLifecycleHook,
    ISessionMiddleware,
)
from sessions_app.services.context import SessionContext
from sessions_app.session_config import SessionConfig
from sessions_app.storage import ISessionStorage


class ISession(ABC):
    """A conversation; implemented by ``sessions_app.aio.AsyncConversationSession``."""

    @property
    @abstractmethod
    def session_id(self) -> str: ...

    @property
    @abstractmethod
    def user_id(self) -> str | None: ...

    @property
    @abstractmethod
    def provider(self) -> str: ...

    @property
    @abstractmethod
    def model(self) -> str: ...

    @property
    @abstractmethod
    def status(self) -> SessionStatus: ...

    @property
    @abstractmethod
    def created_at(self) -> datetime: ...

    @property
    @abstractmethod
    def last_activity(self) -> datetime: ...

    @property
    @abstractmethod
    def message_count(self) -> int: ...

    @abstractmethod
    async def send_message(
        self, content: str, role: str = "user", metadata: dict[str, Any] | None = None
    ) -> SessionMessage: ...

    @abstractmethod
    async def send_system_message(
        self, content: str, metadata: dict[str, Any] | None = None
    ) -> SessionMessage: ...

    @abstractmethod
    async def get_messages(
        self, limit: int | None = None, role: str | None = None, since: datetime | None = None
    ) -> list[SessionMessage]: ...

    @abstractmethod
    async def get_message(self, message_id: str) -> SessionMessage | None: ...

    @abstractmethod
    async def clear_messages(self) -> Any: ...

    @abstractmethod
    async def update_context(self, context: dict[str, Any]) -> Any: ...

    @abstractmethod
    async def get_context(self) -> SessionContext: ...

    @abstractmethod
    async def get_metrics(self) -> SessionMetrics: ...

    @abstractmethod
    async def archive(self) -> None: ...

    @abstractmethod
    async def delete(self) -> None: ...

    @abstractmethod
    async def export_conversation(self) -> dict[str, Any]: ...


class IProviderSession(ABC):
    """The provider side of one session; implemented by ``sessions_app.aio.AsyncProviderSession``
    (the sync view is ``sessions_app.providers.sessions.ProviderSession``)."""

    @property
    @abstractmethod
    def provider_session_id(self) -> str | None: ...

    @abstractmethod
    async def send_message(
        self, content: str, role: str = "user", metadata: dict[str, Any] | None = None
    ) -> SessionMessage: ...

    @abstractmethod
    async def get_provider_metadata(self) -> dict[str, Any]: ...

    @abstractmethod
    async def update_provider_config(self, config: dict[str, Any]) -> None: ...

    @abstractmethod
    async def cleanup_provider_resources(self) -> None: ...


class ISessionManager(ABC):
    """Creates and finds sessions; implemented by ``sessions_app.aio.SessionManager``."""

    @abstractmethod
    async def create_session(
        self,
        user_id: str,
        provider: str,
        model: str,
        session_config: SessionConfig | None = None,
        provider_config: dict[str, Any] | None = None,
    ) -> ISession: ...

    @abstractmethod
    async def get_session(self, session_id: str) -> ISession: ...

    @abstractmethod
    async def get_user_sessions(
        self,
        user_id: str,
        status: SessionStatus | None = None,
        limit: int | None = None,
        since: datetime | None = None,
    ) -> list[ISession]: ...

    @abstractmethod
    async def search_sessions(
        self,
        user_id: str | None = None,
        provider: str | None = None,
        status: SessionStatus | None = None,
        tags: list[str] | None = None,
        limit: int | None = None,
    ) -> list[ISession]: ...

    @abstractmethod
    async def delete_session(self, session_id: str) -> Any: ...

    @abstractmethod
    async def archive_session(self, session_id: str) -> Any: ...

    @abstractmethod
    async def cleanup_inactive_sessions(
        self, days: int = 30, status: SessionStatus | None = None
    ) -> int: ...

    @abstractmethod
    async def get_analytics(
        self,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        user_id: str | None = None,
    ) -> SessionAnalytics: ...

    @abstractmethod
    def add_middleware(self, middleware: ISessionMiddleware) -> None: ...

    @abstractmethod
    def add_lifecycle_hook(self, hook: ISessionLifecycleHook) -> None: ...


__all__ = [
    "BaseSessionLifecycleHook",
    "BaseSessionMiddleware",
    "IProviderSession",
    "ISession",
    "ISessionLifecycleHook",
    "ISessionManager",
    "ISessionMiddleware",
    "ISessionStorage",
    "MessageRole",
    "SessionAnalytics",
    "SessionConfig",
    "SessionContext",
    "SessionMessage",
    "SessionMetrics",
    "SessionStatus",
]
