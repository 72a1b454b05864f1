"""Secret session keys: generated here, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib

from django.utils.crypto import get_random_string

KEY_LENGTH = 32
KEY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"


def new_key() -> str:
    return get_random_string(KEY_LENGTH, KEY_CHARS)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
