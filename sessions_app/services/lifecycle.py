"""Expiry and clean-up, in bounded batches so no statement holds long locks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from sessions_app import cache
from sessions_app.conf import app_settings
from sessions_app.http import revocations
from sessions_app.models import Session, SessionStatus
from sessions_app.pipeline import LifecycleEvent, Pipeline


def _in_batches(sessions: QuerySet[Session], apply: Callable[[QuerySet[Session]], int]) -> int:
    """Apply ``apply`` to ``sessions`` batch by batch; rows that stop matching are left alone."""
    size = app_settings.CLEANUP_BATCH_SIZE
    total = 0
    while ids := list(sessions.values_list("pk", flat=True)[:size]):
        done = apply(sessions.filter(pk__in=ids))
        total += done
        if len(ids) < size or not done:
            break
    return total


def _fire_deleted(pipeline: Pipeline | None, ids: list[Any]) -> None:
    if pipeline is None:
        return
    for pk in ids:
        pipeline.fire(LifecycleEvent.SESSION_DELETED, session_id=str(pk), session=None)


def delete_in_batches(sessions: QuerySet[Session], pipeline: Pipeline | None = None) -> int:
    """Hard-delete ``sessions`` with their messages, context and tags, batch by batch."""

    def delete(batch: QuerySet[Session]) -> int:
        with transaction.atomic():
            ids = list(batch.select_for_update().values_list("pk", flat=True))
            deleted = Session.objects.filter(pk__in=ids).delete()[1].get(Session._meta.label, 0)
        _fire_deleted(pipeline, ids)
        return deleted

    return _in_batches(sessions, delete)


def soft_delete_in_batches(sessions: QuerySet[Session], pipeline: Pipeline) -> int:
    """Mark ``sessions`` deleted (purged after ``PURGE_AFTER``), batch by batch."""

    def mark(batch: QuerySet[Session]) -> int:
        with transaction.atomic():
            rows = list(batch.select_for_update().values_list("pk", "key_hash"))
            ids = [pk for pk, _ in rows]
            marked = Session.objects.filter(pk__in=ids).update(
                status=SessionStatus.DELETED, deleted_at=timezone.now()
            )
        cache.invalidate(*(Session(pk=pk, key_hash=key_hash) for pk, key_hash in rows))
        revocations.revoke_on_commit(*(key_hash for _, key_hash in rows))
        _fire_deleted(pipeline, ids)
        return marked

    return _in_batches(sessions.exclude(status=SessionStatus.DELETED), mark)


def expired(sessions: QuerySet[Session]) -> QuerySet[Session]:
    return sessions.filter(expires_at__lte=timezone.now())


def inactive(sessions: QuerySet[Session], days: float) -> QuerySet[Session]:
    return sessions.filter(last_activity__lt=timezone.now() - timedelta(days=days))


def purge_deleted(sessions: QuerySet[Session], older_than: float | None = None) -> int:
    """Remove sessions soft-deleted at least ``older_than`` seconds ago (``PURGE_AFTER``)."""
    seconds = app_settings.PURGE_AFTER if older_than is None else older_than
    cutoff = timezone.now() - timedelta(seconds=seconds)
    return delete_in_batches(sessions.filter(status=SessionStatus.DELETED, deleted_at__lte=cutoff))
