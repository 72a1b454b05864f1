"""System checks for ``SESSIONS_APP`` misconfiguration.

Each id names one error and is listed in docs/architecture.md ("System checks");
ids are never reused, so a project's ``SILENCED_SYSTEM_CHECKS`` keeps its meaning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from sessions_app.conf import DEFAULTS, app_settings
from sessions_app.exceptions import ConfigurationError, SessionError
from sessions_app.pipeline.class_hooks import is_class_hook
from sessions_app.pipeline.hooks import EVENT_NAMES

if TYPE_CHECKING:
    from sessions_app.providers.base import Provider

# Settings that must be integers ≥ the given minimum (DEFAULT_TTL may also be None).
INTEGERS = {
    "TOUCH_INTERVAL": 0,
    "MAX_MESSAGE_CHARS": 1,
    "HISTORY_LIMIT": 1,
    "CLEANUP_BATCH_SIZE": 1,
    "CACHE_TIMEOUT": 1,
    "IDLE_AFTER": 1,
    "ARCHIVE_AFTER": 1,
    "DELETE_AFTER": 1,
    "PURGE_AFTER": 0,
    "API_PAGE_SIZE": 1,
    "API_MAX_PAGE_SIZE": 1,
    "IDEMPOTENCY_WINDOW": 1,
}
TYPES = {"PROVIDERS": dict, "HOOKS": dict, "MIDDLEWARE": list | tuple, "THROTTLE_RATES": dict}
THROTTLE_SCOPES = ("user", "anon", "session")
THROTTLE_PERIODS = ("s", "m", "h", "d")
PG_MAX_MILLISECONDS = 2**31 - 1  # the largest lock_timeout PostgreSQL accepts


def _importable(path: Any) -> bool:
    try:
        import_string(path)
    except Exception:
        return False
    return True


def _check_shapes() -> list[CheckMessage]:
    raw = getattr(settings, "SESSIONS_APP", {})
    if not isinstance(raw, dict):
        return [Error("SESSIONS_APP must be a dict.", id="sessions_app.E001")]
    errors: list[CheckMessage] = [
        Error(
            f"Unknown SESSIONS_APP setting {key!r}.",
            hint=f"Known settings: {', '.join(sorted(DEFAULTS))}.",
            id="sessions_app.E002",
        )
        for key in sorted(set(raw) - set(DEFAULTS))
    ]
    for name, kind in TYPES.items():
        if not isinstance(getattr(app_settings, name), kind):
            errors.append(
                Error(f"SESSIONS_APP[{name!r}] has the wrong type.", id="sessions_app.E012")
            )
    if isinstance(app_settings.PROVIDERS, dict):
        errors += [
            Error(f"PROVIDERS[{name!r}] must be a dict of options.", id="sessions_app.E019")
            for name, options in app_settings.PROVIDERS.items()
            if not isinstance(options, dict)
        ]
    return errors


def _check_providers() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    providers = app_settings.PROVIDERS
    if app_settings.DEFAULT_PROVIDER not in providers:
        errors.append(
            Error(
                f"DEFAULT_PROVIDER {app_settings.DEFAULT_PROVIDER!r} is not in PROVIDERS.",
                hint=f"Configured providers: {', '.join(sorted(providers)) or 'none'}.",
                id="sessions_app.E003",
            )
        )
    for name in providers:
        backend = app_settings.provider_backend(name)
        if backend is None:
            errors.append(
                Error(
                    f"Provider {name!r} has no BACKEND and is not a built-in provider.",
                    id="sessions_app.E004",
                )
            )
        elif not _importable(backend):
            errors.append(
                Error(f"Provider backend {backend!r} cannot be imported.", id="sessions_app.E005")
            )
        else:
            errors += _check_provider(name, providers[name])
    return errors


def _check_provider(name: str, entry: dict[str, Any]) -> list[CheckMessage]:
    """Build the provider once, as its first use would; its shapes first, so a mistake is
    reported once, under its own id."""
    from sessions_app.providers.registry import build_provider

    options = entry.get("OPTIONS", {})
    if not isinstance(options, dict):
        return [Error(f"PROVIDERS[{name!r}]['OPTIONS'] must be a dict.", id="sessions_app.E024")]
    errors = _provider_shapes(name, entry)
    if errors:
        return errors
    try:
        provider = build_provider(name)
    except SessionError as exc:
        message = _without_key(exc.message, options.get("api_key"))
        return [Error(f"Provider {name!r}: {message}", id="sessions_app.E013")]
    return _missing_key(name, provider)


def _provider_shapes(name: str, entry: dict[str, Any]) -> list[CheckMessage]:
    from sessions_app.providers.base import validate_context_budget
    from sessions_app.providers.pricing import validate_prices

    errors: list[CheckMessage] = []
    try:
        validate_context_budget(entry.get("CONTEXT_BUDGET"))
    except ConfigurationError as exc:
        errors.append(Error(f"Provider {name!r}: {exc.message}", id="sessions_app.E022"))
    try:
        validate_prices(entry.get("PRICES"))
    except ConfigurationError as exc:
        errors.append(Error(f"Provider {name!r}: {exc.message}", id="sessions_app.E023"))
    return errors


def _without_key(message: str, key: Any) -> str:
    return message.replace(key, "***") if isinstance(key, str) and key else message


def _missing_key(name: str, provider: Provider) -> list[CheckMessage]:
    """W002 for an SDK adapter that has no key it may send (its ``configured`` capability)."""
    variable = getattr(provider, "api_key_env_var", None)
    if variable is None or provider.capabilities().get("configured", True):
        return []
    return [
        Warning(
            f"Provider {name!r} has no API key: its requests will be refused.",
            hint=f"Set PROVIDERS[{name!r}]['OPTIONS']['api_key'], or the {variable} "
            "environment variable (used only for the vendor's API or the server named by "
            "the matching *_BASE_URL variable).",
            id="sessions_app.W002",
        )
    ]


def _check_cache() -> list[CheckMessage]:
    alias = app_settings.CACHE_ALIAS
    if alias is not None and alias not in settings.CACHES:
        return [
            Error(
                f"SESSIONS_APP['CACHE_ALIAS'] {alias!r} is not a cache in CACHES.",
                hint=f"Use one of {', '.join(sorted(settings.CACHES))}, or None.",
                id="sessions_app.E006",
            )
        ]
    unshared = _unshared_cache_kind(alias)
    if unshared:
        return [
            Warning(
                f"SESSIONS_APP['CACHE_ALIAS'] {alias!r} is {unshared}.",
                hint="Use a cache every process shares (django-redis), or None for database only.",
                id="sessions_app.W001",
            )
        ]
    return []


def _unshared_cache_kind(alias: str | None) -> str | None:
    """Why the cache of ``alias`` is not shared by the processes, or None if it is."""
    from django.core.cache.backends.dummy import DummyCache
    from django.core.cache.backends.locmem import LocMemCache

    try:
        backend = import_string(str(settings.CACHES[alias]["BACKEND"])) if alias else None
    except Exception:
        return None  # Django's own cache checks and start-up report a broken BACKEND
    if not isinstance(backend, type):
        return None
    if issubclass(backend, LocMemCache):
        return (
            "a LocMemCache, which lives in one process: session revocations and rate counters "
            "are not shared across worker processes"
        )
    if issubclass(backend, DummyCache):
        return (
            "a DummyCache, which keeps nothing: rate counters never count, so throttles and "
            "RateLimitMiddleware never limit"
        )
    return None


def _check_middleware() -> list[CheckMessage]:
    from sessions_app.pipeline.core import build_middleware

    errors: list[CheckMessage] = []
    for entry in app_settings.MIDDLEWARE:
        path = entry[0] if isinstance(entry, list | tuple) and entry else entry
        if not isinstance(path, str) or not _importable(path):
            errors.append(
                Error(f"Message middleware {entry!r} cannot be imported.", id="sessions_app.E007")
            )
            continue
        try:
            build_middleware(entry)
        except SessionError as exc:
            errors.append(Error(exc.message, id="sessions_app.E014"))
    return errors


def _check_hooks() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    valid = EVENT_NAMES
    for event, hooks in app_settings.HOOKS.items():
        if event not in valid:
            errors.append(
                Error(
                    f"HOOKS has unknown event {event!r}.",
                    hint=f"Events: {', '.join(sorted(valid))}.",
                    id="sessions_app.E008",
                )
            )
        if not isinstance(hooks, list | tuple):
            errors.append(
                Error(f"HOOKS[{event!r}] must be a list of dotted paths.", id="sessions_app.E018")
            )
            continue
        for hook in hooks:
            if not callable(hook) and not _importable(hook):
                errors.append(Error(f"Hook {hook!r} cannot be imported.", id="sessions_app.E009"))
            elif is_class_hook(import_string(hook) if isinstance(hook, str) else hook):
                errors.append(
                    Error(
                        f"Hook {hook!r} is a class-based lifecycle hook, not a function.",
                        hint="Register an instance in code: manager.add_lifecycle_hook(hook).",
                        id="sessions_app.E021",
                    )
                )
    return errors


def _is_int_at_least(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _is_rate(rate: Any) -> bool:
    """DRF's rate format: ``<requests>/<period>``, the period's first letter in s, m, h, d."""
    if not isinstance(rate, str) or rate.count("/") != 1:
        return False
    count, period = rate.split("/")
    return count.isdigit() and int(count) > 0 and period[:1] in THROTTLE_PERIODS


def _check_values() -> list[CheckMessage]:
    from sessions_app.services.sandboxes import clean_sandbox_id

    errors: list[CheckMessage] = [
        Error(f"SESSIONS_APP[{name!r}] must be an integer ≥ {minimum}.", id="sessions_app.E010")
        for name, minimum in INTEGERS.items()
        if not _is_int_at_least(getattr(app_settings, name), minimum)
    ]
    errors += [
        Error(f"SESSIONS_APP[{name!r}] must be a positive integer or None.", id="sessions_app.E011")
        for name in ("DEFAULT_TTL", "IDLE_TIMEOUT", "ABSOLUTE_TIMEOUT")
        if getattr(app_settings, name) is not None
        and not _is_int_at_least(getattr(app_settings, name), 1)
    ]
    header = app_settings.TRUSTED_PROXY_HEADER
    if header is not None and not (isinstance(header, str) and header.startswith("HTTP_")):
        errors.append(
            Error(
                "SESSIONS_APP['TRUSTED_PROXY_HEADER'] must be a request.META key such as "
                "'HTTP_X_FORWARDED_FOR', or None.",
                id="sessions_app.E016",
            )
        )
    errors += [
        Error(
            f"SESSIONS_APP['THROTTLE_RATES'][{scope!r}] must be None or a rate like '120/min'.",
            id="sessions_app.E017",
        )
        for scope, rate in app_settings.THROTTLE_RATES.items()
        if scope not in THROTTLE_SCOPES or (rate is not None and not _is_rate(rate))
    ]
    lock_timeout = app_settings.LOCK_TIMEOUT
    if lock_timeout is not None and not (
        _is_int_at_least(lock_timeout, 1) and lock_timeout <= PG_MAX_MILLISECONDS
    ):
        errors.append(
            Error(
                "SESSIONS_APP['LOCK_TIMEOUT'] must be None or milliseconds from 1 to "
                f"{PG_MAX_MILLISECONDS}.",
                id="sessions_app.E020",
            )
        )
    try:
        clean_sandbox_id(app_settings.DEFAULT_SANDBOX)
    except SessionError as exc:
        errors.append(Error(f"DEFAULT_SANDBOX: {exc.message}", id="sessions_app.E015"))
    return errors


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors = _check_shapes()
    if errors:
        return errors  # the other checks assume the right shapes
    return (
        _check_providers() + _check_cache() + _check_middleware() + _check_hooks() + _check_values()
    )
