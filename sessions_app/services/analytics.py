"""Metrics of one session and analytics of many, read from the denormalised counters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate

from sessions_app.exceptions import ValidationError
from sessions_app.metrics import SessionAnalytics, SessionMetrics
from sessions_app.models import Message, Session, SessionStatus
from sessions_app.services.sandboxes import find_sandbox
from sessions_app.services.selectors import owner_filter
from sessions_app.validation import moment

# Summed as integers; the cost is a decimal, summed apart.
SUMMED_COUNTERS = (
    "message_count",
    "input_tokens",
    "output_tokens",
    "provider_calls",
    "provider_errors",
    "total_response_time_ms",
)


def _avg_response_ms(total_ms: int, calls: int, errors: int) -> float:
    answered = calls - errors
    return round(total_ms / answered, 2) if answered > 0 else 0.0


MessageSpan = tuple[datetime | None, datetime | None]


def message_span(session: Session) -> MessageSpan:
    """When the session's first and last messages were stored (one indexed query)."""
    if not session.message_count:
        return None, None
    span = Message.objects.filter(session=session).aggregate(
        first=Min("created_at"), last=Max("created_at")
    )
    return span["first"], span["last"]


def session_metrics(session: Session, span: MessageSpan | None = None) -> SessionMetrics:
    """The session's metrics; ``span`` is ``message_span`` when the caller already knows it."""
    first_message_at, last_message_at = span if span is not None else message_span(session)
    return SessionMetrics(
        session_id=str(session.pk),
        total_messages=session.message_count,
        user_messages=session.user_message_count,
        assistant_messages=session.assistant_message_count,
        system_messages=session.system_message_count,
        total_tokens=session.input_tokens + session.output_tokens,
        input_tokens=session.input_tokens,
        output_tokens=session.output_tokens,
        session_duration=session.last_activity - session.created_at,
        avg_response_time_ms=_avg_response_ms(
            session.total_response_time_ms, session.provider_calls, session.provider_errors
        ),
        total_response_time_ms=session.total_response_time_ms,
        first_message_at=first_message_at,
        last_message_at=last_message_at,
        provider_calls=session.provider_calls,
        provider_errors=session.provider_errors,
        estimated_cost=float(session.estimated_cost),
        error_rate=round(session.provider_errors / session.provider_calls, 4)
        if session.provider_calls
        else 0.0,
        created_at=session.created_at,
        last_activity=session.last_activity,
    )


def _usage(sessions: QuerySet[Session], field: str) -> dict[str, int]:
    rows = sessions.exclude(**{field: ""}).values(field).annotate(n=Count("pk")).order_by("-n")
    return {row[field]: row["n"] for row in rows}


def analytics(
    sessions: QuerySet[Session],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """Totals over sessions created in [start, end], with a daily series."""
    if start:
        sessions = sessions.filter(created_at__gte=start)
    if end:
        sessions = sessions.filter(created_at__lte=end)
    totals = sessions.aggregate(
        total_sessions=Count("pk"),
        active_sessions=Count("pk", filter=Q(status=SessionStatus.ACTIVE)),
        external_users=Count("external_user_id", filter=~Q(external_user_id=""), distinct=True),
        django_users=Count("user", filter=Q(external_user_id=""), distinct=True),
        **{name: Coalesce(Sum(name), 0) for name in SUMMED_COUNTERS},
        estimated_cost=Sum("estimated_cost"),
    )
    daily = (
        sessions.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            sessions=Count("pk"),
            message_total=Coalesce(Sum("message_count"), 0),
            tokens=Coalesce(Sum("input_tokens"), 0) + Coalesce(Sum("output_tokens"), 0),
        )
        .order_by("day")
    )
    total = totals["total_sessions"]
    calls, errors = totals["provider_calls"], totals["provider_errors"]
    return {
        "period": {"start": start, "end": end},
        "total_sessions": total,
        "active_sessions": totals["active_sessions"],
        "sessions_by_status": _usage(sessions, "status"),
        "active_users": totals["external_users"] + totals["django_users"],
        "total_messages": totals["message_count"],
        "avg_messages_per_session": round(totals["message_count"] / total, 2) if total else 0.0,
        "provider_usage": _usage(sessions, "provider"),
        "model_usage": _usage(sessions, "model"),
        "input_tokens": totals["input_tokens"],
        "output_tokens": totals["output_tokens"],
        "total_tokens": totals["input_tokens"] + totals["output_tokens"],
        "estimated_cost": float(totals["estimated_cost"] or 0),
        "avg_response_time_ms": _avg_response_ms(totals["total_response_time_ms"], calls, errors),
        "provider_calls": calls,
        "provider_errors": errors,
        "error_rate": round(errors / calls, 4) if calls else 0.0,
        "daily": [
            {
                "date": row["day"],
                "sessions": row["sessions"],
                "messages": row["message_total"],
                "tokens": row["tokens"],
            }
            for row in daily
        ],
    }


def report(
    sessions: QuerySet[Session],
    *,
    sandbox_id: str | None,
    start_date: Any = None,
    end_date: Any = None,
    user_id: Any = None,
) -> SessionAnalytics:
    """``analytics`` from caller input: dates or date-times (an end date means its whole
    day) and an optional owner (an external user id or a Django user)."""
    if user_id is not None:
        sessions = sessions.filter(owner_filter(user_id))
    totals = analytics(
        sessions,
        start=moment(start_date, "start_date"),
        end=moment(end_date, "end_date", end_of_day=True),
    )
    return SessionAnalytics(sandbox_id=sandbox_id, **totals)


def sandbox_report(
    sandbox_id: str | None = None,
    *,
    start_date: Any = None,
    end_date: Any = None,
    user_id: Any = None,
) -> SessionAnalytics:
    """``report`` over every session of the sandbox with this slug (deleted and expired
    ones too), or of every sandbox for ``None``; an unknown sandbox is refused."""
    sessions = Session.objects.all()
    if sandbox_id is not None:
        sandbox = find_sandbox(sandbox_id)
        if sandbox is None:
            raise ValidationError(f"Unknown sandbox {sandbox_id!r}.", error_code="unknown_sandbox")
        sessions = sessions.filter(sandbox=sandbox)
    return report(
        sessions, sandbox_id=sandbox_id, start_date=start_date, end_date=end_date, user_id=user_id
    )
