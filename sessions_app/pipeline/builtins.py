"""Built-in message middleware: logging and metrics."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from sessions_app.exceptions import ConfigurationError
from sessions_app.pipeline.base import MessageMiddleware, PipelineMessage

message_logger = logging.getLogger("sessions_app.messages")
collector_logger = logging.getLogger("sessions_app.metrics")


def _parse_level(level: int | str) -> int:
    """A logging level given as a number or a name ("INFO"), as settings may hold either."""
    if isinstance(level, int):
        return level
    try:
        return logging.getLevelNamesMapping()[level.upper()]
    except KeyError:
        raise ConfigurationError(f"Unknown logging level {level!r}") from None


class LoggingMiddleware(MessageMiddleware):
    """Logs one line per message to ``sessions_app.messages``.

    The line carries the public session id, role, direction and character count,
    also as ``extra`` attributes for structured handlers. The content is logged
    only with ``include_content=True`` (the documents' default is True; ours is
    False: content may hold personal data or secrets). Metadata values are never
    logged. The level is ``log_level`` (the documents' name) or ``level``.
    """

    def __init__(
        self,
        log_level: int | str | None = None,
        include_content: bool = False,
        *,
        level: int | str | None = None,
    ) -> None:
        if log_level is not None and level is not None:
            raise ConfigurationError("LoggingMiddleware takes log_level or level, not both.")
        chosen = log_level if log_level is not None else level
        self.level = _parse_level(logging.INFO if chosen is None else chosen)
        self.include_content = include_content

    @property
    def log_level(self) -> str:
        """The level's name, e.g. ``"INFO"``."""
        return logging.getLevelName(self.level)

    @log_level.setter
    def log_level(self, level: int | str) -> None:
        self.level = _parse_level(level)

    def process(self, message: PipelineMessage) -> PipelineMessage:
        char_count = len(message.content)
        extra = {
            "session_id": message.session_id,
            "role": message.role,
            "direction": message.direction,
            "char_count": char_count,
        }
        line = "message session=%s role=%s direction=%s chars=%d"
        values: list[Any] = [message.session_id, message.role, message.direction, char_count]
        if self.include_content:
            line += " content=%r"
            values.append(message.content)
            extra["content"] = message.content
        message_logger.log(self.level, line, *values, extra=extra)
        return message


@runtime_checkable
class MetricsCollector(Protocol):
    """What ``MetricsMiddleware(metrics_collector=...)`` feeds, once per message."""

    def record(self, role: str, char_count: int, word_count: int) -> None: ...


class MetricsMiddleware(MessageMiddleware):
    """Adds ``char_count`` and ``word_count`` to each message's metadata and keeps totals.

    Totals are per role and per process (this instance); :meth:`snapshot` reads them.
    A ``metrics_collector`` (an object with ``record(role, char_count, word_count)``,
    or a function taking those three arguments) is also called for every message.
    """

    def __init__(
        self, metrics_collector: MetricsCollector | Callable[[str, int, int], object] | None = None
    ) -> None:
        if metrics_collector is not None and not (
            isinstance(metrics_collector, MetricsCollector) or callable(metrics_collector)
        ):
            raise ConfigurationError(
                "metrics_collector must have record(role, char_count, word_count) or be callable."
            )
        self.metrics_collector = metrics_collector
        self._record: Callable[[str, int, int], object] | None = (
            metrics_collector.record
            if isinstance(metrics_collector, MetricsCollector)
            else metrics_collector
        )
        self._lock = threading.Lock()
        self._totals: dict[str, dict[str, int]] = {}

    def process(self, message: PipelineMessage) -> PipelineMessage:
        char_count = len(message.content)
        word_count = len(message.content.split())
        # A new dict: the caller's metadata object is not ours to mutate.
        message.metadata = {
            **message.metadata,
            "char_count": char_count,
            "word_count": word_count,
        }
        self._add(message.role, char_count, word_count)
        if self._record is not None:
            try:
                self._record(message.role, char_count, word_count)
            except Exception:
                # A metrics outage must not refuse the user's message.
                collector_logger.exception("metrics_collector failed; the message goes on")
        return message

    def _add(self, role: str, char_count: int, word_count: int) -> None:
        with self._lock:
            totals = self._totals.setdefault(role, {"messages": 0, "chars": 0, "words": 0})
            totals["messages"] += 1
            totals["chars"] += char_count
            totals["words"] += word_count

    def snapshot(self) -> dict[str, Any]:
        """A copy of the totals: ``{role: {"messages", "chars", "words"}}``."""
        with self._lock:
            return {role: dict(totals) for role, totals in self._totals.items()}

    def reset(self) -> None:
        with self._lock:
            self._totals.clear()
