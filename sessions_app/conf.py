"""The one place that reads ``settings.SESSIONS_APP``.

Properties are not cached, so ``override_settings`` works in tests; ``frozen()``
(for per-request paths) is cached until Django reports a change of the setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

BUILTIN_PROVIDER_BACKENDS = {
    "mock": "sessions_app.providers.mock.MockProvider",
}

DEFAULTS: dict[str, Any] = {
    "DEFAULT_SANDBOX": "default",
    "DEFAULT_TTL": 14 * 24 * 3600,
    "CACHE_ALIAS": None,
    "CACHE_TIMEOUT": 300,
    "HEADER_NAME": "X-Session-ID",
    "TOUCH_INTERVAL": 60,
    "IDLE_TIMEOUT": None,
    "ABSOLUTE_TIMEOUT": 30 * 24 * 3600,
    "TRUSTED_PROXY_HEADER": None,
    "PROVIDERS": {"mock": {}},
    "DEFAULT_PROVIDER": "mock",
    "MAX_MESSAGE_CHARS": 32_000,
    "HISTORY_LIMIT": 50,
    "ALLOW_ANONYMOUS_SESSIONS": False,
    "ALLOW_DEFAULT_SANDBOX": True,
    "IDLE_AFTER": 30 * 60,
    "ARCHIVE_AFTER": 30 * 24 * 3600,
    "DELETE_AFTER": 90 * 24 * 3600,
    "PURGE_AFTER": 7 * 24 * 3600,
    "CLEANUP_BATCH_SIZE": 1000,
    "MIDDLEWARE": [],
    "HOOKS": {},
    # REST API
    "API_PAGE_SIZE": 50,
    "API_MAX_PAGE_SIZE": 200,
    "THROTTLE_RATES": {"user": "600/min", "anon": "60/min", "session": "120/min"},
    "IDEMPOTENCY_WINDOW": 24 * 3600,
}


class AppSettings:
    """Typed access to ``settings.SESSIONS_APP`` with defaults."""

    _frozen: Mapping[str, Any] | None = None

    def frozen(self) -> Mapping[str, Any]:
        """Every setting, defaults included, read once until ``SESSIONS_APP`` changes.

        ``receivers.py`` drops the copy on ``setting_changed`` (sent by
        ``override_settings`` and pytest-django's ``settings``).
        """
        frozen = self._frozen
        if frozen is None:
            frozen = self._frozen = {**DEFAULTS, **getattr(settings, "SESSIONS_APP", {})}
        return frozen

    def forget(self) -> None:
        self._frozen = None

    def _get(self, name: str) -> Any:
        return getattr(settings, "SESSIONS_APP", {}).get(name, DEFAULTS[name])

    def get_many(self, *names: str) -> list[Any]:
        """Several settings with one read of ``settings`` (for per-request paths)."""
        configured = getattr(settings, "SESSIONS_APP", {})
        return [configured.get(name, DEFAULTS[name]) for name in names]

    @property
    def DEFAULT_SANDBOX(self) -> str:
        return self._get("DEFAULT_SANDBOX")

    @property
    def DEFAULT_TTL(self) -> int | None:
        """Seconds a new session lives; ``None`` means no expiry."""
        return self._get("DEFAULT_TTL")

    @property
    def CACHE_ALIAS(self) -> str | None:
        return self._get("CACHE_ALIAS")

    @property
    def CACHE_TIMEOUT(self) -> int:
        return self._get("CACHE_TIMEOUT")

    @property
    def HEADER_NAME(self) -> str:
        return self._get("HEADER_NAME")

    @property
    def TOUCH_INTERVAL(self) -> int:
        return self._get("TOUCH_INTERVAL")

    @property
    def IDLE_TIMEOUT(self) -> int | None:
        """Seconds without activity after which an HTTP session ends; ``None``: no idle limit."""
        return self._get("IDLE_TIMEOUT")

    @property
    def ABSOLUTE_TIMEOUT(self) -> int | None:
        """Seconds after creation after which an HTTP session ends, however active."""
        return self._get("ABSOLUTE_TIMEOUT")

    @property
    def TRUSTED_PROXY_HEADER(self) -> str | None:
        """``request.META`` key set by a trusted proxy (e.g. ``HTTP_X_FORWARDED_FOR``)."""
        return self._get("TRUSTED_PROXY_HEADER")

    @property
    def PROVIDERS(self) -> dict[str, dict[str, Any]]:
        return self._get("PROVIDERS")

    @property
    def DEFAULT_PROVIDER(self) -> str:
        return self._get("DEFAULT_PROVIDER")

    @property
    def MAX_MESSAGE_CHARS(self) -> int:
        return self._get("MAX_MESSAGE_CHARS")

    @property
    def HISTORY_LIMIT(self) -> int:
        return self._get("HISTORY_LIMIT")

    @property
    def ALLOW_ANONYMOUS_SESSIONS(self) -> bool:
        return self._get("ALLOW_ANONYMOUS_SESSIONS")

    @property
    def ALLOW_DEFAULT_SANDBOX(self) -> bool:
        return self._get("ALLOW_DEFAULT_SANDBOX")

    @property
    def IDLE_AFTER(self) -> int:
        return self._get("IDLE_AFTER")

    @property
    def ARCHIVE_AFTER(self) -> int:
        return self._get("ARCHIVE_AFTER")

    @property
    def DELETE_AFTER(self) -> int:
        return self._get("DELETE_AFTER")

    @property
    def PURGE_AFTER(self) -> int:
        return self._get("PURGE_AFTER")

    @property
    def CLEANUP_BATCH_SIZE(self) -> int:
        return self._get("CLEANUP_BATCH_SIZE")

    @property
    def MIDDLEWARE(self) -> list[Any]:
        return self._get("MIDDLEWARE")

    @property
    def HOOKS(self) -> dict[str, list[Any]]:
        return self._get("HOOKS")

    @property
    def API_PAGE_SIZE(self) -> int:
        return self._get("API_PAGE_SIZE")

    @property
    def API_MAX_PAGE_SIZE(self) -> int:
        return self._get("API_MAX_PAGE_SIZE")

    @property
    def THROTTLE_RATES(self) -> dict[str, str | None]:
        """DRF rates (``"120/min"``) per scope: ``user``, ``anon``, ``session``; None: no limit."""
        return {**DEFAULTS["THROTTLE_RATES"], **self._get("THROTTLE_RATES")}

    @property
    def IDEMPOTENCY_WINDOW(self) -> int:
        """Seconds an ``Idempotency-Key`` replays its first response."""
        return self._get("IDEMPOTENCY_WINDOW")

    def provider_backend(self, name: str) -> str | None:
        options = self.PROVIDERS.get(name)
        if options is None:
            return None
        return options.get("BACKEND") or BUILTIN_PROVIDER_BACKENDS.get(name)


app_settings = AppSettings()
