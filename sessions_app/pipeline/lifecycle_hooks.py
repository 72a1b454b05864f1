"""Built-in lifecycle hooks (the documents' names and constructor arguments)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from sessions_app.exceptions import ConfigurationError
from sessions_app.pipeline.hooks import LifecycleEvent, parse_event
from sessions_app.pipeline.interfaces import BaseSessionLifecycleHook

if TYPE_CHECKING:
    from sessions_app.models import Message

alert_logger = logging.getLogger("sessions_app.alerts")


def _config(config: dict[str, Any] | None, keys: set[str], owner: str) -> dict[str, Any]:
    config = dict(config or {})
    unknown = set(config) - keys
    if unknown:
        raise ConfigurationError(
            f"{owner} has unknown keys {sorted(unknown)}; known: {sorted(keys)}."
        )
    return config


class MetricsHook(BaseSessionLifecycleHook):
    """Counts lifecycle events in this process; ``get_metrics()`` reads them (thread-safe).

    Keys: ``sessions_created``, ``sessions_deleted``, ``sessions_archived``,
    ``messages_sent``, ``messages_received``. Its methods take the reference's (001)
    arguments: ``session`` (a ``ConversationSession``; None after a batch delete)
    and ``message``.
    """

    COUNTERS: tuple[str, ...] = (
        "sessions_created",
        "sessions_deleted",
        "sessions_archived",
        "messages_sent",
        "messages_received",
    )

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(self.COUNTERS, 0)

    def get_metrics(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def count(self, counter: str, tags: dict[str, str] | None = None) -> None:
        with self._lock:
            self._counts[counter] += 1

    # The reference (001) overrides the interface with other arguments; so do we.
    async def on_session_created(self, session: Any) -> None:  # type: ignore[override]
        tags = {"provider": session.provider, "model": session.model} if session else None
        self.count("sessions_created", tags)

    async def on_session_deleted(self, session: Any) -> None:
        self.count("sessions_deleted")

    async def on_session_archived(self, session: Any) -> None:
        self.count("sessions_archived")

    async def on_message_sent(self, session: Any, message: Message) -> None:
        self.count("messages_sent")

    async def on_message_received(self, session: Any, message: Message) -> None:
        self.count("messages_received")


class MetricsBackend(Protocol):
    """What ``MetricsCollectionHook(metrics_backend=...)`` feeds (StatsD-like)."""

    def increment(self, name: str, value: int = 1, tags: dict[str, str] | None = None) -> None: ...


class MetricsCollectionHook(MetricsHook):
    """:class:`MetricsHook`'s counts plus ``context_updates`` and ``session_errors``.

    With a ``metrics_backend``, each count is also sent as
    ``increment("sessions_app.<counter>", 1, tags=...)``; a created session is
    tagged with its ``provider`` and ``model``.
    """

    COUNTERS = (*MetricsHook.COUNTERS, "context_updates", "session_errors")

    def __init__(self, metrics_backend: MetricsBackend | None = None) -> None:
        if metrics_backend is not None and not callable(
            getattr(metrics_backend, "increment", None)
        ):
            raise ConfigurationError("metrics_backend needs increment(name, value=1, tags=None).")
        super().__init__()
        self.metrics_backend = metrics_backend

    def count(self, counter: str, tags: dict[str, str] | None = None) -> None:
        super().count(counter, tags)
        if self.metrics_backend is not None:
            self.metrics_backend.increment(f"sessions_app.{counter}", 1, tags=tags)

    async def on_context_updated(self, session_id: str, context: Any) -> None:
        self.count("context_updates")

    async def on_session_error(self, session_id: str, error: Exception) -> None:
        self.count("session_errors", {"error_code": getattr(error, "error_code", "error")})


class AlertingHook(BaseSessionLifecycleHook):
    """Logs a WARNING on ``sessions_app.alerts`` for every session error.

    ``alert_config`` keys: ``events`` (more event names to alert on, e.g.
    ``["session_deleted"]``) and ``callback`` (called as ``callback(event, data)``
    with ``data`` = ``{"session_id": ..., "error": ...}``; its failure is logged).
    """

    def __init__(self, alert_config: dict[str, Any] | None = None) -> None:
        super().__init__()
        config = _config(alert_config, {"events", "callback"}, "alert_config")
        self.events = {parse_event(event) for event in config.get("events", ())}
        self.events.add(LifecycleEvent.ERROR)
        self.callback: Callable[[str, dict[str, Any]], Any] | None = config.get("callback")
        if self.callback is not None and not callable(self.callback):
            raise ConfigurationError("alert_config['callback'] must be callable.")
        self.alert_config = alert_config

    def alert(self, event: LifecycleEvent, session_id: str, error: Exception | None = None) -> None:
        if event not in self.events:
            return
        if error is None:
            alert_logger.warning("%s session=%s", event.value, session_id)
        else:
            alert_logger.warning(
                "%s session=%s error=%s: %s", event.value, session_id, type(error).__name__, error
            )
        if self.callback is not None:
            self.callback(event.value, {"session_id": session_id, "error": error})

    async def on_session_created(
        self, session_id: str, user_id: str | None, provider: str | None, model: str | None
    ) -> None:
        self.alert(LifecycleEvent.SESSION_CREATED, session_id)

    async def on_session_deleted(self, session_id: str) -> None:
        self.alert(LifecycleEvent.SESSION_DELETED, session_id)

    async def on_session_archived(self, session_id: str) -> None:
        self.alert(LifecycleEvent.SESSION_ARCHIVED, session_id)

    async def on_message_sent(self, session_id: str, message: Message) -> None:
        self.alert(LifecycleEvent.MESSAGE_SENT, session_id)

    async def on_message_received(self, session_id: str, message: Message) -> None:
        self.alert(LifecycleEvent.MESSAGE_RECEIVED, session_id)

    async def on_context_updated(self, session_id: str, context: Any) -> None:
        self.alert(LifecycleEvent.CONTEXT_UPDATED, session_id)

    async def on_session_error(self, session_id: str, error: Exception) -> None:
        self.alert(LifecycleEvent.ERROR, session_id, error)


class AuditLoggingHook(BaseSessionLifecycleHook):
    """One INFO line per event: ``audit event=<event> session=<id> user=<user id>``.

    Written to ``audit_logger`` (a ``logging.Logger`` or a logger name; default
    ``sessions_app.audit``), also as ``extra`` attributes. Never content or context.
    The user id of a context update costs one query.
    """

    def __init__(self, audit_logger: logging.Logger | str | None = None) -> None:
        super().__init__()
        if audit_logger is None or isinstance(audit_logger, str):
            audit_logger = logging.getLogger(audit_logger or "sessions_app.audit")
        self.audit_logger = audit_logger

    def audit(self, event: LifecycleEvent, session_id: str, user_id: str | None) -> None:
        self.audit_logger.info(
            "audit event=%s session=%s user=%s",
            event.value,
            session_id,
            user_id,
            extra={"event": event.value, "session_id": session_id, "user_id": user_id},
        )

    async def on_session_created(
        self, session_id: str, user_id: str | None, provider: str | None, model: str | None
    ) -> None:
        self.audit(LifecycleEvent.SESSION_CREATED, session_id, user_id)

    async def on_session_deleted(self, session_id: str, user_id: str | None = None) -> None:
        self.audit(LifecycleEvent.SESSION_DELETED, session_id, user_id)

    async def on_session_archived(self, session_id: str, user_id: str | None = None) -> None:
        self.audit(LifecycleEvent.SESSION_ARCHIVED, session_id, user_id)

    async def on_message_sent(
        self, session_id: str, message: Message, user_id: str | None = None
    ) -> None:
        self.audit(LifecycleEvent.MESSAGE_SENT, session_id, user_id)

    async def on_message_received(
        self, session_id: str, message: Message, user_id: str | None = None
    ) -> None:
        self.audit(LifecycleEvent.MESSAGE_RECEIVED, session_id, user_id)

    async def on_context_updated(
        self, session_id: str, context: Any, user_id: str | None = None
    ) -> None:
        self.audit(LifecycleEvent.CONTEXT_UPDATED, session_id, user_id)

    async def on_session_error(
        self, session_id: str, error: Exception, user_id: str | None = None
    ) -> None:
        self.audit(LifecycleEvent.ERROR, session_id, user_id)


class CleanupHook(BaseSessionLifecycleHook):
    """Releases what the provider keeps for a session once it is deleted or archived.

    Calls the provider adapter's ``cleanup_resources(session_id, state)`` with the
    ``provider_state`` of the session's latest reply (``{}`` after a hard delete,
    which removed the replies). Sessions deleted in batches carry no row and are
    skipped. ``cleanup_config`` keys: ``on_delete`` and ``on_archive`` (both True
    by default). Like any hook's, a failing clean-up is logged by the pipeline.
    """

    def __init__(self, cleanup_config: dict[str, Any] | None = None) -> None:
        super().__init__()
        config = _config(cleanup_config, {"on_delete", "on_archive"}, "cleanup_config")
        self.on_delete = bool(config.get("on_delete", True))
        self.on_archive = bool(config.get("on_archive", True))
        self.cleanup_config = cleanup_config

    async def on_session_deleted(
        self,
        session_id: str,
        provider: str | None = None,
        provider_state: dict[str, Any] | None = None,
    ) -> None:
        if self.on_delete:
            await self.release(session_id, provider, provider_state)

    async def on_session_archived(self, session_id: str, provider: str | None = None) -> None:
        if self.on_archive:
            await self.release(session_id, provider)

    async def release(
        self, session_id: str, provider: str | None, state: dict[str, Any] | None = None
    ) -> None:
        from asgiref.sync import sync_to_async

        if provider:
            await sync_to_async(_release)(session_id, provider, state)


def _release(session_id: str, provider_name: str, state: dict[str, Any] | None) -> None:
    """``state`` is what a hard delete read before the replies went; else it is read now."""
    from sessions_app.providers import get_provider
    from sessions_app.services.provider_state import keeps_state, latest_provider_state

    provider = get_provider(provider_name)
    if keeps_state(provider):
        state = latest_provider_state(session_id) if state is None else state
        provider.cleanup_resources(session_id, state)
