"""Receivers wired at start-up."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from sessions_app import cache
from sessions_app.conf import app_settings
from sessions_app.engine import SessionStore
from sessions_app.models import Session
from sessions_app.request_info import client_ip, user_agent


@receiver(setting_changed)
def _reset_on_settings_change(*, setting: str, **kwargs: Any) -> None:
    if setting in ("CACHES", "SESSIONS_APP"):
        cache.forget_engine_redis()
    if setting == "SESSIONS_APP":
        from sessions_app.pipeline import reset_default_pipeline
        from sessions_app.providers import reset_providers

        app_settings.forget()
        reset_providers()
        reset_default_pipeline()


@receiver(user_logged_in)
def _link_session_to_user(*, request: Any, user: Any, **kwargs: Any) -> None:
    # Runs for login() and alogin(); the link is written when the session is saved.
    session = getattr(request, "session", None)
    if isinstance(session, SessionStore):
        session.link_client(
            user=user, ip_address=client_ip(request), user_agent=user_agent(request)
        )


@receiver(post_save, sender=Session)
def _invalidate_on_save(*, instance: Session, created: bool, **kwargs: Any) -> None:
    # Saves outside the services (the admin, application code) must not leave a stale entry.
    if not created:
        cache.invalidate(instance)


@receiver(post_delete, sender=Session)
def _invalidate_on_delete(*, instance: Session, **kwargs: Any) -> None:
    # Also runs for queryset deletes and cascades (e.g. deleting the user).
    cache.invalidate(instance)
    cache.revoke_on_commit(instance.key_hash)
