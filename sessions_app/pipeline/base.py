"""Message middleware: objects that see each message before it is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PipelineMessage:
    """A message on its way to storage; middleware may change ``content`` and ``metadata``.

    ``direction`` is "incoming" for what a caller sends (user or system
    messages) and "outgoing" for a provider's reply.
    """

    session_id: str
    role: str
    content: str
    direction: str = "incoming"
    metadata: dict[str, Any] = field(default_factory=dict)


class MessageMiddleware:
    """Base class: override ``process`` (every message) or the directional hooks.

    Raise :class:`sessions_app.exceptions.MiddlewareError` (or a subclass) to
    reject a message; a rejected incoming message is not stored.
    """

    def process(self, message: PipelineMessage) -> PipelineMessage:
        if message.direction == "outgoing":
            return self.process_outgoing(message)
        return self.process_incoming(message)

    def process_incoming(self, message: PipelineMessage) -> PipelineMessage:
        return message

    def process_outgoing(self, message: PipelineMessage) -> PipelineMessage:
        return message
