"""Built-in message middleware: logging and metrics."""

from __future__ import annotations

import logging
import threading
from typing import Any

from sessions_app.exceptions import ConfigurationError
from sessions_app.pipeline.base import MessageMiddleware, PipelineMessage

message_logger = logging.getLogger("sessions_app.messages")


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
    also as ``extra`` attributes for structured handlers. The content and the
    metadata values are never logged: they may hold personal data or secrets.
    """

    def __init__(self, level: int | str = logging.INFO) -> None:
        self.level = _parse_level(level)

    def process(self, message: PipelineMessage) -> PipelineMessage:
        char_count = len(message.content)
        message_logger.log(
            self.level,
            "message session=%s role=%s direction=%s chars=%d",
            message.session_id,
            message.role,
            message.direction,
            char_count,
            extra={
                "session_id": message.session_id,
                "role": message.role,
                "direction": message.direction,
                "char_count": char_count,
            },
        )
        return message


class MetricsMiddleware(MessageMiddleware):
    """Adds ``char_count`` and ``word_count`` to each message's metadata and keeps totals.

    Totals are per role and per process (this instance); :meth:`snapshot` reads them.
    """

    def __init__(self) -> None:
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
