"""Per-user, per-anonymous-client and per-session request rates (``THROTTLE_RATES``).

Counters live in the app's shared cache when one is configured (``CACHE_ALIAS``,
Redis in production), so every web process counts against the same limit;
otherwise in Django's default cache. When that cache is unreachable the
requests go through uncounted (``sessions_app.cache_outages``).
"""

from __future__ import annotations

from typing import Any

from django.core.cache import caches
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from sessions_app import cache_outages
from sessions_app.api.access import remember_visible_session, session_key_of
from sessions_app.conf import app_settings
from sessions_app.http.request_info import client_ip
from sessions_app.utils.keys import hash_key


class AppRateThrottle(SimpleRateThrottle):
    scope: str
    num_requests: int  # set by DRF's parse_rate; read only when a rate is set
    duration: int

    def __init__(self) -> None:
        self.cache_alias = app_settings.CACHE_ALIAS or "default"
        self.cache = caches[self.cache_alias]
        super().__init__()

    def get_rate(self) -> str | None:
        return app_settings.THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        allowed = cache_outages.count_or_none(self.cache_alias, self._count)
        return True if allowed is None else allowed

    def _count(self) -> bool:
        """DRF's sliding window, once the key is known: only this part talks to the cache."""
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()

    def get_ident(self, request: Request) -> str:
        """The client's address by the app's one rule (``TRUSTED_PROXY_HEADER``), not DRF's
        ``NUM_PROXIES``, under which any client picks its own address in X-Forwarded-For."""
        return client_ip(request) or ""

    def cache_key_for(self, ident: str) -> str:
        return self.cache_format % {"scope": self.scope, "ident": ident}


class UserThrottle(AppRateThrottle):
    """Each signed-in user."""

    scope = "user"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        user = request.user
        return self.cache_key_for(str(user.pk)) if user and user.is_authenticated else None


class AnonThrottle(AppRateThrottle):
    """Each anonymous client, by address."""

    scope = "anon"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_key_for(self.get_ident(request))


class SessionThrottle(AppRateThrottle):
    """Each session: the one in the URL, else the one whose key the client holds.

    A URL's session counts only requests that may see it (others are 404 and
    spend nothing of its budget), by its canonical id, however the URL spells it.
    """

    scope = "session"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        session_id = view.kwargs.get("session_pk") or view.kwargs.get("pk")
        if session_id:
            session = remember_visible_session(request, session_id)
            return self.cache_key_for(f"id:{session.pk}") if session else None
        key = session_key_of(request)
        return self.cache_key_for(f"key:{hash_key(key)}") if key else None
