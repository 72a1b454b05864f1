"""``SessionMetrics`` (one session) and ``SessionAnalytics`` (many): the documents' data classes.

Both also read as mappings of their ``to_dict()``, so code written against the
dicts these calls used to return (and the API reference's ``Dict[str, Any]``)
keeps working.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from sessions_app.models import Message, MessageRole

_ROLE_COUNTERS = {
    MessageRole.USER: "user_messages",
    MessageRole.ASSISTANT: "assistant_messages",
    MessageRole.SYSTEM: "system_messages",
}


class _ReadsAsMapping(Mapping[str, Any]):
    """``obj["key"]``, ``keys()``, ``in`` and ``dict(obj)`` over ``to_dict()``."""

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())


@dataclass(eq=False)
class SessionMetrics(_ReadsAsMapping):
    """Usage of one session, from its counters (no scan of its messages)."""

    session_id: str
    total_messages: int = 0
    user_messages: int = 0
    assistant_messages: int = 0
    system_messages: int = 0
    total_tokens: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    session_duration: timedelta = field(default_factory=timedelta)
    avg_response_time_ms: float = 0.0
    total_response_time_ms: int = 0
    first_message_at: datetime | None = None
    last_message_at: datetime | None = None
    provider_calls: int = 0
    provider_errors: int = 0
    estimated_cost: float = 0.0
    error_rate: float = 0.0
    created_at: datetime | None = None
    last_activity: datetime | None = None

    def update_with_message(self, message: Message) -> None:
        """Count one more message (in memory): its role, tokens and time."""
        self.total_messages += 1
        role_counter = _ROLE_COUNTERS.get(MessageRole.from_string(message.role))
        if role_counter:
            setattr(self, role_counter, getattr(self, role_counter) + 1)
        self.input_tokens += message.input_tokens
        self.output_tokens += message.output_tokens
        self.total_tokens = self.input_tokens + self.output_tokens
        moment = message.created_at
        if self.first_message_at is None or moment < self.first_message_at:
            self.first_message_at = moment
        if self.last_message_at is None or moment > self.last_message_at:
            self.last_message_at = moment

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready but for the datetimes; the duration as ``session_duration_seconds``."""
        return {
            "session_id": self.session_id,
            "total_messages": self.total_messages,
            "user_messages": self.user_messages,
            "assistant_messages": self.assistant_messages,
            "system_messages": self.system_messages,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "session_duration_seconds": round(self.session_duration.total_seconds(), 3),
            "avg_response_time_ms": self.avg_response_time_ms,
            "total_response_time_ms": self.total_response_time_ms,
            "provider_calls": self.provider_calls,
            "provider_errors": self.provider_errors,
            "error_rate": self.error_rate,
            "estimated_cost": self.estimated_cost,
            "created_at": self.created_at,
            "last_activity": self.last_activity,
            "first_message_at": self.first_message_at,
            "last_message_at": self.last_message_at,
        }


@dataclass(eq=False, kw_only=True)
class SessionAnalytics(_ReadsAsMapping):
    """Totals over the sessions of a sandbox (or of all) created in ``period``."""

    sandbox_id: str | None
    period: dict[str, datetime | None]
    total_sessions: int
    active_sessions: int
    sessions_by_status: dict[str, int]
    active_users: int
    total_messages: int
    avg_messages_per_session: float
    provider_usage: dict[str, int]
    model_usage: dict[str, int]
    input_tokens: int
    output_tokens: int
    total_tokens: int
    estimated_cost: float
    avg_response_time_ms: float
    provider_calls: int
    provider_errors: int
    error_rate: float
    daily: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
