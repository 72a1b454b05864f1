"""The documents' session object: coroutine methods over a ``ConversationSession``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sessions_app.aio.providers import AsyncProviderSession
from sessions_app.handle import ConversationSession
from sessions_app.metrics import SessionMetrics
from sessions_app.models import Message, MessageRole, SessionStatus
from sessions_app.services.context import SessionContext
from sessions_app.services.turns import AsyncTurnStream
from sessions_app.session_config import SessionConfig


class AsyncConversationSession:
    """One conversation, awaited: ``await session.send_message("Hi")``.

    Reads reflect the last operation or ``await session.refresh()``; ``sync`` is
    the Django-style handle underneath.
    """

    def __init__(self, session: ConversationSession) -> None:
        self.sync = session

    def __repr__(self) -> str:
        return f"<AsyncConversationSession {self.session_id} {self.status}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AsyncConversationSession) and other.session_id == self.session_id

    def __hash__(self) -> int:
        return hash(self.session_id)

    # Attributes ---------------------------------------------------------------

    @property
    def session_id(self) -> str:
        return self.sync.session_id

    @property
    def session_key(self) -> str | None:
        """The secret key, known only on the object that created the session."""
        return self.sync.session_key

    @property
    def user_id(self) -> str | None:
        return self.sync.user_id

    @property
    def sandbox_id(self) -> str:
        return self.sync.sandbox_id

    @property
    def provider(self) -> str:
        return self.sync.provider

    @property
    def model(self) -> str:
        return self.sync.model

    @property
    def status(self) -> SessionStatus:
        return self.sync.status

    @property
    def name(self) -> str:
        return self.sync.name

    @property
    def description(self) -> str:
        return self.sync.description

    @property
    def tags(self) -> list[str]:
        return self.sync.tags

    @property
    def metadata(self) -> dict[str, Any]:
        return self.sync.metadata

    @property
    def created_at(self) -> datetime:
        return self.sync.created_at

    @property
    def last_activity(self) -> datetime:
        return self.sync.last_activity

    @property
    def expires_at(self) -> datetime | None:
        return self.sync.expires_at

    @property
    def message_count(self) -> int:
        return self.sync.message_count

    @property
    def config(self) -> SessionConfig:
        return self.sync.config

    @property
    def provider_session_id(self) -> str | None:
        return self.sync.provider_session_id

    @property
    def provider_session(self) -> AsyncProviderSession:
        return AsyncProviderSession(self.sync.provider_session)

    # Messages -----------------------------------------------------------------

    async def send_message(
        self, content: str, role: str = MessageRole.USER, metadata: dict[str, Any] | None = None
    ) -> Message:
        """Store a message; for a user message, return the provider's stored reply."""
        return await self.sync.asend_message(content, role, metadata)

    async def send_system_message(
        self, content: str, metadata: dict[str, Any] | None = None
    ) -> Message:
        return await self.sync.asend_system_message(content, metadata)

    def stream_message(
        self, content: str, metadata: dict[str, Any] | None = None
    ) -> AsyncTurnStream:
        """``async for``: the stored user message, the reply's deltas, then the stored reply."""
        return self.sync.astream_message(content, metadata)

    async def add_message(
        self,
        role: str,
        content: str,
        timestamp: datetime | str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        return await self.sync.aadd_message(role, content, timestamp, metadata)

    async def get_messages(
        self,
        limit: int | None = None,
        role: str | None = None,
        since: datetime | None = None,
        *,
        start_time: datetime | None = None,
    ) -> list[Message]:
        return await self.sync.aget_messages(limit, role, since, start_time=start_time)

    async def get_message(self, message_id: Any) -> Message | None:
        return await self.sync.aget_message(message_id)

    async def clear_messages(self) -> int:
        return await self.sync.aclear_messages()

    # Context, metrics, configuration ------------------------------------------

    async def update_context(
        self, context: dict[str, Any], expected_version: int | None = None
    ) -> SessionContext:
        return await self.sync.aupdate_context(context, expected_version)

    async def set_context_value(self, path: str, value: Any) -> SessionContext:
        return await self.sync.aset_context_value(path, value)

    async def get_context(self) -> SessionContext:
        return await self.sync.aget_context()

    async def get_metrics(self) -> SessionMetrics:
        return await self.sync.aget_metrics()

    async def get_provider_metadata(self) -> dict[str, Any]:
        return await self.sync.aget_provider_metadata()

    async def update_config(self, changes: dict[str, Any]) -> SessionConfig:
        return await self.sync.aupdate_config(changes)

    async def update_metadata(self, changes: dict[str, Any], merge: bool = True) -> dict[str, Any]:
        return await self.sync.aupdate_metadata(changes, merge)

    # Lifecycle ----------------------------------------------------------------

    async def refresh(self) -> AsyncConversationSession:
        await self.sync.arefresh()
        return self

    async def archive(self) -> None:
        await self.sync.aarchive()

    async def delete(self) -> None:
        await self.sync.adelete()

    async def export_conversation(self) -> dict[str, Any]:
        return await self.sync.aexport_conversation()


# The 001 reference calls the session class BaseSession.
BaseSession = AsyncConversationSession
