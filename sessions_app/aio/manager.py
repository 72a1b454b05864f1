"""The documents' ``SessionManager``: coroutine methods over the Django-style manager.

It covers both documents that call their manager ``SessionManager``: the
conversational one (``SessionManager(storage, provider_factory, config)``) and the
TTL one (``SessionManager(sandbox_id="my-app", default_ttl_hours=24)``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sessions_app.aio.config import SessionManagerConfig
from sessions_app.aio.session import AsyncConversationSession
from sessions_app.events import Subscription
from sessions_app.exceptions import ConfigurationError
from sessions_app.handle import ConversationSession
from sessions_app.manager import SessionManager as SyncSessionManager
from sessions_app.metrics import SessionAnalytics
from sessions_app.pipeline import Pipeline
from sessions_app.providers.sessions import ProviderSessionFactory
from sessions_app.session_config import SessionConfig
from sessions_app.storage import ISessionStorage, resolve_storage

# What the documents' SessionManagerConfig may say here; the rest is SESSIONS_APP's.
CONFIG_KEYS = frozenset({"sandbox_id", "default_ttl_hours", "session_defaults"})


def _wrap(sessions: list[ConversationSession]) -> list[AsyncConversationSession]:
    return [AsyncConversationSession(session) for session in sessions]


class SessionManager:
    """Sessions of one sandbox, awaited: ``await manager.create_session(...)``.

    ``storage`` names or objects all mean the Django database; ``provider_factory``
    (a ``ProviderSessionFactory``) has configured its providers when it was built.
    ``sync`` is the Django-style manager underneath.
    """

    def __init__(
        self,
        storage: str | ISessionStorage | None = None,
        provider_factory: ProviderSessionFactory | None = None,
        config: SessionManagerConfig | dict[str, Any] | None = None,
        *,
        sandbox_id: str | None = None,
        default_ttl_hours: float | None = None,
        session_defaults: SessionConfig | dict[str, Any] | None = None,
        pipeline: Pipeline | None = None,
    ) -> None:
        self.storage = resolve_storage(storage)
        self.provider_factory = provider_factory
        options = (
            config.to_dict() if isinstance(config, SessionManagerConfig) else dict(config or {})
        )
        unknown = set(options) - CONFIG_KEYS
        if unknown:
            raise ConfigurationError(
                f"Unknown manager config {sorted(unknown)}; set the app's options in "
                "settings.SESSIONS_APP."
            )
        self.sync = SyncSessionManager(
            options.get("sandbox_id", sandbox_id),
            default_ttl_hours=options.get("default_ttl_hours", default_ttl_hours),
            session_defaults=options.get("session_defaults", session_defaults),
            pipeline=pipeline,
        )
        if provider_factory is not None:
            provider_factory.install(self.sync)
        self._adopt(self.sync)

    @classmethod
    def of(cls, manager: SyncSessionManager) -> SessionManager:
        """The async facade of ``manager`` (the same one each time)."""
        facade = getattr(manager, "facade", None)
        if isinstance(facade, cls):
            return facade
        wrapper = cls.__new__(cls)
        wrapper.storage = None
        wrapper.provider_factory = None
        wrapper.sync = manager
        wrapper._adopt(manager)
        return wrapper

    def _adopt(self, manager: SyncSessionManager) -> None:
        manager.facade = self
        # Middleware and hooks written for this API get the async session object.
        manager.pipeline.handle_wrapper = AsyncConversationSession

    def __repr__(self) -> str:
        return f"<aio.SessionManager sandbox={self.sandbox_id!r}>"

    @property
    def sandbox_id(self) -> str:
        return self.sync.sandbox_id

    @property
    def pipeline(self) -> Pipeline:
        return self.sync.pipeline

    # Conversations ------------------------------------------------------------

    async def create_session(
        self,
        user_id: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        session_config: SessionConfig | dict[str, Any] | None = None,
        provider_config: dict[str, Any] | None = None,
        *,
        user: Any = None,
        metadata: dict[str, Any] | None = None,
        ttl_seconds: float | None = None,
    ) -> AsyncConversationSession:
        created = await self.sync.acreate_session(
            user_id,
            provider,
            model,
            session_config,
            provider_config,
            user=user,
            metadata=metadata,
            ttl_seconds=ttl_seconds,
        )
        return AsyncConversationSession(created)

    async def get_session(self, session_id: Any) -> AsyncConversationSession:
        """Raises ``SessionNotFoundError`` when there is no such live session here."""
        return AsyncConversationSession(await self.sync.aget_session(session_id))

    async def find_session(self, session_id: Any) -> AsyncConversationSession | None:
        found = await self.sync.afind_session(session_id)
        return AsyncConversationSession(found) if found else None

    async def get_user_sessions(
        self,
        user_id: Any,
        status: str | list[str] | None = None,
        limit: int | None = 50,
        since: datetime | str | None = None,
    ) -> list[AsyncConversationSession]:
        return _wrap(await self.sync.aget_user_sessions(user_id, status, limit, since))

    async def search_sessions(
        self,
        user_id: Any = None,
        provider: str | None = None,
        status: str | list[str] | None = None,
        tags: list[str] | str | None = None,
        limit: int | None = 50,
        *,
        model: str | None = None,
        query: str | None = None,
        since: datetime | str | None = None,
    ) -> list[AsyncConversationSession]:
        found = await self.sync.asearch_sessions(
            user_id, provider, status, tags, limit, model=model, query=query, since=since
        )
        return _wrap(found)

    async def delete_session(self, session_id: Any, hard: bool = False) -> bool:
        return await self.sync.adelete_session(session_id, hard)

    async def archive_session(self, session_id: Any) -> bool:
        return await self.sync.aarchive_session(session_id)

    async def cleanup_inactive_sessions(
        self, days: float = 30, status: str | list[str] | None = None
    ) -> int:
        return await self.sync.acleanup_inactive_sessions(days, status)

    async def cleanup_archived_sessions(self, days: float = 90) -> int:
        return await self.sync.acleanup_archived_sessions(days)

    async def cleanup_deleted_sessions(self, days: float = 365) -> int:
        return await self.sync.acleanup_deleted_sessions(days)

    async def purge_deleted_sessions(self, older_than_seconds: float | None = None) -> int:
        return await self.sync.apurge_deleted_sessions(older_than_seconds)

    async def get_analytics(
        self,
        start_date: date | datetime | str | None = None,
        end_date: date | datetime | str | None = None,
        user_id: Any = None,
    ) -> SessionAnalytics:
        return await self.sync.aget_analytics(start_date, end_date, user_id)

    async def export_sessions(self, user_id: Any = None, format: str = "json") -> str:
        return await self.sync.aexport_sessions(user_id, format)

    async def health_check(self) -> dict[str, Any]:
        return await self.sync.ahealth_check()

    async def optimize_storage(self) -> dict[str, Any]:
        return await self.sync.aoptimize_storage()

    async def close(self) -> None:
        self.sync.close()
        if self.storage is not None:
            await self.storage.close()

    def session_events(self) -> Subscription:
        return self.sync.session_events()

    def add_middleware(self, middleware: Any) -> None:
        self.sync.add_middleware(middleware)

    def add_lifecycle_hook(self, hook: Any, callback: Any = None) -> None:
        """``add_lifecycle_hook(hook_object)`` or ``add_lifecycle_hook(event, callable)``."""
        if callback is None:
            self.sync.add_lifecycle_hook(hook)
        else:
            self.sync.add_lifecycle_hook(hook, callback)

    # TTL sessions -------------------------------------------------------------

    async def allocate_session(
        self,
        user_id: str | None = None,
        ttl_hours: float | None = None,
        custom_metadata: dict[str, Any] | None = None,
        *,
        session_id: Any = None,
    ) -> str:
        return await self.sync.aallocate_session(
            user_id, ttl_hours, custom_metadata, session_id=session_id
        )

    async def validate_session(self, session_id: Any) -> bool:
        return await self.sync.avalidate_session(session_id)

    async def get_session_info(self, session_id: Any) -> dict[str, Any] | None:
        return await self.sync.aget_session_info(session_id)

    async def update_session_metadata(
        self, session_id: Any, custom_metadata: dict[str, Any], merge: bool = True
    ) -> bool:
        return await self.sync.aupdate_session_metadata(session_id, custom_metadata, merge)

    async def extend_session_ttl(self, session_id: Any, additional_hours: float) -> bool:
        return await self.sync.aextend_session_ttl(session_id, additional_hours)

    async def cleanup_expired_sessions(self) -> int:
        return await self.sync.acleanup_expired_sessions()

    # Grid paths (no I/O, so not coroutines, as in the document) ---------------

    def generate_artifact_key(self, session_id: Any, artifact_id: str) -> str:
        return self.sync.generate_artifact_key(session_id, artifact_id)

    def get_canonical_prefix(self, session_id: Any) -> str:
        return self.sync.get_canonical_prefix(session_id)

    def get_session_prefix_pattern(self) -> str:
        return self.sync.get_session_prefix_pattern()

    def parse_grid_key(self, grid_key: str) -> dict[str, str | None] | None:
        return self.sync.parse_grid_key(grid_key)
