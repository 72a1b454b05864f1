"""Storing messages and running a conversation turn through the provider.

A turn is three short steps: store the user message (one transaction),
call the provider (no transaction open), store the reply (one transaction).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from sessions_app import cache
from sessions_app.conf import app_settings
from sessions_app.exceptions import (
    ContentTooLongError,
    MessageLimitError,
    ProviderError,
    SessionError,
    SessionExpiredError,
    SessionNotFoundError,
    ValidationError,
)
from sessions_app.models import (
    Message,
    MessageRole,
    MessageStatus,
    Session,
    SessionStatus,
)
from sessions_app.pipeline import LifecycleEvent, Pipeline, PipelineMessage
from sessions_app.providers import (
    ChatMessage,
    Completion,
    CompletionRequest,
    Provider,
    TextDelta,
    get_provider,
)
from sessions_app.services.append import Append, append
from sessions_app.services.sessions import require_writable

ROLE_COUNTERS = {
    MessageRole.USER: "user_message_count",
    MessageRole.ASSISTANT: "assistant_message_count",
    MessageRole.SYSTEM: "system_message_count",
}
SENDABLE_ROLES = (MessageRole.USER, MessageRole.SYSTEM)


@dataclass
class Turn:
    """A stored user message and what is needed to get and store its reply."""

    session: Session
    message: Message
    provider: Provider
    request: CompletionRequest
    pipeline: Pipeline
    started: float = field(default_factory=time.monotonic)


def _validate_input(session: Session, content: Any, role: str, metadata: Any) -> None:
    if role not in SENDABLE_ROLES:
        raise ValidationError(
            f"role must be one of {', '.join(SENDABLE_ROLES)}.",
            session_id=session.pk,
            error_code="invalid_role",
        )
    if not isinstance(content, str) or not content.strip():
        raise ValidationError("content must be a non-empty string.", session_id=session.pk)
    if len(content) > app_settings.MAX_MESSAGE_CHARS:
        raise ContentTooLongError(
            f"content is longer than {app_settings.MAX_MESSAGE_CHARS} characters.",
            session_id=session.pk,
        )
    if metadata is not None and not isinstance(metadata, dict):
        raise ValidationError("metadata must be an object.", session_id=session.pk)


def _check_timeout(session: Session) -> None:
    minutes = session.config.get("session_timeout_minutes")
    if minutes and timezone.now() - session.last_activity > timedelta(minutes=minutes):
        raise SessionExpiredError("The session timed out from inactivity.", session_id=session.pk)


def _explain_refusal(session_id: Any, slots: int) -> SessionError:
    """Why the guarded counter update matched no row."""
    session = Session.objects.filter(pk=session_id).first()
    if session is None or session.status == SessionStatus.DELETED:
        return SessionNotFoundError(session_id=session_id)
    if session.is_expired():
        return SessionExpiredError(session_id=session_id)
    require_writable(session)
    limit = session.config.get("max_messages")
    return MessageLimitError(
        f"The session allows {limit} messages and has {session.message_count}; this needs {slots}.",
        session_id=session_id,
    )


def store_message(
    session: Session,
    *,
    role: str,
    content: str,
    metadata: dict[str, Any] | None = None,
    reserve: int = 1,
    status: str = MessageStatus.COMPLETE,
    provider_message_id: str = "",
    provider_metadata: dict[str, Any] | None = None,
    input_tokens: int = 0,
    output_tokens: int = 0,
    processing_time_ms: int | None = None,
    provider_call: bool = False,
    cost: float = 0.0,
) -> Message:
    """Append a message with the next sequence number and update the counters exactly.

    Refused when the session is not writable, has expired, or has no room for
    ``reserve`` messages under ``max_messages`` (checked atomically with the append).
    """
    now = timezone.now()
    message = Message(
        session_id=session.pk,
        role=role,
        content=content,
        created_at=now,
        metadata=metadata or {},
        status=status,
        provider_message_id=provider_message_id,
        provider_metadata=provider_metadata or {},
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        processing_time_ms=processing_time_ms,
    )
    increments: dict[str, int | Decimal] = {
        "last_seq": 1,
        "message_count": 1,
        ROLE_COUNTERS[role]: 1,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
    }
    if provider_call:
        increments["provider_calls"] = 1
        increments["total_response_time_ms"] = processing_time_ms or 0
        increments["estimated_cost"] = Decimal(str(round(cost, 6)))
    limit = session.config.get("max_messages")
    max_count = limit - reserve if limit and reserve else None
    if not append(Append(message, increments, now, max_count)):
        raise _explain_refusal(session.pk, reserve)
    cache.invalidate(session.pk)
    session.last_activity = now
    session.status = SessionStatus.ACTIVE
    return message


def record_provider_error(session: Session, pipeline: Pipeline, error: ProviderError) -> None:
    Session.objects.filter(pk=session.pk).update(
        provider_calls=F("provider_calls") + 1, provider_errors=F("provider_errors") + 1
    )
    error.session_id = str(session.pk)
    pipeline.fire(LifecycleEvent.ERROR, session_id=str(session.pk), session=session, error=error)


def _history(session: Session, limit: int) -> list[Message]:
    recent = (
        Message.objects.filter(session=session)
        .exclude(status=MessageStatus.ERROR)
        .order_by("-seq")[:limit]
    )
    return list(reversed(recent))


def build_request(session: Session, provider: Provider) -> CompletionRequest:
    history = _history(session, app_settings.HISTORY_LIMIT)
    system = "\n\n".join(m.content for m in history if m.role == MessageRole.SYSTEM) or None
    last_reply = next((m for m in reversed(history) if m.role == MessageRole.ASSISTANT), None)
    return CompletionRequest(
        model=session.model or provider.default_model,
        messages=[
            ChatMessage(role=m.role, content=m.content)
            for m in history
            if m.role != MessageRole.SYSTEM
        ],
        system=system,
        max_tokens=session.config.get("max_tokens_per_message"),
        provider_state=(last_reply.provider_metadata.get("state", {}) if last_reply else {}),
        options=session.config.get("provider_config") or {},
    )


def accept_message(
    session: Session,
    pipeline: Pipeline,
    *,
    content: Any,
    role: str = MessageRole.USER,
    metadata: dict[str, Any] | None = None,
) -> Message:
    """Validate, run incoming middleware and store a user or system message."""
    _validate_input(session, content, role, metadata)
    require_writable(session)
    _check_timeout(session)
    incoming = pipeline.run(
        PipelineMessage(
            session_id=str(session.pk), role=role, content=content, metadata=dict(metadata or {})
        )
    )
    # A user message reserves room for its reply under max_messages.
    reserve = 2 if role == MessageRole.USER else 1
    message = store_message(
        session, role=role, content=incoming.content, metadata=incoming.metadata, reserve=reserve
    )
    pipeline.fire(LifecycleEvent.MESSAGE_SENT, session_id=str(session.pk), message=message)
    return message


def start_turn(
    session: Session, pipeline: Pipeline, *, content: Any, metadata: dict[str, Any] | None = None
) -> Turn:
    provider = get_provider(session.provider or None)
    message = accept_message(session, pipeline, content=content, metadata=metadata)
    return Turn(session, message, provider, build_request(session, provider), pipeline)


def finish_turn(
    turn: Turn, completion: Completion, *, status: str = MessageStatus.COMPLETE
) -> Message:
    """Run outgoing middleware on the reply and store it with usage and cost."""
    elapsed_ms = int((time.monotonic() - turn.started) * 1000)
    outgoing = turn.pipeline.run(
        PipelineMessage(
            session_id=str(turn.session.pk),
            role=MessageRole.ASSISTANT,
            content=completion.text,
            direction="outgoing",
            metadata={"finish_reason": completion.finish_reason, **completion.metadata},
        )
    )
    reply = store_message(
        turn.session,
        role=MessageRole.ASSISTANT,
        content=outgoing.content,
        metadata=outgoing.metadata,
        reserve=0,
        status=status,
        provider_message_id=completion.provider_message_id,
        provider_metadata={"model": completion.model, "state": completion.provider_state},
        input_tokens=completion.input_tokens,
        output_tokens=completion.output_tokens,
        processing_time_ms=elapsed_ms,
        provider_call=True,
        cost=turn.provider.estimate_cost(
            completion.model, completion.input_tokens, completion.output_tokens
        ),
    )
    turn.pipeline.fire(
        LifecycleEvent.MESSAGE_RECEIVED, session_id=str(turn.session.pk), message=reply
    )
    return reply


def fail_turn(turn: Turn, exc: Exception) -> ProviderError:
    error = (
        exc
        if isinstance(exc, ProviderError)
        else ProviderError(
            f"Provider {turn.provider.name!r} failed: {type(exc).__name__}",
            provider=turn.provider.name,
        )
    )
    record_provider_error(turn.session, turn.pipeline, error)
    return error


def _partial(turn: Turn, parts: list[str]) -> Completion:
    return Completion(text="".join(parts), model=turn.request.model, finish_reason="incomplete")


def complete_turn(turn: Turn) -> Message:
    try:
        completion = turn.provider.complete(turn.request)
    except Exception as exc:
        raise fail_turn(turn, exc) from exc
    return finish_turn(turn, completion)


async def acomplete_turn(turn: Turn) -> Message:
    try:
        completion = await turn.provider.acomplete(turn.request)
    except Exception as exc:
        raise await sync_to_async(fail_turn)(turn, exc) from exc
    return await sync_to_async(finish_turn)(turn, completion)


def stream_turn(turn: Turn) -> Iterator[TextDelta | Message]:
    """Yield the reply's deltas, then the stored reply.

    If the consumer stops early (a client went away), what was generated is
    stored with status ``incomplete``.
    """
    parts: list[str] = []
    try:
        for event in turn.provider.stream(turn.request):
            if isinstance(event, TextDelta):
                parts.append(event.text)
                yield event
            else:
                yield finish_turn(turn, event)
                return
    except GeneratorExit:
        finish_turn(turn, _partial(turn, parts), status=MessageStatus.INCOMPLETE)
        raise
    except Exception as exc:
        raise fail_turn(turn, exc) from exc


async def astream_turn(turn: Turn) -> AsyncIterator[TextDelta | Message]:
    parts: list[str] = []
    finished = False
    try:
        async for event in turn.provider.astream(turn.request):
            if isinstance(event, TextDelta):
                parts.append(event.text)
                yield event
            else:
                finished = True
                yield await sync_to_async(finish_turn)(turn, event)
                return
    except Exception as exc:
        finished = True
        raise await sync_to_async(fail_turn)(turn, exc) from exc
    finally:
        if not finished:
            await sync_to_async(finish_turn)(
                turn, _partial(turn, parts), status=MessageStatus.INCOMPLETE
            )


def message_history(
    session: Session,
    *,
    limit: int | None = None,
    role: str | None = None,
    since: datetime | None = None,
) -> QuerySet[Message]:
    """Messages in ascending order; with ``limit``, the most recent ``limit`` of them."""
    messages = Message.objects.filter(session=session)
    if limit is not None and limit <= 0:
        return messages.none()
    if role:
        messages = messages.filter(role=role)
    if since:
        messages = messages.filter(created_at__gte=since)
    if limit is not None:
        newest = messages.order_by("-seq").values_list("seq", flat=True)[limit - 1 : limit]
        floor = next(iter(newest), None)
        if floor is not None:
            messages = messages.filter(seq__gte=floor)
    return messages.order_by("seq")


def clear_messages(session: Session) -> int:
    """Delete the history; counters of messages go back to zero, usage totals stay."""
    require_writable(session)
    with transaction.atomic():
        deleted, _ = Message.objects.filter(session=session).delete()
        Session.objects.filter(pk=session.pk).update(
            message_count=0, user_message_count=0, assistant_message_count=0, system_message_count=0
        )
    cache.invalidate(session.pk)
    return deleted
