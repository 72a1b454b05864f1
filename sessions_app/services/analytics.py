"""Metrics of one session and analytics of many, read from the denormalised counters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate

from sessions_app.exceptions import ValidationError
from sessions_app.metrics import SessionAnalytics, SessionMetrics, reported_cost
from sessions_app.models import USAGE_FIELDS, Message, Session, SessionStatus
from sessions_app.services.sandboxes import find_sandbox
from sessions_app.services.selectors import owner_filter
from sessions_app.validation import moment

# Summed as integers; the cost is a decimal, summed apart.
SUMMED_COUNTERS = (
    "message_count",
    *USAGE_FIELDS,
    "provider_calls",
    "provider_errors",
    "total_response_time_ms",
    "streamed_replies",
    "total_time_to_first_token_ms",
    "priced_replies",
    "unpriced_replies",
)
# Copied as they are from a session's counters, or the sums of many, into the reports.
REPORTED_COUNTERS = (
    *USAGE_FIELDS,
    "provider_calls",
    "provider_errors",
    "streamed_replies",
    "unpriced_replies",
)


def _avg_response_ms(total_ms: int, calls: int, errors: int) -> float:
    answered = calls - errors
    return round(total_ms / answered, 2) if answered > 0 else 0.0


def _cost_report(counters: Any, cost: Any) -> dict[str, Any]:
    """Cost, its status and the average time to first token of one session's counters or
    of their sums (anything with ``counters[name]``)."""
    known, status = reported_cost(cost, counters["priced_replies"], counters["unpriced_replies"])
    streamed = counters["streamed_replies"]
    ttft = counters["total_time_to_first_token_ms"]
    return {
        "estimated_cost": known,
        "cost_status": status,
        "avg_time_to_first_token_ms": round(ttft / streamed, 2) if streamed else None,
    }


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
    counters = {name: getattr(session, name) for name in SUMMED_COUNTERS}
    return SessionMetrics(
        session_id=str(session.pk),
        total_messages=session.message_count,
        user_messages=session.user_message_count,
        assistant_messages=session.assistant_message_count,
        system_messages=session.system_message_count,
        total_tokens=session.input_tokens + session.output_tokens,
        **{name: counters[name] for name in REPORTED_COUNTERS},
        **_cost_report(counters, session.estimated_cost),
        session_duration=session.last_activity - session.created_at,
        avg_response_time_ms=_avg_response_ms(
            session.total_response_time_ms, session.provider_calls, session.provider_errors
        ),
        total_response_time_ms=session.total_response_time_ms,
        first_message_at=first_message_at,
        last_message_at=last_message_at,
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
            estimated_cost=Sum("estimated_cost"),
            priced_replies=Coalesce(Sum("priced_replies"), 0),
            unpriced_replies=Coalesce(Sum("unpriced_replies"), 0),
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
        **{name: totals[name] for name in REPORTED_COUNTERS},
        "total_tokens": totals["input_tokens"] + totals["output_tokens"],
        **_cost_report(totals, totals["estimated_cost"]),
        "avg_response_time_ms": _avg_response_ms(totals["total_response_time_ms"], calls, errors),
        "error_rate": round(errors / calls, 4) if calls else 0.0,
        "daily": [
            {
                "date": row["day"],
                "sessions": row["sessions"],
                "messages": row["message_total"],
                "tokens": row["tokens"],
                **_day_cost(row),
            }
            for row in daily
        ],
    }


def _day_cost(row: dict[str, Any]) -> dict[str, Any]:
    """A day's ``estimated_cost`` (null when no reply of it was priced) and ``cost_status``."""
    cost, status = reported_cost(
        row["estimated_cost"], row["priced_replies"], row["unpriced_replies"]
    )
    return {"estimated_cost": cost, "cost_status": status}


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
