"""Who may see which sessions, and where a caller may create one (tenancy).

Staff see every live session. Another user sees only their own sessions, and
only in sandboxes they belong to (and the default sandbox, when
``ALLOW_DEFAULT_SANDBOX``). Whoever holds a session's secret key sees that
one session. Nothing else is visible, and the callers answer "not found" for
anything invisible, so a session's existence never leaks.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from sessions_app.conf import app_settings
from sessions_app.exceptions import ValidationError
from sessions_app.keys import hash_key
from sessions_app.models import Sandbox, Session, SessionStatus
from sessions_app.services.sandboxes import clean_sandbox_id, find_sandbox
from sessions_app.services.selectors import not_expired


def _is_staff(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_staff)


def _sandboxes_of(user: Any) -> QuerySet[Sandbox]:
    allowed = Q(members=user)
    if app_settings.ALLOW_DEFAULT_SANDBOX:
        allowed |= Q(slug=app_settings.DEFAULT_SANDBOX)
    return Sandbox.objects.filter(allowed)


def visible_sessions(user: Any, session_key: str | None = None) -> QuerySet[Session]:
    """Live sessions ``user`` may see, plus the one ``session_key`` opens."""
    live = Session.objects.exclude(status=SessionStatus.DELETED).filter(not_expired())
    if _is_staff(user):
        return live
    visible = Q(pk__in=[])
    if user is not None and user.is_authenticated:
        visible |= Q(user=user, sandbox__in=_sandboxes_of(user).values("pk"))
    if session_key:
        visible |= Q(key_hash=hash_key(session_key))
    return live.filter(visible)


def sandbox_for_new_session(user: Any, slug: Any) -> str:
    """The sandbox a new session of ``user`` goes to; an unknown or foreign one is refused.

    The default sandbox is created on first use; any other must exist, and a
    user who is not staff must belong to it (both refusals read the same).
    """
    default = app_settings.DEFAULT_SANDBOX
    slug = clean_sandbox_id(slug) if slug else default
    staff = _is_staff(user)
    if slug == default and (staff or app_settings.ALLOW_DEFAULT_SANDBOX):
        return slug
    sandbox = find_sandbox(slug)
    member = (
        sandbox is not None
        and user is not None
        and user.is_authenticated
        and sandbox.members.filter(pk=user.pk).exists()
    )
    if sandbox is None or not (staff or member):
        raise ValidationError(f"Unknown sandbox {slug!r}.", error_code="unknown_sandbox")
    return slug
