"""The one place that reads ``settings.SESSIONS_APP``.

Every setting is a typed attribute of ``app_settings``. They read one copy of the
settings, taken on first access and dropped when Django reports a change of
``SESSIONS_APP``, so ``override_settings`` and pytest-django's ``settings`` apply at once.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Generic, TypeVar, overload

from django.conf import settings

T = TypeVar("T")

BUILTIN_PROVIDER_BACKENDS = {
    "mock": "sessions_app.providers.mock.MockProvider",
    "openai": "sessions_app.providers.openai.OpenAIProvider",
    "anthropic": "sessions_app.providers.anthropic.AnthropicProvider",
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
    # PostgreSQL
    "LOCK_TIMEOUT": 5000,
}


class Setting(Generic[T]):
    """One setting of ``app_settings``: ``SESSIONS_APP[name]``, or its default, typed ``T``."""

    def __init__(self, doc: str | None = None) -> None:
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> Setting[T]: ...

    @overload
    def __get__(self, instance: AppSettings, owner: type) -> T: ...

    def __get__(self, instance: AppSettings | None, owner: type) -> Setting[T] | T:
        if instance is None:
            return self
        value: T = instance._values[self.name]
        return value


class AppSettings:
    """Typed access to ``settings.SESSIONS_APP`` with defaults: one attribute per setting."""

    DEFAULT_SANDBOX = Setting[str]()
    DEFAULT_TTL = Setting[int | None]("Seconds a new session lives; ``None`` means no expiry.")
    CACHE_ALIAS = Setting[str | None]()
    CACHE_TIMEOUT = Setting[int]()
    HEADER_NAME = Setting[str]("The request and response header that carries the session key.")
    TOUCH_INTERVAL = Setting[int]()
    IDLE_TIMEOUT = Setting[int | None](
        "Seconds without activity after which an HTTP session ends; ``None``: no idle limit."
    )
    ABSOLUTE_TIMEOUT = Setting[int | None](
        "Seconds after creation after which an HTTP session ends, however active."
    )
    TRUSTED_PROXY_HEADER = Setting[str | None](
        "``request.META`` key set by a trusted proxy (e.g. ``HTTP_X_FORWARDED_FOR``)."
    )
    PROVIDERS = Setting[dict[str, dict[str, Any]]]()
    DEFAULT_PROVIDER = Setting[str]()
    MAX_MESSAGE_CHARS = Setting[int]()
    HISTORY_LIMIT = Setting[int]()
    ALLOW_ANONYMOUS_SESSIONS = Setting[bool]()
    ALLOW_DEFAULT_SANDBOX = Setting[bool]()
    IDLE_AFTER = Setting[int]()
    ARCHIVE_AFTER = Setting[int]()
    DELETE_AFTER = Setting[int]()
    PURGE_AFTER = Setting[int]()
    CLEANUP_BATCH_SIZE = Setting[int]()
    MIDDLEWARE = Setting[list[Any]]()
    HOOKS = Setting[dict[str, list[Any]]]()
    API_PAGE_SIZE = Setting[int]()
    API_MAX_PAGE_SIZE = Setting[int]()
    THROTTLE_RATES = Setting[dict[str, str | None]](
        'DRF rates (``"120/min"``) per scope: ``user``, ``anon``, ``session``; None: no limit.'
    )
    IDEMPOTENCY_WINDOW = Setting[int]("Seconds an ``Idempotency-Key`` replays its first response.")
    LOCK_TIMEOUT = Setting[int | None](
        "Milliseconds a PostgreSQL statement waits for a lock (``lock_timeout`` of every "
        "connection); then the API answers 503 ``busy``. ``None``: the server's own value."
    )

    @cached_property
    def _values(self) -> dict[str, Any]:
        # Read once, so that reading a setting costs two lookups (per-request paths read
        # several); forget() drops the copy.
        values = {**DEFAULTS, **getattr(settings, "SESSIONS_APP", {})}
        rates = values["THROTTLE_RATES"]
        if isinstance(rates, dict):  # a wrong type is left for the system check to report
            values["THROTTLE_RATES"] = {**DEFAULTS["THROTTLE_RATES"], **rates}
        return values

    def forget(self) -> None:
        """Read ``settings.SESSIONS_APP`` again on next access (``receivers.py`` calls this
        on ``setting_changed``, sent by ``override_settings`` and pytest-django's ``settings``)."""
        self.__dict__.pop("_values", None)

    def provider_backend(self, name: str) -> str | None:
        options = self.PROVIDERS.get(name)
        if options is None:
            return None
        return options.get("BACKEND") or BUILTIN_PROVIDER_BACKENDS.get(name)


app_settings = AppSettings()
