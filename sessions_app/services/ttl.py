"""Time-limited sessions: validate, inspect, extend and touch, with the shared cache in front."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from sessions_app import cache
from sessions_app.conf import app_settings
from sessions_app.exceptions import ValidationError
from sessions_app.limits import MAX_TTL_SECONDS
from sessions_app.models import Sandbox, Session, SessionStatus
from sessions_app.services.representations import session_representation
from sessions_app.services.selectors import find_session, parse_session_id
from sessions_app.services.sessions import update_session
from sessions_app.validation import json_object, moment, positive_number

# The TTL reference's names for a session's info, each read from a field of its document.
INFO_FIELDS = {
    "session_id": "id",
    "sandbox_id": "sandbox",
    "user_id": "user_id",
    "status": "status",
    "created_at": "created_at",
    "expires_at": "expires_at",
    "last_accessed": "last_activity",
    "custom_metadata": "metadata",
}
MOMENT_FIELDS = ("created_at", "expires_at", "last_activity")


def _snapshot(session: Session, sandbox: Sandbox) -> dict[str, Any]:
    """What the cache keeps of a session: the fields of its document that its info shows."""
    document = session_representation({**vars(session), "sandbox__slug": sandbox.slug}, tags=[])
    return {field: document[field] for field in INFO_FIELDS.values()}


def _cache_timeout(snapshot: dict[str, Any], now: datetime) -> float:
    timeout: float = app_settings.CACHE_TIMEOUT
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
    snapshot: dict[str, Any] | None = cache.cache_get(key)
    # An entry cached before snapshots were the document's fields has no "sandbox": a miss.
    if snapshot is None or "sandbox" not in snapshot:
        session = find_session(sandbox, pk)
        if session is None:
            return None
        snapshot = _snapshot(session, sandbox)
        cache.cache_add(key, snapshot, _cache_timeout(snapshot, now))
    expired = snapshot["expires_at"] and _dt(snapshot["expires_at"]) <= now
    if (
        snapshot["sandbox"] != sandbox.slug
        or snapshot["status"] == SessionStatus.DELETED
        or expired
    ):
        return None
    return snapshot


def _touch(session_id: Any, last_activity: datetime, now: datetime) -> bool:
    """Write the activity at most once per ``TOUCH_INTERVAL``; False if the session is gone."""
    if now - last_activity < timedelta(seconds=app_settings.TOUCH_INTERVAL):
        return True
    touched = (
        Session.objects.filter(pk=session_id)
        .exclude(status=SessionStatus.DELETED)
        .update(last_activity=now)
    )
    # Never write back the snapshot read earlier: a concurrent write may be newer.
    cache.invalidate_snapshot(session_id)
    return bool(touched)


def validate_session(sandbox: Sandbox | None, session_id: Any) -> bool:
    """True when the session exists here and has not expired; touches its activity."""
    now = timezone.now()
    snapshot = _live_snapshot(sandbox, session_id, now)
    return snapshot is not None and _touch(snapshot["id"], _dt(snapshot["last_activity"]), now)


def validate_loaded(session: Session) -> bool:
    """``validate_session`` for a session already read: no second read, only the touch."""
    now = timezone.now()
    if session.status == SessionStatus.DELETED or session.is_expired(now):
        return False
    return _touch(session.pk, session.last_activity, now)


def session_info(sandbox: Sandbox | None, session_id: Any) -> dict[str, Any] | None:
    snapshot = _live_snapshot(sandbox, session_id, timezone.now())
    if snapshot is None:
        return None
    moments = {name: _dt(snapshot[name]) if snapshot[name] else None for name in MOMENT_FIELDS}
    values = {**snapshot, **moments}
    return {name: values[field] for name, field in INFO_FIELDS.items()}


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
    """Push the expiry later by ``seconds`` (from now when the session has no expiry).

    The new expiry is at most ``MAX_TTL_SECONDS`` ahead, as ``valid_expiry`` allows; a longer
    extension is refused and the expiry is kept.
    """
    delta = timedelta(seconds=positive_number(seconds, "extension", session_id=session.pk))
    now = timezone.now()
    latest = now + timedelta(seconds=MAX_TTL_SECONDS)

    def extended(fresh: Session) -> dict[str, Any]:
        start = fresh.expires_at or now
        # Compared before adding: an expiry stored near year 9999 plus delta would overflow.
        if start > latest - delta:
            days = MAX_TTL_SECONDS / 86400
            raise ValidationError(
                f"The extension would put the expiry more than {days:g} days ahead.",
                session_id=session.pk,
                error_code="ttl_too_long",
            )
        return {"expires_at": start + delta, "last_activity": now}

    return update_session(session, extended)


def valid_expiry(value: Any, **error: Any) -> datetime | None:
    """An absolute expiry: ``None`` (never) or a moment ahead, at most the cap of ``extend_ttl``."""
    expires_at = moment(value, "expires_at")
    if expires_at is None:
        return None
    if not 0 < (expires_at - timezone.now()).total_seconds() <= MAX_TTL_SECONDS:
        days = MAX_TTL_SECONDS / 86400
        raise ValidationError(
            f"expires_at must be in the future and at most {days:g} days ahead.", **error
        )
    return expires_at


def set_expiry(session: Session, expires_at: Any) -> Session:
    """Set the expiry to ``expires_at`` (``None``: never), checked by ``valid_expiry``."""
    expires_at = valid_expiry(expires_at, session_id=session.pk)
    return update_session(
        session, lambda fresh: {"expires_at": expires_at, "last_activity": timezone.now()}
    )
