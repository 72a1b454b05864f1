"""Write guards: may this session be written, and if not, which error says why."""

from __future__ import annotations

from typing import Any

from sessions_app.exceptions import (
    SessionError,
    SessionExpiredError,
    SessionNotFoundError,
    SessionStateError,
)
from sessions_app.models import WRITABLE_STATUSES, Session, SessionStatus
from sessions_app.services.selectors import not_expired


def refusal(session_id: Any) -> SessionError:
    """Why a write guarded by "writable and not expired" matched no row."""
    session = Session.objects.filter(pk=session_id).first()
    if session is None or session.status == SessionStatus.DELETED:
        return SessionNotFoundError(session_id=session_id)
    if session.status == SessionStatus.ARCHIVED:
        return SessionStateError("The session is archived and read-only.", session_id=session_id)
    if session.is_expired():
        return SessionExpiredError(session_id=session_id)
    return SessionStateError(f"The session is {session.status}.", session_id=session_id)


def require_writable(session: Session) -> None:
    """A cheap early check on the copy in hand; writes re-check in SQL."""
    if session.status == SessionStatus.ARCHIVED:
        raise SessionStateError("The session is archived and read-only.", session_id=session.pk)
    if session.status == SessionStatus.DELETED:
        raise SessionNotFoundError(session_id=session.pk)


def lock_writable(session_id: Any) -> Session:
    """Inside a transaction: the fresh row, locked, if it is writable and not expired."""
    fresh = (
        Session.objects.select_for_update()
        .filter(not_expired(), pk=session_id, status__in=WRITABLE_STATUSES)
        .first()
    )
    if fresh is None:
        raise refusal(session_id)
    return fresh


def is_writable(session: Session) -> bool:
    """Whether the services would change this session: a writable status, not expired."""
    return session.status in WRITABLE_STATUSES and not session.is_expired()
