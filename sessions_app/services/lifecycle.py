"""Expiry and clean-up, in bounded batches so no statement holds long locks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from sessions_app import cache
from sessions_app.conf import app_settings
from sessions_app.models import Session, SessionStatus
from sessions_app.pipeline import LifecycleEvent, Pipeline


def _batches(sessions: QuerySet[Session]) -> Iterator[list]:
    size = app_settings.CLEANUP_BATCH_SIZE
    while ids := list(sessions.values_list("pk", flat=True)[:size]):
        yield ids
        if len(ids) < size:
            return


def delete_in_batches(sessions: QuerySet[Session]) -> int:
    """Hard-delete ``sessions`` (and their messages and context) batch by batch."""
    total = 0
    for ids in _batches(sessions):
        with transaction.atomic():
            total += Session.objects.filter(pk__in=ids).delete()[1].get(Session._meta.label, 0)
        cache.invalidate(*ids)
    return total


def soft_delete_in_batches(sessions: QuerySet[Session], pipeline: Pipeline) -> int:
    total = 0
    pending = sessions.exclude(status=SessionStatus.DELETED)
    for ids in _batches(pending):
        total += Session.objects.filter(pk__in=ids).update(status=SessionStatus.DELETED)
        cache.invalidate(*ids)
        for pk in ids:
            pipeline.fire(LifecycleEvent.SESSION_DELETED, session_id=str(pk), session=None)
    return total


def expired(sessions: QuerySet[Session]) -> QuerySet[Session]:
    return sessions.filter(expires_at__lte=timezone.now())


def inactive(sessions: QuerySet[Session], days: float) -> QuerySet[Session]:
    return sessions.filter(last_activity__lt=timezone.now() - timedelta(days=days))


def purge_deleted(sessions: QuerySet[Session], older_than: float | None = None) -> int:
    """Remove soft-deleted sessions whose last activity is older than ``older_than`` seconds."""
    seconds = app_settings.PURGE_AFTER if older_than is None else older_than
    cutoff = timezone.now() - timedelta(seconds=seconds)
    return delete_in_batches(
        sessions.filter(status=SessionStatus.DELETED, last_activity__lt=cutoff)
    )
