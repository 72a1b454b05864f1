"""Receivers wired at start-up."""

from __future__ import annotations

from typing import Any

from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from sessions_app import (
    cache,
    cache_outages,
    db_locks,  # also connects the receiver that sets lock_timeout on new connections
)
from sessions_app.conf import app_settings
from sessions_app.http import (
    entry_cache,
    login,  # noqa: F401  (connects the user_logged_in receiver)
    revocations,
)
from sessions_app.models import Session
from sessions_app.services import http_sessions


@receiver(setting_changed)
def _reset_on_settings_change(*, setting: str, **kwargs: Any) -> None:
    if setting in ("CACHES", "SESSIONS_APP"):
        entry_cache.forget_engine_redis()
        cache_outages.forget()
    if setting == "SESSIONS_APP":
        from sessions_app.pipeline import reset_default_pipeline
        from sessions_app.providers import reset_providers

        app_settings.forget()
        db_locks.reapply_lock_timeout()
        reset_providers()
        reset_default_pipeline()


@receiver(post_save, sender=Session)
def _invalidate_on_save(*, instance: Session, created: bool, **kwargs: Any) -> None:
    # Saves outside the services (the admin, application code) must not leave a stale entry.
    if not created:
        cache.invalidate(instance)


@receiver(post_delete, sender=Session)
def _invalidate_on_delete(*, instance: Session, **kwargs: Any) -> None:
    # Also runs for queryset deletes and cascades (e.g. deleting the user).
    cache.invalidate(instance)
    if http_sessions.may_be_cached(instance):  # other keys never have an engine entry
        revocations.revoke_on_commit(instance.key_hash)
