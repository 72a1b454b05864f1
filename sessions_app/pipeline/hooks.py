"""Lifecycle events: hooks registered on a pipeline, and the matching Django signals."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from asgiref.sync import async_to_sync
from django.dispatch import Signal

from sessions_app import signals

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


def parse_event(event: str | LifecycleEvent) -> LifecycleEvent:
    try:
        return LifecycleEvent(event)
    except ValueError:
        from sessions_app.exceptions import ConfigurationError

        valid = ", ".join(e.value for e in LifecycleEvent)
        raise ConfigurationError(
            f"Unknown lifecycle event {event!r}; expected one of {valid}."
        ) from None


def call_hook(hook: Hook, event: LifecycleEvent, data: dict[str, Any]) -> None:
    """Run one hook; a failing hook is logged and never breaks the operation."""
    try:
        if asyncio.iscoroutinefunction(hook):
            async_to_sync(hook)(event, **data)
        else:
            hook(event, **data)
    except Exception:
        logger.exception("Lifecycle hook %r failed on %s", hook, event.value)


def send_signal(event: LifecycleEvent, data: dict[str, Any]) -> None:
    from sessions_app.models import Session

    for receiver, result in SIGNALS[event].send_robust(sender=Session, **data):
        if isinstance(result, Exception):
            logger.error("Receiver %r of %s failed: %r", receiver, event.value, result)
