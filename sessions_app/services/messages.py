"""Storing messages and running a conversation turn through the provider.

A turn is three short steps: store the user message (one statement or one
short transaction), call the provider (no transaction open), store the reply.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.db import transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Greatest
from django.utils import timezone

from sessions_app import cache
from sessions_app.conf import app_settings
from sessions_app.exceptions import (
    ContentTooLongError,
    MessageLimitError,
    ProviderError,
    SessionError,
    SessionExpiredError,
    ValidationError,
)
from sessions_app.models import (
    WRITABLE_STATUSES,
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
from sessions_app.services.sessions import lock_writable, refusal, require_writable
from sessions_app.validation import json_object, moment, text
from sessions_app.validation import limit as valid_limit

ROLE_COUNTERS = {
    MessageRole.USER: "user_message_count",
    MessageRole.ASSISTANT: "assistant_message_count",
    MessageRole.SYSTEM: "system_message_count",
}
SENDABLE_ROLES = (MessageRole.USER, MessageRole.SYSTEM)
# No turn waits this long for its provider; a reply still pending after it will never come.
STALE_REPLY_AFTER = timedelta(minutes=15)


@dataclass
class Turn:
    """A stored user message and what is needed to get and store its reply."""

    session: Session
    message: Message
    provider: Provider
    request: CompletionRequest
    pipeline: Pipeline
    started: float = field(default_factory=time.monotonic)


def _validate_input(session: Session, content: Any, role: Any, metadata: Any) -> dict[str, Any]:
    """Check a new message; returns its metadata as it will be stored."""
    if role not in SENDABLE_ROLES:
        raise ValidationError(
            f"role must be one of {', '.join(SENDABLE_ROLES)}.",
            session_id=session.pk,
            error_code="invalid_role",
        )
    text(content, "content", session_id=session.pk)
    if not content.strip():
        raise ValidationError("content must not be empty.", session_id=session.pk)
    if len(content) > app_settings.MAX_MESSAGE_CHARS:
        raise ContentTooLongError(
            f"content is longer than {app_settings.MAX_MESSAGE_CHARS} characters.",
            session_id=session.pk,
        )
    return json_object(metadata or {}, "metadata", session_id=session.pk)


def _check_timeout(session: Session) -> None:
    minutes = session.config.get("session_timeout_minutes")
    if not minutes:
        return
    cutoff = timezone.now() - timedelta(minutes=minutes)
    if session.last_activity < cutoff:
        # The copy in hand may be old; only the stored activity decides.
        session.refresh_from_db(fields=["last_activity"])
        if session.last_activity < cutoff:
            raise SessionExpiredError(
                "The session timed out from inactivity.", session_id=session.pk
            )


def _release_stale_replies(session_id: Any) -> bool:
    """Free the slots of replies that can no longer arrive; True if there were any.

    A turn whose consumer vanished before its stream began (an ASGI client gone
    while the view ran) or whose worker died keeps its reply's slot. Every
    append refreshes ``last_activity``, so a session quiet for longer than any
    turn lasts has none in flight.
    """
    cutoff = timezone.now() - STALE_REPLY_AFTER
    stale = Session.objects.filter(pk=session_id, pending_replies__gt=0, last_activity__lt=cutoff)
    return stale.update(pending_replies=0) > 0


def _refusal(session_id: Any, reserve: int) -> SessionError:
    """Why an append guarded by state, expiry and ``max_messages`` matched no row."""
    session = Session.objects.filter(pk=session_id).first()
    if session is None or session.status not in WRITABLE_STATUSES or session.is_expired():
        return refusal(session_id)
    return MessageLimitError(
        f"The session allows {session.max_messages} messages and has {session.message_count} "
        f"(+{session.pending_replies} replies pending); this needs {reserve}.",
        session_id=session_id,
    )


def store_message(
    session: Session,
    *,
    role: str,
    content: str,
    metadata: dict[str, Any] | None = None,
    reserve: int | None = 1,
    pending: int = 0,
    status: str = MessageStatus.COMPLETE,
    completion: Completion | None = None,
    processing_time_ms: int | None = None,
    cost: float = 0.0,
) -> Message:
    """Append a message with the next sequence number and update the counters exactly.

    ``reserve`` is the room needed under ``max_messages`` (checked atomically
    with the append, with state and expiry); ``None`` for a reply, which only
    needs its session to exist. ``completion`` carries a reply's usage.
    """
    now = timezone.now()
    input_tokens = completion.input_tokens if completion else 0
    output_tokens = completion.output_tokens if completion else 0
    message = Message(
        session_id=session.pk,
        role=role,
        content=content,
        created_at=now,
        metadata=metadata or {},
        status=status,
        provider_message_id=completion.provider_message_id if completion else "",
        provider_metadata=(
            {"model": completion.model, "state": completion.provider_state} if completion else {}
        ),
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
    if completion is not None:
        increments["provider_calls"] = 1
        increments["total_response_time_ms"] = processing_time_ms or 0
        increments["estimated_cost"] = Decimal(str(round(cost, 6)))
    operation = Append(message, increments, now, reserve=reserve, pending=pending)
    if not append(operation) and not (_release_stale_replies(session.pk) and append(operation)):
        raise _refusal(session.pk, reserve or 0)
    cache.invalidate(session)  # cached views hold status and last activity
    session.last_activity = now
    if reserve is not None:
        session.status = SessionStatus.ACTIVE
    return message


def _history(session: Session) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(content,) of recent system messages and (role, content, provider_metadata) of the
    recent conversation, each ascending; plain tuples, since this runs on every turn."""
    limit = app_settings.HISTORY_LIMIT
    messages = Message.objects.filter(session=session).exclude(status=MessageStatus.ERROR)
    system = messages.filter(role=MessageRole.SYSTEM).order_by("-seq").values_list("content")
    dialogue = (
        messages.exclude(role=MessageRole.SYSTEM)
        .order_by("-seq")
        .values_list("role", "content", "provider_metadata")
    )
    return list(reversed(system[:limit])), list(reversed(dialogue[:limit]))


def build_request(session: Session, provider: Provider) -> CompletionRequest:
    system, dialogue = _history(session)
    state = next(
        (meta.get("state", {}) for role, _, meta in reversed(dialogue) if role == "assistant"), {}
    )
    return CompletionRequest(
        model=session.model or provider.default_model,
        messages=[ChatMessage(role=role, content=content) for role, content, _ in dialogue],
        system="\n\n".join(content for (content,) in system) or None,
        max_tokens=session.config.get("max_tokens_per_message"),
        provider_state=state,
        options=session.config.get("provider_config") or {},
    )


def accept_message(
    session: Session,
    pipeline: Pipeline,
    *,
    content: Any,
    role: Any = MessageRole.USER,
    metadata: dict[str, Any] | None = None,
) -> Message:
    """Validate, run incoming middleware and store a user or system message."""
    metadata = _validate_input(session, content, role, metadata)
    require_writable(session)
    _check_timeout(session)
    incoming = pipeline.run(
        PipelineMessage(session_id=str(session.pk), role=role, content=content, metadata=metadata)
    )
    is_user = role == MessageRole.USER
    message = store_message(
        session,
        role=role,
        content=incoming.content,
        metadata=incoming.metadata,
        # A user message holds a slot for its reply until the reply is stored.
        reserve=2 if is_user else 1,
        pending=1 if is_user else 0,
    )
    pipeline.fire(LifecycleEvent.MESSAGE_SENT, session_id=str(session.pk), message=message)
    return message


def start_turn(
    session: Session, pipeline: Pipeline, *, content: Any, metadata: dict[str, Any] | None = None
) -> Turn:
    provider = get_provider(session.provider or None)
    message = accept_message(session, pipeline, content=content, metadata=metadata)
    return Turn(session, message, provider, build_request(session, provider), pipeline)


def _store_reply(
    turn: Turn, completion: Completion, *, content: str, metadata: dict[str, Any], status: str
) -> Message:
    return store_message(
        turn.session,
        role=MessageRole.ASSISTANT,
        content=content,
        metadata=metadata,
        reserve=None,
        pending=-1,
        status=status,
        completion=completion,
        processing_time_ms=int((time.monotonic() - turn.started) * 1000),
        cost=turn.provider.estimate_cost(
            completion.model, completion.input_tokens, completion.output_tokens
        ),
    )


def finish_turn(
    turn: Turn, completion: Completion, *, status: str = MessageStatus.COMPLETE
) -> Message:
    """Run outgoing middleware on the reply and store it with usage and cost.

    The reply completes a turn that was accepted, so it is stored even if the
    session was archived or expired while the provider worked. If outgoing
    middleware rejects it, an empty reply with status ``error`` records the
    call's usage and frees its slot, and the error is raised.
    """
    metadata = {"finish_reason": completion.finish_reason, **completion.metadata}
    try:
        outgoing = turn.pipeline.run(
            PipelineMessage(
                session_id=str(turn.session.pk),
                role=MessageRole.ASSISTANT,
                content=completion.text,
                direction="outgoing",
                metadata=metadata,
            )
        )
    except SessionError as exc:
        metadata["error"] = exc.error_code
        _store_reply(turn, completion, content="", metadata=metadata, status=MessageStatus.ERROR)
        exc.session_id = str(turn.session.pk)
        turn.pipeline.fire(
            LifecycleEvent.ERROR, session_id=str(turn.session.pk), session=turn.session, error=exc
        )
        raise
    reply = _store_reply(
        turn, completion, content=outgoing.content, metadata=outgoing.metadata, status=status
    )
    turn.pipeline.fire(
        LifecycleEvent.MESSAGE_RECEIVED, session_id=str(turn.session.pk), message=reply
    )
    return reply


def fail_turn(turn: Turn, exc: Exception) -> ProviderError:
    """Count the failed call, free the reply's slot, fire the error hook."""
    error = (
        exc
        if isinstance(exc, ProviderError)
        else ProviderError(
            f"Provider {turn.provider.name!r} failed: {type(exc).__name__}",
            provider=turn.provider.name,
        )
    )
    error.session_id = str(turn.session.pk)
    Session.objects.filter(pk=turn.session.pk).update(
        provider_calls=F("provider_calls") + 1,
        provider_errors=F("provider_errors") + 1,
        pending_replies=Greatest(F("pending_replies") - 1, 0),
    )
    turn.pipeline.fire(
        LifecycleEvent.ERROR, session_id=str(turn.session.pk), session=turn.session, error=error
    )
    return error


def abandon_turn(turn: Turn) -> Message:
    """Finish a turn whose reply never began (its consumer went away first): an empty
    reply with status ``incomplete``, so the reply's slot is freed."""
    return finish_turn(turn, _partial(turn, []), status=MessageStatus.INCOMPLETE)


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


def _no_completion(turn: Turn) -> ProviderError:
    return ProviderError(
        "The provider's stream ended without a reply.", provider=turn.provider.name
    )


def stream_turn(turn: Turn) -> Iterator[TextDelta | Message]:
    """Yield the reply's deltas, then the stored reply.

    If the consumer stops early (a client went away), what was generated is
    stored with status ``incomplete``.
    """
    parts: list[str] = []
    events = turn.provider.stream(turn.request)
    completion: Completion | None = None
    try:
        while completion is None:
            try:
                event = next(events)
            except StopIteration:
                raise fail_turn(turn, _no_completion(turn)) from None
            except Exception as exc:
                raise fail_turn(turn, exc) from exc
            if isinstance(event, Completion):
                completion = event
            else:
                parts.append(event.text)
                yield event
    except GeneratorExit:
        finish_turn(turn, _partial(turn, parts), status=MessageStatus.INCOMPLETE)
        raise
    yield finish_turn(turn, completion)


async def astream_turn(turn: Turn) -> AsyncIterator[TextDelta | Message]:
    parts: list[str] = []
    events = turn.provider.astream(turn.request)
    completion: Completion | None = None
    try:
        while completion is None:
            try:
                event = await events.__anext__()
            except StopAsyncIteration:
                raise await sync_to_async(fail_turn)(turn, _no_completion(turn)) from None
            except Exception as exc:
                raise await sync_to_async(fail_turn)(turn, exc) from exc
            if isinstance(event, Completion):
                completion = event
            else:
                parts.append(event.text)
                yield event
    except (GeneratorExit, asyncio.CancelledError):
        # Closed early, or cancelled when an ASGI client disconnects: keep what was generated.
        await events.aclose()
        await sync_to_async(finish_turn)(
            turn, _partial(turn, parts), status=MessageStatus.INCOMPLETE
        )
        raise
    yield await sync_to_async(finish_turn)(turn, completion)


def message_history(
    session: Session,
    *,
    limit: Any = None,
    role: Any = None,
    since: Any = None,
) -> QuerySet[Message]:
    """Messages in ascending order; with ``limit``, the most recent ``limit`` of them."""
    limit = valid_limit(limit)
    since = moment(since, "since")
    messages = Message.objects.filter(session=session)
    if role is not None:
        if role not in MessageRole.values:
            raise ValidationError(f"role must be one of {', '.join(MessageRole.values)}.")
        messages = messages.filter(role=role)
    if since:
        messages = messages.filter(created_at__gte=since)
    if limit == 0:
        return messages.none()
    if limit is not None:
        newest = messages.order_by("-seq").values_list("seq", flat=True)[limit - 1 : limit]
        floor = next(iter(newest), None)
        if floor is not None:
            messages = messages.filter(seq__gte=floor)
    return messages.order_by("seq")


def clear_messages(session: Session) -> int:
    """Delete the history; counters of messages go back to zero, usage totals stay.

    The session row is locked first, so no append can slip between the delete
    and the counter reset.
    """
    with transaction.atomic():
        lock_writable(session.pk)
        deleted, _ = Message.objects.filter(session=session).delete()
        Session.objects.filter(pk=session.pk).update(
            message_count=0, user_message_count=0, assistant_message_count=0, system_message_count=0
        )
    return deleted
