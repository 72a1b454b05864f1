"""Per-user, per-anonymous-client and per-session request rates (``THROTTLE_RATES``).

Counters live in the app's shared cache when one is configured (``CACHE_ALIAS``,
Redis in production), so every web process counts against the same limit;
otherwise in Django's default cache.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import caches
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from sessions_app.api.access import session_key_of
from sessions_app.conf import app_settings
from sessions_app.http.request_info import client_ip
from sessions_app.utils.keys import hash_key


class AppRateThrottle(SimpleRateThrottle):
    scope: str

    def __init__(self) -> None:
        self.cache = caches[app_settings.CACHE_ALIAS or "default"]
        super().__init__()

    def get_rate(self) -> str | None:
        return app_settings.THROTTLE_RATES.get(self.scope)

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
    """Each session: the one in the URL, else the one whose key the client holds."""

    scope = "session"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        session_id = view.kwargs.get("session_pk") or view.kwargs.get("pk")
        if session_id:
            return self.cache_key_for(f"id:{session_id}")
        key = session_key_of(request)
        return self.cache_key_for(f"key:{hash_key(key)}") if key else None
