"""The providers a client may choose: their capabilities, and which one is the default."""

from __future__ import annotations

from typing import Any

from sessions_app.conf import app_settings
from sessions_app.providers import available_providers, get_provider
from sessions_app.services.representations import provider_representation


def provider_listing() -> list[dict[str, Any]]:
    default = app_settings.DEFAULT_PROVIDER
    return [
        provider_representation(name, get_provider(name).capabilities(), default=name == default)
        for name in available_providers()
    ]
