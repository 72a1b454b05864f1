"""System checks for ``SESSIONS_APP`` misconfiguration (ids ``sessions_app.E0xx``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.utils.module_loading import import_string

from sessions_app.conf import DEFAULTS, app_settings
from sessions_app.pipeline.hooks import LifecycleEvent


def _importable(path: str) -> bool:
    try:
        import_string(path)
    except ImportError:
        return False
    return True


def _check_keys() -> list[CheckMessage]:
    raw = getattr(settings, "SESSIONS_APP", {})
    if not isinstance(raw, dict):
        return [Error("SESSIONS_APP must be a dict.", id="sessions_app.E001")]
    return [
        Error(
            f"Unknown SESSIONS_APP setting {key!r}.",
            hint=f"Known settings: {', '.join(sorted(DEFAULTS))}.",
            id="sessions_app.E002",
        )
        for key in sorted(set(raw) - set(DEFAULTS))
    ]


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
    return errors


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
    return []


def _check_pipeline() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for entry in app_settings.MIDDLEWARE:
        path = entry if isinstance(entry, str) else entry[0]
        if not _importable(path):
            errors.append(
                Error(f"Message middleware {path!r} cannot be imported.", id="sessions_app.E007")
            )
    valid = {event.value for event in LifecycleEvent}
    for event, hooks in app_settings.HOOKS.items():
        if event not in valid:
            errors.append(
                Error(
                    f"HOOKS has unknown event {event!r}.",
                    hint=f"Events: {', '.join(sorted(valid))}.",
                    id="sessions_app.E008",
                )
            )
        errors += [
            Error(f"Hook {hook!r} cannot be imported.", id="sessions_app.E009")
            for hook in hooks
            if isinstance(hook, str) and not _importable(hook)
        ]
    return errors


def _check_numbers() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name in ("TOUCH_INTERVAL", "MAX_MESSAGE_CHARS", "HISTORY_LIMIT", "CLEANUP_BATCH_SIZE"):
        value: Any = getattr(app_settings, name)
        minimum = 0 if name == "TOUCH_INTERVAL" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            errors.append(
                Error(
                    f"SESSIONS_APP[{name!r}] must be an integer ≥ {minimum}.",
                    id="sessions_app.E010",
                )
            )
    ttl = app_settings.DEFAULT_TTL
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0):
        errors.append(
            Error(
                "SESSIONS_APP['DEFAULT_TTL'] must be a positive integer or None.",
                id="sessions_app.E011",
            )
        )
    return errors


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors = _check_keys()
    if errors and errors[0].id == "sessions_app.E001":
        return errors
    return errors + _check_providers() + _check_cache() + _check_pipeline() + _check_numbers()
