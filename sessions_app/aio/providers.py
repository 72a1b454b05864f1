"""The documents' provider sessions and their factory, awaited."""

from __future__ import annotations

from typing import Any

from sessions_app.models import Message, MessageRole
from sessions_app.providers import sessions as provider_sessions

# The documents declare these ``async``: awaited, they run the sync view's ``a`` twin.
DOCUMENTED_ASYNC = frozenset(
    {
        "create_thread",
        "get_thread_messages",
        "update_thread_metadata",
        "delete_thread",
        "get_thread_runs",
        "get_conversation_history",
        "update_system_prompt",
        "get_model_info",
    }
)


class AsyncProviderSession:
    """The provider side of one session: ``await view.get_provider_metadata()``.

    Other attributes (``set_response_pattern`` of a mock-backed session…) are the
    sync view's, which may be called from async code as the guide does.
    """

    def __init__(self, view: provider_sessions.ProviderSession) -> None:
        self.sync = view

    def __repr__(self) -> str:
        return f"<AsyncProviderSession of {self.sync!r}>"

    def __getattr__(self, name: str) -> Any:
        if name in DOCUMENTED_ASYNC:
            return getattr(self.sync, f"a{name}")
        return getattr(self.sync, name)

    @property
    def provider_session_id(self) -> str | None:
        return self.sync.provider_session_id

    async def send_message(
        self, content: str, role: str = MessageRole.USER, metadata: dict[str, Any] | None = None
    ) -> Message:
        return await self.sync.asend_message(content, role, metadata)

    async def get_provider_metadata(self) -> dict[str, Any]:
        return await self.sync.aget_provider_metadata()

    async def update_provider_config(self, config: dict[str, Any]) -> None:
        await self.sync.aupdate_provider_config(config)

    async def cleanup_provider_resources(self) -> None:
        await self.sync.acleanup_provider_resources()


class ProviderSessionFactory(provider_sessions.ProviderSessionFactory):
    """``await factory.create_provider_session(provider, session_id, model)``."""

    async def create_provider_session(  # type: ignore[override]
        self, provider: str, session_id: Any, model: str, config: dict[str, Any] | None = None
    ) -> AsyncProviderSession:
        view = await self.acreate_provider_session(provider, session_id, model, config)
        return AsyncProviderSession(view)
