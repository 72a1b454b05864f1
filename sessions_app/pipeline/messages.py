"""The documents' message form: a pipeline message as an unsaved ``Message`` and back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sessions_app.exceptions import MiddlewareError
from sessions_app.pipeline.base import PipelineMessage

if TYPE_CHECKING:
    from sessions_app.models import Message


def as_message(message: PipelineMessage) -> Message:
    """An unsaved ``Message`` (the documents' ``SessionMessage``) with the same content."""
    from sessions_app.models import Message

    return Message(
        session_id=message.session_id,
        role=message.role,
        content=message.content,
        metadata=dict(message.metadata),
    )


def take_changes(message: PipelineMessage, result: Any, middleware_name: str) -> PipelineMessage:
    """Copy ``content`` and ``metadata`` of what a middleware returned into ``message``.

    A middleware may return the message it was given or a new one; only these
    two fields travel on (the role and the session are not a middleware's to change).
    """
    content = getattr(result, "content", None)
    metadata = getattr(result, "metadata", None)
    if not isinstance(content, str) or not isinstance(metadata, dict):
        raise MiddlewareError(
            f"{middleware_name} returned {type(result).__name__}; "
            "expected the message with text content and a metadata dict.",
            session_id=message.session_id,
        )
    message.content = content
    message.metadata = metadata
    return message


def as_pipeline_message(message: Message, direction: str) -> PipelineMessage:
    """The pipeline form of a documents'-form message, for calling our middleware directly."""
    return PipelineMessage(
        session_id=str(message.session_id),
        role=message.role,
        content=message.content,
        direction=direction,
        metadata=dict(message.metadata or {}),
    )
