"""Message middleware: objects that see each message before it is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sessions_app.models import Message


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
    reject a message; a rejected incoming message is not stored. ``name`` is
    the class name unless set.
    """

    _name: str | None = None

    @property
    def name(self) -> str:
        return self._name or type(self).__name__

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    def process(self, message: PipelineMessage) -> PipelineMessage:
        if message.direction == "outgoing":
            return self.process_outgoing(message)
        return self.process_incoming(message)

    def process_incoming(self, message: PipelineMessage) -> PipelineMessage:
        return message

    def process_outgoing(self, message: PipelineMessage) -> PipelineMessage:
        return message

    async def process_incoming_message(self, session: Any, message: Message) -> Message:
        """The reference's form (001): run ``process`` on a user message; ``session`` unused."""
        return self._process_as(message, "incoming")

    async def process_outgoing_message(self, session: Any, message: Message) -> Message:
        """The reference's form (001): run ``process`` on a reply; ``session`` unused."""
        return self._process_as(message, "outgoing")

    def _process_as(self, message: Message, direction: str) -> Message:
        from sessions_app.pipeline.messages import as_pipeline_message

        processed = self.process(as_pipeline_message(message, direction))
        message.content = processed.content
        message.metadata = processed.metadata
        return message
