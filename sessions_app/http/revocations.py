"""Revoked keys: deleted sessions and rotated keys are never served from the cache again.

A revoked key's entry becomes ``REVOKED`` for longer than any entry lives.
Readers fill the cache only with ``add``, which cannot replace it; the engine's
writes put it back (see ``entry_cache.write_engine_entry``); a tombstone may
replace it, which only sends readers to the database, where the row is gone.

The cache may be unreachable when a key is revoked, and the other processes
then see no error at all: their cache still holds the key's entry when it
answers again. So a revocation is recorded in the database first, as a
``Revocation`` row written in the transaction that ends the session (or, when
no transaction is open, as soon as writing it to the cache fails). The cache
entries are trusted only under a *fence*: a cache key that stands for at most
``fence_seconds`` after a process found every recorded revocation written to
the cache (its expiry is absolute, so a late write cannot extend it). Readers
fetch it with the entry in the same round trip; one that finds it lapsed
answers from the database, calls ``settle()`` (write the recorded revocations,
delete their rows) and raises the fence again. A revocation fails only after
the cache has been silent for the client's socket timeout, which is at least
twice the fence: by the time the cache answers again the fence has lapsed, and
no entry is trusted before the recorded revocations are written. A process
whose revocation failed also tries to take the fence down at once (which
works when only writes fail).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import DatabaseError, router, transaction

from sessions_app.cache import get_cache
from sessions_app.conf import app_settings
from sessions_app.http.cache_keys import FENCE, REVOKED, engine_key

logger = logging.getLogger("sessions_app.cache")

REVOCATION_MARGIN = 60  # seconds a revocation outlives the longest entry
FENCE_MAX = 1.0  # seconds; with a socket timeout, the fence stands at most half of it
SETTLE_BATCH = 1000  # recorded revocations written per settle


def _model() -> Any:
    # Imported lazily: the engine's modules are imported before apps are ready.
    from sessions_app.models import Revocation

    return Revocation


def fence_seconds(socket_timeout: float | None) -> float:
    """How long the fence stands: half the client's socket timeout, at most ``FENCE_MAX``."""
    return min(FENCE_MAX, socket_timeout / 2) if socket_timeout else FENCE_MAX


def revoke(*key_hashes: str) -> None:
    """Never serve these keys from the cache again (what revoked them has committed)."""
    hashes = [h for h in key_hashes if h]
    if hashes and not _write(hashes):
        record(hashes)
        _drop_fence()


def _drop_fence() -> None:
    """Take the fence down at once when only writes fail (e.g. a full Redis still answers
    reads and ``DEL``); in an outage this fails too, and the fence lapses on its own."""
    cache = get_cache()
    try:
        if cache is not None:
            cache.delete(FENCE)
    except Exception as exc:
        logger.warning("Session cache fence could not be dropped, it lapses instead: %s", exc)


def revoke_on_commit(*key_hashes: str) -> None:
    """Revoke once the change commits (at once outside a transaction): a rollback must
    not end a session that still exists. Inside a transaction the revocation is
    recorded in it, so it commits with the change or not at all."""
    hashes = [h for h in key_hashes if h]
    if not hashes or get_cache() is None:
        return
    alias = router.db_for_write(_model())
    if transaction.get_connection(alias).in_atomic_block:
        record(hashes)
    transaction.on_commit(lambda: revoke(*hashes), using=alias)


def record(key_hashes: list[str]) -> None:
    """Record revocations in the database, for every process to write to the cache."""
    revocation = _model()
    rows = [revocation(key_hash=h) for h in key_hashes]
    if transaction.get_connection(router.db_for_write(revocation)).in_atomic_block:
        revocation.objects.bulk_create(rows, ignore_conflicts=True)
        return
    try:
        revocation.objects.bulk_create(rows, ignore_conflicts=True)
    except DatabaseError as exc:
        logger.error("Recording %d session key revocations failed: %s", len(rows), exc)


def settle() -> float | None:
    """Write the recorded revocations to the cache and delete their rows.

    Returns when the database was read (the fence may stand until then plus
    ``fence_seconds``), or ``None`` if revocations remain (the cache failed,
    or more than one batch was recorded).
    """
    checked = time.time()
    revocation = _model()
    rows = list(revocation.objects.values_list("pk", "key_hash")[:SETTLE_BATCH])
    if not rows:
        return checked
    if not _write([key_hash for _, key_hash in rows]):
        return None
    revocation.objects.filter(pk__in=[pk for pk, _ in rows]).delete()
    return checked if len(rows) < SETTLE_BATCH else None


def revocation_timeout() -> int:
    return app_settings.CACHE_TIMEOUT + REVOCATION_MARGIN


def _write(key_hashes: list[str]) -> bool:
    cache = get_cache()
    if cache is None:
        return True
    try:
        keys = [engine_key(h) for h in key_hashes]
        cache.set_many(dict.fromkeys(keys, REVOKED), revocation_timeout())
    except Exception as exc:
        logger.warning("Session cache revocation failed, recorded for later: %s", exc)
        return False
    return True
