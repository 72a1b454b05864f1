"""``ConversationSession``: the handle a manager returns for one session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async

from sessions_app.models import Message, MessageRole, Session
from sessions_app.providers import TextDelta
from sessions_app.services import analytics, context, export, messages, sessions, ttl
from sessions_app.services.context import ContextSnapshot
from sessions_app.services.selectors import get_session_or_raise, parse_session_id
from sessions_app.session_config import SessionConfig
from sessions_app.utils.asyncutils import async_twin

if TYPE_CHECKING:
    from sessions_app.manager import SessionManager


class ConversationSession:
    """One session of a manager's sandbox; reads reflect the last ``refresh()``."""

    def __init__(self, manager: SessionManager, session: Session, session_key: str | None = None):
        self.manager = manager
        self.record = session
        # The secret key is only known right after creation; it is never stored.
        self.session_key = session_key

    def __repr__(self) -> str:
        return f"<ConversationSession {self.session_id} {self.status}>"

    @property
    def session_id(self) -> str:
        return str(self.record.pk)

    @property
    def status(self) -> str:
        return self.record.status

    @property
    def provider(self) -> str:
        return self.record.provider

    @property
    def model(self) -> str:
        return self.record.model

    @property
    def user_id(self) -> str | None:
        return self.record.external_user_id or None

    @property
    def sandbox_id(self) -> str:
        return self.manager.sandbox_id

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def description(self) -> str:
        return self.record.description

    @property
    def tags(self) -> list[str]:
        return self.record.tags

    @property
    def created_at(self) -> datetime:
        return self.record.created_at

    @property
    def last_activity(self) -> datetime:
        return self.record.last_activity

    @property
    def ip_address(self) -> str | None:
        return self.record.ip_address

    @property
    def user_agent(self) -> str:
        return self.record.user_agent

    @property
    def expires_at(self) -> datetime | None:
        return self.record.expires_at

    @property
    def config(self) -> SessionConfig:
        return sessions.session_config(self.record)

    @property
    def metadata(self) -> dict[str, Any]:
        return self.record.metadata

    def refresh(self) -> ConversationSession:
        """Re-read the session; raises ``SessionNotFoundError`` once it is gone."""
        self.record = get_session_or_raise(self.manager.sandbox, self.record.pk)
        return self

    def send_message(
        self, content: str, role: str = MessageRole.USER, metadata: dict[str, Any] | None = None
    ) -> Message:
        """Store a message; for a user message, return the provider's stored reply."""
        pipeline = self.manager.pipeline
        if role != MessageRole.USER:
            return messages.accept_message(
                self.record, pipeline, content=content, role=role, metadata=metadata
            )
        turn = messages.start_turn(self.record, pipeline, content=content, metadata=metadata)
        return messages.complete_turn(turn)

    async def asend_message(
        self, content: str, role: str = MessageRole.USER, metadata: dict[str, Any] | None = None
    ) -> Message:
        pipeline = self.manager.pipeline
        if role != MessageRole.USER:
            return await sync_to_async(messages.accept_message)(
                self.record, pipeline, content=content, role=role, metadata=metadata
            )
        turn = await sync_to_async(messages.start_turn)(
            self.record, pipeline, content=content, metadata=metadata
        )
        return await messages.acomplete_turn(turn)

    def stream_message(
        self, content: str, metadata: dict[str, Any] | None = None
    ) -> Iterator[Message | TextDelta]:
        """Yield the stored user message, the reply's ``TextDelta``s, then the stored reply."""
        turn = messages.start_turn(
            self.record, self.manager.pipeline, content=content, metadata=metadata
        )
        try:
            yield turn.message
        except GeneratorExit:
            messages.abandon_turn(turn)  # closed before the reply began: free its slot
            raise
        yield from messages.stream_turn(turn)

    async def astream_message(
        self, content: str, metadata: dict[str, Any] | None = None
    ) -> AsyncIterator[Message | TextDelta]:
        turn = await sync_to_async(messages.start_turn)(
            self.record, self.manager.pipeline, content=content, metadata=metadata
        )
        try:
            yield turn.message
        except (GeneratorExit, asyncio.CancelledError):
            await sync_to_async(messages.abandon_turn)(turn)
            raise
        stream = messages.astream_turn(turn)
        try:
            async for event in stream:
                yield event
        finally:
            # Close the inner stream now, so an early exit stores the partial reply.
            await stream.aclose()

    def send_system_message(self, content: str, metadata: dict[str, Any] | None = None) -> Message:
        return self.send_message(content, role=MessageRole.SYSTEM, metadata=metadata)

    def get_messages(
        self, limit: int | None = None, role: str | None = None, since: datetime | None = None
    ) -> list[Message]:
        """Messages in ascending order; ``limit`` keeps the most recent ones."""
        return list(messages.message_history(self.record, limit=limit, role=role, since=since))

    def get_message(self, message_id: Any) -> Message | None:
        return messages.message_history(self.record).filter(pk=parse_session_id(message_id)).first()

    def clear_messages(self) -> int:
        return messages.clear_messages(self.record)

    def update_context(
        self, updates: dict[str, Any], expected_version: int | None = None
    ) -> ContextSnapshot:
        return context.update_context(
            self.record, updates, pipeline=self.manager.pipeline, expected_version=expected_version
        )

    def set_context_value(self, path: str, value: Any) -> ContextSnapshot:
        """Dot-notation write, e.g. ``set_context_value("user_context.language", "fr")``."""
        return self.update_context({path: value})

    def get_context(self) -> ContextSnapshot:
        return context.get_context(self.record)

    def get_metrics(self) -> dict[str, Any]:
        self.refresh()
        return analytics.session_metrics(self.record)

    def update_config(self, changes: dict[str, Any]) -> SessionConfig:
        return sessions.update_config(self.record, changes)

    def update_metadata(self, changes: dict[str, Any], merge: bool = True) -> dict[str, Any]:
        return ttl.update_metadata(self.record, changes, merge=merge).metadata

    def archive(self) -> ConversationSession:
        sessions.archive_session(self.record, pipeline=self.manager.pipeline)
        return self

    def delete(self) -> None:
        sessions.delete_session(self.record, pipeline=self.manager.pipeline)

    def export_conversation(self) -> dict[str, Any]:
        self.refresh()
        return export.export_conversation(self.record)

    arefresh = async_twin(refresh)
    asend_system_message = async_twin(send_system_message)
    aget_messages = async_twin(get_messages)
    aget_message = async_twin(get_message)
    aclear_messages = async_twin(clear_messages)
    aupdate_context = async_twin(update_context)
    aset_context_value = async_twin(set_context_value)
    aget_context = async_twin(get_context)
    aget_metrics = async_twin(get_metrics)
    aupdate_config = async_twin(update_config)
    aupdate_metadata = async_twin(update_metadata)
    aarchive = async_twin(archive)
    adelete = async_twin(delete)
    aexport_conversation = async_twin(export_conversation)
