"""Who may see which sessions, and where a caller may create one (tenancy).

Staff see every live session. Another user sees only their own sessions, and
only in sandboxes they belong to (and the default sandbox, when
``ALLOW_DEFAULT_SANDBOX``). Whoever holds a session's secret key sees that
one session. Nothing else is visible, and the callers answer "not found" for
anything invisible, so a session's existence never leaks.
"""

from __future__ import annotations

import hmac
from typing import Any

from django.db.models import Q, QuerySet

from sessions_app.conf import app_settings
from sessions_app.exceptions import ValidationError
from sessions_app.models import Sandbox, Session, SessionStatus
from sessions_app.pipeline import get_default_pipeline
from sessions_app.services.sandboxes import clean_sandbox_id, find_sandbox, get_or_create_sandbox
from sessions_app.services.selectors import all_live_sessions, parse_session_id
from sessions_app.services.sessions import CreatedSession, create_session
from sessions_app.utils.keys import hash_key


def _is_staff(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_staff)


def _is_member(user: Any, sandbox: Sandbox) -> bool:
    signed_in = user is not None and user.is_authenticated
    return signed_in and sandbox.members.filter(pk=user.pk).exists()


def _sandbox_ids_of(user: Any) -> list[int]:
    """Sandboxes whose sessions ``user`` may see: theirs, and the default one when allowed."""
    allowed = Q(members=user)
    if app_settings.ALLOW_DEFAULT_SANDBOX:
        allowed |= Q(slug=app_settings.DEFAULT_SANDBOX)
    return list(Sandbox.objects.filter(allowed).values_list("pk", flat=True).distinct())


def visible_sessions(user: Any, session_key: str | None = None) -> QuerySet[Session]:
    """Live sessions ``user`` may see, plus the one ``session_key`` opens."""
    if _is_staff(user):
        return all_live_sessions()
    visible = Q(pk__in=[])
    if user is not None and user.is_authenticated:
        # A literal list of sandbox ids: the planner then uses the (sandbox, user) index.
        visible |= Q(user=user, sandbox_id__in=_sandbox_ids_of(user))
    if session_key:
        visible |= Q(key_hash=hash_key(session_key))
    return all_live_sessions().filter(visible)


def _may_see(user: Any, session_key: str | None, session: Session) -> bool:
    if _is_staff(user):
        return True
    if session_key and hmac.compare_digest(session.key_hash, hash_key(session_key)):
        return True
    if user is None or not user.is_authenticated or session.user_id != user.pk:
        return False
    sandbox = session.sandbox
    if app_settings.ALLOW_DEFAULT_SANDBOX and sandbox.slug == app_settings.DEFAULT_SANDBOX:
        return True
    return _is_member(user, sandbox)


def visible_session(user: Any, session_key: str | None, session_id: Any) -> Session | None:
    """The live session with this id if the caller may see it, else None (it may not exist).

    One lookup by primary key and the checks in Python: cheaper than filtering
    ``visible_sessions``, and the same answer.
    """
    pk = parse_session_id(session_id)
    if pk is None:
        return None
    # By primary key alone, liveness checked here: the simplest statement to build and run.
    session = Session.objects.select_related("sandbox").filter(pk=pk).first()
    if session is None or session.status == SessionStatus.DELETED or session.is_expired():
        return None
    return session if _may_see(user, session_key, session) else None


def sandbox_for_new_session(user: Any, slug: Any) -> Sandbox:
    """The sandbox a new session of ``user`` goes to; an unknown or foreign one is refused.

    The default sandbox is created on first use; any other must exist, and a
    user who is not staff must belong to it (both refusals read the same).
    """
    default = app_settings.DEFAULT_SANDBOX
    slug = clean_sandbox_id(slug) if slug else default
    staff = _is_staff(user)
    if slug == default and (staff or app_settings.ALLOW_DEFAULT_SANDBOX):
        return get_or_create_sandbox(slug)
    sandbox = find_sandbox(slug)
    if sandbox is None or not (staff or _is_member(user, sandbox)):
        raise ValidationError(f"Unknown sandbox {slug!r}.", error_code="unknown_sandbox")
    return sandbox


def create_session_for(user: Any, *, sandbox: Any = None, **fields: Any) -> CreatedSession:
    """Create a session owned by ``user`` (``None``: anonymous) in a sandbox they may use,
    through the default pipeline, so the hooks of settings fire; ``fields`` as
    ``sessions.create_session`` takes them."""
    return create_session(
        sandbox=sandbox_for_new_session(user, sandbox),
        pipeline=get_default_pipeline(),
        user=user,
        **fields,
    )
