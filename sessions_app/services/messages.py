"""Storing a message with exact counters, and clearing a session's history."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from sessions_app import cache
from sessions_app.exceptions import MessageLimitError, SessionError
from sessions_app.models import (
    USAGE_FIELDS,
    Message,
    MessageRole,
    MessageStatus,
    Session,
    SessionStatus,
)
from sessions_app.providers import Completion
from sessions_app.services.append import Append, append
from sessions_app.services.guards import is_writable, lock_writable, refusal

ROLE_COUNTERS: dict[str, str] = {
    MessageRole.USER: "user_message_count",
    MessageRole.ASSISTANT: "assistant_message_count",
    MessageRole.SYSTEM: "system_message_count",
}
COST_PLACES = Decimal("0.000001")
# No turn waits this long for its provider; a reply still pending after it will never come.
STALE_REPLY_AFTER = timedelta(minutes=15)


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
    if session is None or not is_writable(session):
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
    cost: Decimal | None = None,
    time_to_first_token_ms: int | None = None,
    provider_error: bool = False,
    created_at: datetime | None = None,
) -> Message:
    """Append a message with the next sequence number and update the counters exactly.

    ``reserve`` is the room needed under ``max_messages`` (checked atomically
    with the append, with state and expiry); ``None`` for a reply, which only
    needs its session to exist. ``completion`` carries a reply's usage, ``cost`` its price
    (``None``: unknown) and ``time_to_first_token_ms`` its first streamed text;
    ``provider_error`` counts a reply cut short by its provider as a failed call. ``created_at``
    dates a message imported from elsewhere; activity is still counted from now.
    """
    now = timezone.now()
    # A negative count from an adapter would break the columns' checks; it means "none".
    usage = {name: max(0, getattr(completion, name)) if completion else 0 for name in USAGE_FIELDS}
    cost = round_cost(cost) if completion is not None else None
    message = Message(
        session_id=session.pk,
        role=role,
        content=content,
        created_at=created_at or now,
        metadata=metadata or {},
        status=status,
        provider_message_id=completion.provider_message_id if completion else "",
        provider_metadata=(
            {"model": completion.model, "state": completion.provider_state} if completion else {}
        ),
        processing_time_ms=processing_time_ms,
        time_to_first_token_ms=time_to_first_token_ms,
        estimated_cost=cost,
        **usage,
    )
    increments: dict[str, int | Decimal] = {
        "last_seq": 1,
        "message_count": 1,
        ROLE_COUNTERS[role]: 1,
        **usage,
    }
    if completion is not None:
        increments.update(_reply_increments(processing_time_ms, cost, provider_error))
    if time_to_first_token_ms is not None:
        increments["streamed_replies"] = 1
        increments["total_time_to_first_token_ms"] = time_to_first_token_ms
    operation = Append(message, increments, now, reserve=reserve, pending=pending)
    if not append(operation) and not (_release_stale_replies(session.pk) and append(operation)):
        raise _refusal(session.pk, reserve or 0)
    cache.invalidate(session)  # cached views hold status and last activity
    _count_in_memory(session, increments)
    session.last_activity = now
    if reserve is not None:
        session.status = SessionStatus.ACTIVE
    return message


def round_cost(cost: Decimal | None) -> Decimal | None:
    """``cost`` to the six decimal places the cost columns keep."""
    return None if cost is None else cost.quantize(COST_PLACES, rounding=ROUND_HALF_UP)


def _reply_increments(
    processing_time_ms: int | None, cost: Decimal | None, provider_error: bool
) -> dict[str, int | Decimal]:
    """A reply's counters beyond its usage: its call, its time, its cost or lack of one."""
    increments: dict[str, int | Decimal] = {"provider_calls": 1}
    if provider_error:
        # Averages divide by the calls that did not fail: a failed one's time is not counted.
        increments["provider_errors"] = 1
    else:
        increments["total_response_time_ms"] = processing_time_ms or 0
    if cost is None:
        increments["unpriced_replies"] = 1
    else:
        increments["priced_replies"] = 1
        increments["estimated_cost"] = cost
    return increments


def _count_in_memory(session: Session, increments: dict[str, int | Decimal]) -> None:
    """Apply an append's counter changes to the object in hand too, so a handle reads its own
    writes (``message_count`` after a turn); fields not loaded are left to the next read."""
    deferred = session.get_deferred_fields()
    for name, amount in increments.items():
        if name not in deferred:
            setattr(session, name, getattr(session, name) + amount)


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
