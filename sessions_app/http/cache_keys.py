"""Where the engine's entries live in the cache, and the markers it keeps there."""

from __future__ import annotations

KEY_PREFIX = "sessions_app:k:"  # engine entry by key hash
REVOKED = "sessions_app:revoked"  # the entry of a key that must never be served again
FENCE = "sessions_app:fence"  # entries are trusted only while it stands (see revocations)
FOREIGN = ("sessions_app:foreign",)  # the entry of a live session the engine does not serve


def engine_key(key_hash: str) -> str:
    return f"{KEY_PREFIX}{key_hash}"
