"""The providers a client may choose: their capabilities, and which one is the default."""

from __future__ import annotations

from typing import Any

from sessions_app.conf import app_settings
from sessions_app.exceptions import ConfigurationError
from sessions_app.providers import Provider, available_providers, get_provider
from sessions_app.services.representations import provider_representation


def provider_info(name: str, adapter: Provider | None = None) -> dict[str, Any]:
    """One provider (``adapter``, else the one configured as ``name``) as the listing shows
    it; ``ConfigurationError`` for an unknown name."""
    if not isinstance(name, str) or not name:
        raise ConfigurationError("A provider name is required.", error_code="unknown_provider")
    capabilities = (adapter or get_provider(name)).capabilities()
    return provider_representation(
        name, capabilities, default=name == app_settings.DEFAULT_PROVIDER
    )


def provider_listing() -> list[dict[str, Any]]:
    return [provider_info(name) for name in available_providers()]
