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

from sessions_app.models import USAGE_FIELDS, Message, MessageRole

_ROLE_COUNTERS = {
    MessageRole.USER: "user_messages",
    MessageRole.ASSISTANT: "assistant_messages",
    MessageRole.SYSTEM: "system_messages",
}


def cost_status(priced: int, unpriced: int) -> str:
    """``"known"`` when every reply was priced (none counts), ``"unknown"`` when none was,
    else ``"partial"`` (the cost is then the sum of the known prices)."""
    if not unpriced:
        return "known"
    return "partial" if priced else "unknown"


def reported_cost(cost: Any, priced: int, unpriced: int) -> tuple[float | None, str]:
    """A sum of replies' known prices as reported, and its status: the cost is ``None``
    (never a misleading 0) exactly when no reply had a known price."""
    status = cost_status(priced, unpriced)
    return (None if status == "unknown" else float(cost or 0)), status


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
    # None exactly when cost_status is "unknown".
    estimated_cost: float | None = 0.0
    error_rate: float = 0.0
    created_at: datetime | None = None
    last_activity: datetime | None = None
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    streamed_replies: int = 0
    avg_time_to_first_token_ms: float | None = None
    unpriced_replies: int = 0
    cost_status: str = "known"

    def update_with_message(self, message: Message) -> None:
        """Count one more message (in memory): its role, tokens and time."""
        self.total_messages += 1
        role_counter = _ROLE_COUNTERS.get(MessageRole.from_string(message.role))
        if role_counter:
            setattr(self, role_counter, getattr(self, role_counter) + 1)
        for name in USAGE_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(message, name))
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
            "cost_status": self.cost_status,
            "unpriced_replies": self.unpriced_replies,
            "cached_input_tokens": self.cached_input_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "streamed_replies": self.streamed_replies,
            "avg_time_to_first_token_ms": self.avg_time_to_first_token_ms,
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
    estimated_cost: float | None  # None exactly when cost_status is "unknown"
    avg_response_time_ms: float
    provider_calls: int
    provider_errors: int
    error_rate: float
    cached_input_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost_status: str
    unpriced_replies: int
    streamed_replies: int
    avg_time_to_first_token_ms: float | None
    # A day: date, sessions, messages, tokens, estimated_cost (None when unknown), cost_status.
    daily: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
