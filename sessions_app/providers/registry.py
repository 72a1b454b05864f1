"""Provider instances built from ``SESSIONS_APP["PROVIDERS"]``, plus runtime registration."""

from __future__ import annotations

import threading
from typing import Any

from django.utils.module_loading import import_string

from sessions_app.conf import app_settings
from sessions_app.exceptions import ConfigurationError
from sessions_app.providers.base import Provider

_lock = threading.Lock()
_instances: dict[str, Provider] = {}
_registered: dict[str, Provider] = {}


def register_provider(
    name: str, provider: Provider | type[Provider] | str, **options: Any
) -> Provider:
    """Make ``provider`` available under ``name`` (an instance, a class or a dotted path)."""
    resolved: Provider | type[Provider] = (
        import_string(provider) if isinstance(provider, str) else provider
    )
    instance = resolved(name=name, **options) if isinstance(resolved, type) else resolved
    with _lock:
        _registered[name] = instance
    return instance


def unregister_provider(name: str) -> None:
    """Undo ``register_provider``; a provider from settings is rebuilt on next use."""
    with _lock:
        _registered.pop(name, None)
        _instances.pop(name, None)


def build_provider(name: str, **overrides: Any) -> Provider:
    """A new instance of the provider configured as ``name`` in settings.

    ``overrides`` (e.g. ``api_key``) replace the configured ``OPTIONS`` of the same name.
    """
    backend = app_settings.provider_backend(name)
    if backend is None:
        raise ConfigurationError(f"Unknown provider {name!r}.", error_code="unknown_provider")
    options = dict(app_settings.PROVIDERS.get(name, {}))
    options.pop("BACKEND", None)
    extra = {**options.pop("OPTIONS", {}), **overrides}
    try:
        cls: type[Provider] = import_string(backend)
    except ImportError as exc:
        raise ConfigurationError(f"Provider backend {backend!r} cannot be imported.") from exc
    try:
        return cls(name=name, **options, **extra)
    except TypeError as exc:
        raise ConfigurationError(f"Invalid options for provider {name!r}: {exc}") from exc


def get_provider(name: str | None = None) -> Provider:
    """The provider called ``name`` (the default provider when ``None``)."""
    name = name or app_settings.DEFAULT_PROVIDER
    with _lock:
        if name in _registered:
            return _registered[name]
        if name not in _instances:
            _instances[name] = build_provider(name)
        return _instances[name]


def available_providers() -> list[str]:
    return sorted(set(app_settings.PROVIDERS) | set(_registered))


def reset_providers() -> None:
    """Forget built instances (settings changed); registered providers stay."""
    with _lock:
        _instances.clear()
