"""Lifecycle events: hooks registered on a pipeline, and the matching Django signals."""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from django.dispatch import Signal

from sessions_app import signals
from sessions_app.pipeline.calling import resolve

logger = logging.getLogger("sessions_app.hooks")

Hook = Callable[..., Any]


class LifecycleEvent(StrEnum):
    SESSION_CREATED = "session_created"
    SESSION_DELETED = "session_deleted"
    SESSION_ARCHIVED = "session_archived"
    MESSAGE_SENT = "message_sent"
    MESSAGE_RECEIVED = "message_received"
    CONTEXT_UPDATED = "context_updated"
    ERROR = "error"


SIGNALS: dict[LifecycleEvent, Signal] = {
    LifecycleEvent.SESSION_CREATED: signals.session_created,
    LifecycleEvent.SESSION_DELETED: signals.session_deleted,
    LifecycleEvent.SESSION_ARCHIVED: signals.session_archived,
    LifecycleEvent.MESSAGE_SENT: signals.message_sent,
    LifecycleEvent.MESSAGE_RECEIVED: signals.message_received,
    LifecycleEvent.CONTEXT_UPDATED: signals.context_updated,
    LifecycleEvent.ERROR: signals.session_error,
}


# The documents' name of an event, accepted wherever an event is named.
ALIASES: dict[str, LifecycleEvent] = {"session_error": LifecycleEvent.ERROR}
EVENT_NAMES: frozenset[str] = frozenset({e.value for e in LifecycleEvent} | set(ALIASES))


def parse_event(event: str | LifecycleEvent) -> LifecycleEvent:
    try:
        return ALIASES.get(event) or LifecycleEvent(event)
    except (ValueError, TypeError):
        from sessions_app.exceptions import ConfigurationError

        valid = ", ".join(sorted(EVENT_NAMES))
        raise ConfigurationError(
            f"Unknown lifecycle event {event!r}; expected one of {valid}."
        ) from None


def call_hook(hook: Any, event: LifecycleEvent, call: Callable[[], Any]) -> None:
    """Run one hook (sync or async); a failing hook is logged, never breaks the operation."""
    try:
        resolve(call())
    except Exception:
        logger.exception("Lifecycle hook %r failed on %s", hook, event.value)


def send_signal(event: LifecycleEvent, data: dict[str, Any]) -> None:
    from sessions_app.models import Session

    for receiver, result in SIGNALS[event].send_robust(sender=Session, **data):
        if isinstance(result, Exception):
            logger.error("Receiver %r of %s failed: %r", receiver, event.value, result)
