"""HTTP session middleware: the session key comes from the cookie or a request header.

A drop-in replacement for ``django.contrib.sessions.middleware.SessionMiddleware``
that keeps all of its behaviour (``SESSION_SAVE_EVERY_REQUEST``, cookie flags from
Django's settings, deleting the cookie of an emptied session, no save on 5xx,
``UpdateError`` → ``SessionInterrupted``) and adds the ``X-Session-ID`` header
(name from ``SESSIONS_APP["HEADER_NAME"]``):

- Precedence: a non-empty header wins over the cookie, because a client that
  sends it means it; the cookie then mirrors the header's session.
- The response carries the header when the client sent it (with the key it
  holds after this request: rotated by ``cycle_key()`` on login, or a fresh one
  replacing an unknown id), and on a brand-new session. A cookie client whose
  key rotates gets no header: its key stays in the HttpOnly cookie. The value is
  the key the engine holds after saving, never the incoming value: an unknown or
  expired id is not adopted.
- A header client whose session is empty at the end (flushed, or its id was
  unknown) gets an empty header, the header's analogue of deleting the cookie:
  "forget your key". A cookie-only client gets no header then, and neither does a
  header client whose key opens a session the engine does not serve (a
  conversation's key, the REST API's credential).
- ``Vary: Cookie, <header>`` on every response that accessed the session, and
  ``Cache-Control: no-store`` on every response that carries a key (header or cookie).

Sync middleware: Django runs it under ASGI through ``MiddlewareMixin``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.http.request import HttpHeaders
from django.utils.cache import patch_cache_control, patch_vary_headers

from sessions_app.conf import app_settings

INCOMING_ATTR = "_sessions_app_incoming"


@dataclass(frozen=True)
class Incoming:
    """The key a client sent with this request, and whether it came in the header."""

    key: str | None
    via_header: bool


def header_key(request: HttpRequest) -> str:
    """The session key in the ``HEADER_NAME`` request header, or "" when there is none."""
    key: str = request.META.get(HttpHeaders.to_wsgi_name(app_settings.HEADER_NAME), "")
    return key.strip()


def carries_session_cookie(response: HttpResponseBase) -> bool:
    cookie = response.cookies.get(settings.SESSION_COOKIE_NAME)
    return cookie is not None and bool(cookie.value)


def read_incoming(request: HttpRequest) -> Incoming:
    from_header = header_key(request)
    if from_header:
        return Incoming(from_header, via_header=True)
    return Incoming(request.COOKIES.get(settings.SESSION_COOKIE_NAME), via_header=False)


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's session middleware, with the session key also accepted from a header."""

    def process_request(self, request: HttpRequest) -> None:
        incoming = read_incoming(request)
        setattr(request, INCOMING_ATTR, incoming)
        request.session = self.SessionStore(incoming.key)

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        incoming: Incoming | None = getattr(request, INCOMING_ATTR, None)
        if incoming is None:
            return super().process_response(request, response)
        if incoming.via_header:
            self.validate_key(request)
        response = super().process_response(request, response)
        header_name = app_settings.HEADER_NAME
        value = self.header_value(request, response, incoming)
        # A view that answers with a key of its own (the API's create) knows better.
        if value is not None and header_name not in response:
            response[header_name] = value
        if request.session.accessed or value is not None:
            patch_vary_headers(response, ("Cookie", header_name))
        if value or carries_session_cookie(response):
            patch_cache_control(response, no_store=True)  # a cached copy would hand out the key
        return response

    @staticmethod
    def validate_key(request: HttpRequest) -> None:
        # Loading is how the engine checks a key: it drops one it does not hold, so
        # a header client is never answered with an id that was not accepted.
        if not request.session.accessed:
            request.session.keys()

    @staticmethod
    def header_value(
        request: HttpRequest, response: HttpResponseBase, incoming: Incoming
    ) -> str | None:
        session = request.session
        if session.is_empty():
            # A key that opens a session the engine does not serve (a conversation, for the
            # API) is not the client's to forget.
            told_to_forget = incoming.via_header and not getattr(session, "foreign", False)
            return "" if told_to_forget else None
        key = session.session_key
        issued = key != incoming.key
        # Like Django's cookie: a key issued in a failed (5xx) request was not saved.
        if key is None or (issued and response.status_code >= 500):
            return None
        # A cookie client learns a key from the header only for a brand-new session; a
        # rotated key (login) stays in the HttpOnly cookie, out of reach of scripts.
        new_session = incoming.key is None
        return key if incoming.via_header or (issued and new_session) else None
