"""Revoked keys: deleted sessions and rotated keys are never served from the cache again.

A revoked key's entry becomes ``REVOKED`` for longer than any entry lives.
Readers fill the cache only with ``add``, which cannot replace it; the engine's
writes put it back (see ``entry_cache.write_engine_entry``); a tombstone may
replace it, which only sends readers to the database, where the row is gone.
A revocation that cannot be written (cache unreachable) is kept by this process
and written before its next cached read.
"""

from __future__ import annotations

import logging
from collections import deque

from django.db import transaction

from sessions_app.cache import get_cache
from sessions_app.conf import app_settings
from sessions_app.http.cache_keys import REVOKED, engine_key

logger = logging.getLogger("sessions_app.cache")

REVOCATION_MARGIN = 60  # seconds a revocation outlives the longest entry

# Cache keys whose revocation could not be written, retried by this process.
pending: deque[str] = deque(maxlen=10_000)


def revoke(*key_hashes: str) -> None:
    """Never serve these keys from the cache again."""
    keys = [engine_key(h) for h in key_hashes if h]
    if keys and not _write(keys):
        pending.extend(keys)


def revoke_on_commit(*key_hashes: str) -> None:
    """Revoke once the deletion commits (at once outside a transaction): a rollback
    must not end a session that still exists."""
    transaction.on_commit(lambda: revoke(*key_hashes))


def retry_pending() -> bool:
    """Write the revocations still pending; False if the cache is still unreachable."""
    keys = list(pending)
    pending.clear()
    if _write(keys):
        return True
    pending.extend(keys)
    return False


def revocation_timeout() -> int:
    return app_settings.CACHE_TIMEOUT + REVOCATION_MARGIN


def _write(keys: list[str]) -> bool:
    cache = get_cache()
    if cache is None:
        return True
    try:
        cache.set_many(dict.fromkeys(keys, REVOKED), revocation_timeout())
    except Exception as exc:
        logger.warning("Session cache revocation failed, retried later: %s", exc)
        return False
    return True
