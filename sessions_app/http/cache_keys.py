"""Where the engine's entries live in the cache, and the marker of a revoked key."""

from __future__ import annotations

KEY_PREFIX = "sessions_app:k:"  # engine entry by key hash
REVOKED = "sessions_app:revoked"  # the entry of a key that must never be served again


def engine_key(key_hash: str) -> str:
    return f"{KEY_PREFIX}{key_hash}"
