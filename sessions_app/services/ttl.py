"""Time-limited sessions: validate, inspect, extend and touch, with the shared cache in front."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from sessions_app import cache
from sessions_app.conf import app_settings
from sessions_app.models import Sandbox, Session, SessionStatus
from sessions_app.services.selectors import find_session, parse_session_id
from sessions_app.services.sessions import update_session
from sessions_app.validation import json_object, positive_number


def _snapshot(session: Session) -> dict[str, Any]:
    return {
        "id": str(session.pk),
        "sandbox_id": session.sandbox_id,
        "user_id": session.external_user_id or None,
        "status": session.status,
        "created_at": session.created_at.isoformat(),
        "last_activity": session.last_activity.isoformat(),
        "expires_at": session.expires_at.isoformat() if session.expires_at else None,
        "metadata": session.metadata,
    }


def _cache_timeout(snapshot: dict[str, Any], now: datetime) -> float:
    timeout = app_settings.CACHE_TIMEOUT
    if snapshot["expires_at"]:
        timeout = min(timeout, (_dt(snapshot["expires_at"]) - now).total_seconds())
    return timeout


def _dt(value: str) -> datetime:
    parsed = parse_datetime(value)
    assert parsed is not None
    return parsed


def _live_snapshot(
    sandbox: Sandbox | None, session_id: Any, now: datetime
) -> dict[str, Any] | None:
    """The cached snapshot, or one read from the database; ``None`` if not live here."""
    pk = parse_session_id(session_id)
    if pk is None or sandbox is None:
        return None
    key = cache.snapshot_key(pk)
    snapshot = cache.cache_get(key)
    if snapshot is None:
        session = find_session(sandbox, pk)
        if session is None:
            return None
        snapshot = _snapshot(session)
        cache.cache_add(key, snapshot, _cache_timeout(snapshot, now))
    expired = snapshot["expires_at"] and _dt(snapshot["expires_at"]) <= now
    if (
        snapshot["sandbox_id"] != sandbox.pk
        or snapshot["status"] == SessionStatus.DELETED
        or expired
    ):
        return None
    return snapshot


def validate_session(sandbox: Sandbox | None, session_id: Any) -> bool:
    """True when the session exists here and has not expired; touches its activity.

    The activity is written at most once per ``TOUCH_INTERVAL``.
    """
    now = timezone.now()
    snapshot = _live_snapshot(sandbox, session_id, now)
    if snapshot is None:
        return False
    if now - _dt(snapshot["last_activity"]) >= timedelta(seconds=app_settings.TOUCH_INTERVAL):
        touched = (
            Session.objects.filter(pk=snapshot["id"])
            .exclude(status=SessionStatus.DELETED)
            .update(last_activity=now)
        )
        # Never write back the snapshot read earlier: a concurrent write may be newer.
        cache.invalidate_snapshot(snapshot["id"])
        return bool(touched)
    return True


def session_info(sandbox: Sandbox | None, session_id: Any) -> dict[str, Any] | None:
    snapshot = _live_snapshot(sandbox, session_id, timezone.now())
    if snapshot is None or sandbox is None:
        return None
    return {
        "session_id": snapshot["id"],
        "sandbox_id": sandbox.slug,
        "user_id": snapshot["user_id"],
        "status": snapshot["status"],
        "created_at": _dt(snapshot["created_at"]),
        "expires_at": _dt(snapshot["expires_at"]) if snapshot["expires_at"] else None,
        "last_accessed": _dt(snapshot["last_activity"]),
        "custom_metadata": snapshot["metadata"],
    }


def update_metadata(session: Session, changes: Any, *, merge: bool = True) -> Session:
    """Merge ``changes`` into the stored metadata (or replace it), under a row lock."""
    changes = json_object(changes, "metadata", session_id=session.pk)
    return update_session(
        session,
        lambda fresh: {
            "metadata": {**fresh.metadata, **changes} if merge else dict(changes),
            "last_activity": timezone.now(),
        },
    )


def extend_ttl(session: Session, seconds: Any) -> Session:
    """Push the expiry later by ``seconds`` (from now when the session has no expiry)."""
    delta = timedelta(seconds=positive_number(seconds, "extension", session_id=session.pk))
    now = timezone.now()
    return update_session(
        session,
        lambda fresh: {
            "expires_at": (fresh.expires_at or now) + delta,
            "last_activity": now,
        },
    )
