"""Receivers wired at start-up: reset cached objects built from settings."""

from __future__ import annotations

from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver


@receiver(setting_changed)
def _reset_on_settings_change(*, setting: str, **kwargs: Any) -> None:
    if setting == "SESSIONS_APP":
        from sessions_app.pipeline import reset_default_pipeline
        from sessions_app.providers import reset_providers

        reset_providers()
        reset_default_pipeline()
