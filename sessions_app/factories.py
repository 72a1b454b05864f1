"""The documents' factory functions, over the Django-style ``SessionManager``.

``create_session_manager(storage="sqlite", providers={"openai": key})`` and its
presets build a manager of the default sandbox: storage names all mean the
Django database, provider keys configure the named providers for this manager's
sessions (other managers and the REST API keep the settings' ``PROVIDERS``),
middleware and hooks are added to the manager, and ``cleanup_config`` becomes
the ``SessionConfig`` new sessions start from.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sessions_app.exceptions import ConfigurationError
from sessions_app.handle import ConversationSession
from sessions_app.manager import SessionManager
from sessions_app.pipeline import (
    AlertingHook,
    LoggingMiddleware,
    MetricsCollectionHook,
    RateLimitMiddleware,
)
from sessions_app.providers.registry import build_provider
from sessions_app.session_config import SessionConfig
from sessions_app.storage import ISessionStorage, resolve_storage

PRESETS = ("development", "production")
# The guide's cleanup_config keys, and the SessionConfig field each one sets.
CLEANUP_KEYS = {
    "archive_after_days": "auto_archive_after",
    "delete_after_days": "auto_delete_after",
    "max_messages_per_session": "max_messages",
}
# Accepted for the guide's sake: the schedule is Celery beat's (SESSIONS_APP["SCHEDULE"]).
SCHEDULE_KEYS = frozenset({"cleanup_interval_hours"})


def _preset_parts(preset: str | None) -> tuple[list[Any], list[Any]]:
    """The middleware and hooks a preset adds."""
    if preset is None:
        return [], []
    if preset == "development":
        return [LoggingMiddleware(log_level="DEBUG")], []
    if preset == "production":
        return [RateLimitMiddleware(messages_per_minute=60)], [
            AlertingHook(),
            MetricsCollectionHook(),
        ]
    raise ConfigurationError(f"Unknown preset {preset!r}; expected one of {', '.join(PRESETS)}.")


def _session_defaults(cleanup_config: dict[str, Any] | None) -> SessionConfig:
    if cleanup_config is None:
        return SessionConfig()
    if not isinstance(cleanup_config, dict):
        raise ConfigurationError("cleanup_config must be a dict.")
    unknown = set(cleanup_config) - set(CLEANUP_KEYS) - SCHEDULE_KEYS
    if unknown:
        known = ", ".join(sorted({*CLEANUP_KEYS, *SCHEDULE_KEYS}))
        raise ConfigurationError(f"Unknown cleanup_config keys {sorted(unknown)}; known: {known}.")
    return SessionConfig(
        **{CLEANUP_KEYS[key]: value for key, value in cleanup_config.items() if key in CLEANUP_KEYS}
    )


def _configure_providers(
    manager: SessionManager,
    providers: dict[str, str | None] | None,
    provider_config: dict[str, Any] | None,
) -> None:
    """Give this manager's sessions each named provider with its API key and options (over
    the settings' ``OPTIONS``); a ``None`` key only checks that the name is known."""
    if providers is not None and not isinstance(providers, dict):
        raise ConfigurationError("providers must map provider names to API keys.")
    if provider_config is not None and not isinstance(provider_config, dict):
        raise ConfigurationError("provider_config must map provider names to options.")
    configs: dict[str, dict[str, Any]] = {
        name: dict(options or {}) for name, options in (provider_config or {}).items()
    }
    for name, api_key in (providers or {}).items():
        if api_key is not None:
            configs.setdefault(name, {})["api_key"] = api_key
        elif name not in configs:
            manager.pipeline.get_provider(name)  # ConfigurationError for an unknown provider
    for name, options in configs.items():
        manager.pipeline.providers[name] = build_provider(name, **options)


def create_session_manager(
    storage: str | ISessionStorage = "sqlite",
    providers: dict[str, str | None] | None = None,
    storage_config: dict[str, Any] | None = None,
    provider_config: dict[str, Any] | None = None,
    middleware: Iterable[Any] | None = None,
    hooks: Iterable[Any] | None = None,
    preset: str | None = None,
    cleanup_config: dict[str, Any] | None = None,
    *,
    sandbox_id: str | None = None,
) -> SessionManager:
    """A manager configured the documents' way (see the module docstring)."""
    resolve_storage(storage, storage_config)
    preset_middleware, preset_hooks = _preset_parts(preset)
    manager = SessionManager(sandbox_id, session_defaults=_session_defaults(cleanup_config))
    _configure_providers(manager, providers, provider_config)
    for each in [*preset_middleware, *(middleware or ())]:
        manager.add_middleware(each)
    for hook in [*preset_hooks, *(hooks or ())]:
        manager.add_lifecycle_hook(hook)
    return manager


def create_simple_session(
    user_id: str,
    provider: str = "mock",
    model: str = "mock-model",
    api_key: str | None = None,
    storage: str = "memory",
) -> ConversationSession:
    """A conversation on a fresh manager, for quick tests."""
    manager = create_session_manager(
        storage, providers={provider: api_key} if api_key is not None else None
    )
    return manager.create_session(user_id, provider, model)
