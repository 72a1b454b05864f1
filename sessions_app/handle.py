"""``ConversationSession``: the handle on one session and the pipeline it runs through."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, NoReturn, TypeVar, cast

from sessions_app.exceptions import ValidationError
from sessions_app.metrics import SessionMetrics
from sessions_app.models import Message, MessageRole, Session, SessionStatus
from sessions_app.pipeline import Pipeline
from sessions_app.providers.sessions import ProviderSession, provider_session_for
from sessions_app.services import (
    analytics,
    export,
    history,
    history_import,
    messages,
    sessions,
    ttl,
    turns,
)
from sessions_app.services import context as context_service
from sessions_app.services.context import SessionContext
from sessions_app.services.selectors import find_message, get_session_or_raise
from sessions_app.session_config import SessionConfig
from sessions_app.utils.asyncutils import async_twin

T = TypeVar("T")


class _RecordField(Generic[T]):
    """A read-only attribute of the handle: the session row's field of the same name."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, handle: ConversationSession, owner: type | None = None) -> T:
        return cast(T, getattr(handle.record, self.name))

    def __set__(self, handle: ConversationSession, value: object) -> NoReturn:
        raise AttributeError(f"{self.name} is read-only")


class ConversationSession:
    """One session, and the pipeline its messages and hooks run through.

    Reads reflect the last ``refresh()``.
    """

    provider = _RecordField[str]()
    model = _RecordField[str]()
    name = _RecordField[str]()
    description = _RecordField[str]()
    tags = _RecordField[list[str]]()
    created_at = _RecordField[datetime]()
    last_activity = _RecordField[datetime]()
    ip_address = _RecordField[str | None]()
    user_agent = _RecordField[str]()
    expires_at = _RecordField[datetime | None]()
    metadata = _RecordField[dict[str, Any]]()
    message_count = _RecordField[int]()

    def __init__(self, session: Session, pipeline: Pipeline, session_key: str | None = None):
        self.record = session
        self.pipeline = pipeline
        # The secret key is only known right after creation; it is never stored.
        self.session_key = session_key

    def __repr__(self) -> str:
        return f"<ConversationSession {self.session_id} {self.status}>"

    @property
    def session_id(self) -> str:
        return str(self.record.pk)

    @property
    def status(self) -> SessionStatus:
        return SessionStatus(self.record.status)

    @property
    def user_id(self) -> str | None:
        return self.record.external_user_id or None

    @property
    def sandbox_id(self) -> str:
        return self.record.sandbox.slug

    @property
    def config(self) -> SessionConfig:
        return sessions.session_config(self.record)

    @property
    def provider_session(self) -> ProviderSession:
        """The provider side of this session; a ``MockProviderSession`` for a mock-backed one."""
        return provider_session_for(self)

    @property
    def provider_session_id(self) -> str | None:
        """The provider's own id of this conversation, from the latest reply's state."""
        return self.provider_session.provider_session_id

    def get_provider_metadata(self) -> dict[str, Any]:
        return self.provider_session.get_provider_metadata()

    def refresh(self) -> ConversationSession:
        """Re-read the session; raises ``SessionNotFoundError`` once it is gone."""
        sandbox = self.record.sandbox
        self.record = get_session_or_raise(sandbox, self.record.pk)
        self.record.sandbox = sandbox  # the same row: reading its slug costs no query
        return self

    def send_message(
        self, content: str, role: str = MessageRole.USER, metadata: dict[str, Any] | None = None
    ) -> Message:
        """Store a message; for a user message, return the provider's stored reply."""
        sent = turns.send(self.record, self.pipeline, content=content, role=role, metadata=metadata)
        return sent.answer

    async def asend_message(
        self, content: str, role: str = MessageRole.USER, metadata: dict[str, Any] | None = None
    ) -> Message:
        sent = await turns.asend(
            self.record, self.pipeline, content=content, role=role, metadata=metadata
        )
        return sent.answer

    def stream_message(
        self, content: str, metadata: dict[str, Any] | None = None
    ) -> turns.TurnStream:
        """Yield the stored user message, the reply's ``TextDelta``s, then the stored reply."""
        return turns.stream(self.record, self.pipeline, content=content, metadata=metadata)

    def astream_message(
        self, content: str, metadata: dict[str, Any] | None = None
    ) -> turns.AsyncTurnStream:
        return turns.astream(self.record, self.pipeline, content=content, metadata=metadata)

    def send_system_message(self, content: str, metadata: dict[str, Any] | None = None) -> Message:
        return self.send_message(content, role=MessageRole.SYSTEM, metadata=metadata)

    def get_messages(
        self,
        limit: int | None = None,
        role: str | None = None,
        since: datetime | None = None,
        *,
        start_time: datetime | None = None,
    ) -> list[Message]:
        """Messages in ascending order; ``limit`` keeps the most recent ones.

        ``start_time`` is another name of ``since``, as the guide calls it.
        """
        if since is not None and start_time is not None:
            raise ValidationError("Give since or start_time, not both.", session_id=self.session_id)
        since = since if since is not None else start_time
        return list(history.message_history(self.record, limit=limit, role=role, since=since))

    def get_message(self, message_id: Any) -> Message | None:
        return find_message(self.record, message_id)

    def clear_messages(self) -> int:
        return messages.clear_messages(self.record)

    def add_message(
        self,
        role: str,
        content: str,
        timestamp: datetime | str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        """Store a message of any role without calling the provider (history being ported)."""
        return history_import.add_message(
            self.record,
            self.pipeline,
            role=role,
            content=content,
            timestamp=timestamp,
            metadata=metadata,
        )

    def update_context(
        self, context: dict[str, Any], expected_version: int | None = None
    ) -> SessionContext:
        """Merge ``context`` (dotted keys allowed) into the stored context."""
        return context_service.update_context(
            self.record, context, pipeline=self.pipeline, expected_version=expected_version
        )

    def set_context_value(self, path: str, value: Any) -> SessionContext:
        """Dot-notation write, e.g. ``set_context_value("user_context.language", "fr")``."""
        return self.update_context({path: value})

    def get_context(self) -> SessionContext:
        return context_service.get_context(self.record)

    def get_metrics(self) -> SessionMetrics:
        self.refresh()
        return analytics.session_metrics(self.record)

    def update_config(self, changes: dict[str, Any]) -> SessionConfig:
        return sessions.update_config(self.record, changes)

    def update_metadata(self, changes: dict[str, Any], merge: bool = True) -> dict[str, Any]:
        ttl.update_metadata(self.record, changes, merge=merge)  # updates the record in place
        return self.metadata

    def archive(self) -> ConversationSession:
        sessions.archive_session(self.record, pipeline=self.pipeline)
        return self

    def delete(self) -> None:
        sessions.delete_session(self.record, pipeline=self.pipeline)

    def export_conversation(self) -> dict[str, Any]:
        self.refresh()
        return export.export_conversation(self.record)

    arefresh = async_twin(refresh)
    asend_system_message = async_twin(send_system_message)
    aget_messages = async_twin(get_messages)
    aget_message = async_twin(get_message)
    aadd_message = async_twin(add_message)
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
    aget_provider_metadata = async_twin(get_provider_metadata)
