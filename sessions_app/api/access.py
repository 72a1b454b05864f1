"""Who is calling: a user (session or token auth) and/or the holder of a session key."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from sessions_app.conf import app_settings
from sessions_app.exceptions import SessionNotFoundError
from sessions_app.http.engine import VALID_KEY
from sessions_app.http.middleware import header_key
from sessions_app.models import Session
from sessions_app.services.access import visible_session, visible_sessions
from sessions_app.services.selectors import parse_session_id


def session_key_of(request: Request) -> str | None:
    """The session key a client sent in the header, if it has the shape of one."""
    key = header_key(request)
    return key if VALID_KEY.fullmatch(key) else None


def sessions_for(request: Request) -> QuerySet[Session]:
    return visible_sessions(request.user, session_key_of(request))


# The session throttle's lookup, kept for the view's next one (one query, not two).
_REMEMBERED = "_sessions_app_visible_session"


def remember_visible_session(request: Request, session_id: object) -> Session | None:
    """The session if the caller may see it, kept for the request's next lookup of it."""
    found = visible_session(request.user, session_key_of(request), session_id)
    request.__dict__[_REMEMBERED] = (session_id, found)
    return found


def _visible_session_of(request: Request, session_id: object) -> Session | None:
    remembered: tuple[object, Session | None] | None = request.__dict__.pop(_REMEMBERED, None)
    if remembered is not None and remembered[0] == session_id:
        return remembered[1]
    return visible_session(request.user, session_key_of(request), session_id)


def session_for(request: Request, session_id: object) -> Session:
    """The session if the caller may see it; otherwise 404, whether or not it exists."""
    found = _visible_session_of(request, session_id)
    if found is None:
        raise SessionNotFoundError(session_id=parse_session_id(session_id))
    return found


class IsUserOrKeyHolder(BasePermission):
    """Signed in, or holding a session key (which then opens that one session only)."""

    def has_permission(self, request: Request, view: object) -> bool:
        return bool(request.user and request.user.is_authenticated) or bool(session_key_of(request))


class MayCreateSessions(BasePermission):
    """Signed in, or anyone when ``ALLOW_ANONYMOUS_SESSIONS``."""

    def has_permission(self, request: Request, view: object) -> bool:
        signed_in = bool(request.user and request.user.is_authenticated)
        return signed_in or app_settings.ALLOW_ANONYMOUS_SESSIONS
