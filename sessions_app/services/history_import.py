"""Adding a message of any role to a history without asking the provider: ported history."""

from __future__ import annotations

from typing import Any

from sessions_app.models import Message, MessageRole, Session
from sessions_app.pipeline import LifecycleEvent, Pipeline, PipelineMessage
from sessions_app.services.guards import require_writable
from sessions_app.services.incoming import validate_input
from sessions_app.services.messages import store_message
from sessions_app.validation import moment


def add_message(
    session: Session,
    pipeline: Pipeline,
    *,
    role: Any,
    content: Any,
    timestamp: Any = None,
    metadata: dict[str, Any] | None = None,
) -> Message:
    """Store a user, assistant or system message as it is, dated ``timestamp`` if given.

    It runs through the middleware (incoming, or outgoing for an assistant message)
    and fires ``message_sent`` / ``message_received``, but no provider is called.
    """
    metadata = validate_input(session, content, role, metadata, roles=tuple(MessageRole.values))
    created_at = moment(timestamp, "timestamp")
    require_writable(session)
    is_reply = role == MessageRole.ASSISTANT
    processed = pipeline.run(
        PipelineMessage(
            session_id=str(session.pk),
            role=role,
            content=content,
            direction="outgoing" if is_reply else "incoming",
            metadata=metadata,
        ),
        session,
    )
    message = store_message(
        session,
        role=role,
        content=processed.content,
        metadata=processed.metadata,
        created_at=created_at,
    )
    event = LifecycleEvent.MESSAGE_RECEIVED if is_reply else LifecycleEvent.MESSAGE_SENT
    pipeline.fire(event, session_id=str(session.pk), session=session, message=message)
    return message
