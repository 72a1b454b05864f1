"""Idempotent requests: a retried request with the same key gets the first response.

A request claims its key by inserting a row (the unique key hash makes a
concurrent twin fail); the response is stored when it is known, encrypted
with a key derived from the ``Idempotency-Key`` and ``SECRET_KEY``, so the
table alone reveals no response (a create response holds a session key).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from cryptography.fernet import Fernet, InvalidToken
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from sessions_app.conf import app_settings
from sessions_app.exceptions import (
    IdempotencyKeyInUseError,
    IdempotencyKeyReusedError,
    ValidationError,
)
from sessions_app.models import IdempotencyRecord
from sessions_app.services import reconnect, sql

MAX_KEY_LENGTH = 255
# A claim older than this is taken to be abandoned (its process died).
ABANDONED_AFTER = timedelta(minutes=10)
T = TypeVar("T")


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any  # JSON data, or the text of an event stream
    headers: dict[str, str] = field(default_factory=dict)

    def dumps(self) -> str:
        return json.dumps({"status": self.status, "body": self.body, "headers": self.headers})

    @classmethod
    def loads(cls, text: str) -> StoredResponse:
        data = json.loads(text)
        return cls(data["status"], data["body"], data["headers"])


@dataclass(frozen=True)
class Claim:
    """The right to produce the response for a key; ``store`` or ``release`` it."""

    record_id: int
    cipher: Fernet

    def store(self, response: StoredResponse) -> None:
        token = self.cipher.encrypt(response.dumps().encode()).decode()
        record = IdempotencyRecord.objects.filter(pk=self.record_id)
        _on_fresh_connection(lambda: record.update(status_code=response.status, response=token))

    def release(self) -> None:
        """Forget the claim (the request failed unexpectedly): a retry starts afresh."""
        record = IdempotencyRecord.objects.filter(pk=self.record_id, status_code__isnull=True)
        _on_fresh_connection(record.delete)


def _on_fresh_connection(write: Callable[[], T]) -> T:
    # The request's own writes may have lost the connection; the key must still be settled.
    return reconnect.once_more_if_disconnected(write, sql.connection_for(IdempotencyRecord))


def _insert(key_hash: str, request_fingerprint: str, now: datetime) -> int:
    with transaction.atomic():  # a savepoint: a taken key must not break a caller's transaction
        record = IdempotencyRecord.objects.create(
            key_hash=key_hash, fingerprint=request_fingerprint, created_at=now
        )
    return record.pk


def clean_key(key: Any) -> str:
    if (
        not isinstance(key, str)
        or not 1 <= len(key) <= MAX_KEY_LENGTH
        or not key.isprintable()
        or not key.isascii()
    ):
        raise ValidationError(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
            error_code="invalid_idempotency_key",
        )
    return key


def fingerprint(*parts: Any) -> str:
    """A digest of what makes two requests the same request."""
    canonical = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _cipher(scoped_key: str) -> Fernet:
    secret = salted_hmac("sessions_app.idempotency", scoped_key, algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(secret))


def claim(scope: str, key: str, request_fingerprint: str) -> Claim | StoredResponse:
    """Claim ``key`` within ``scope`` (who asks, and where), or return its stored response.

    Raises ``IdempotencyKeyReusedError`` when the key came with a different
    request, ``IdempotencyKeyInUseError`` while its first request is running.
    """
    scoped_key = f"{scope}\0{clean_key(key)}"
    key_hash = hashlib.sha256(scoped_key.encode()).hexdigest()
    cipher = _cipher(scoped_key)
    now = timezone.now()
    for _ in range(3):
        try:
            return Claim(
                _on_fresh_connection(lambda: _insert(key_hash, request_fingerprint, now)), cipher
            )
        except IntegrityError:
            pass
        record = IdempotencyRecord.objects.filter(key_hash=key_hash).first()
        if record is None:
            continue  # released or expired meanwhile: claim again
        window = timedelta(seconds=app_settings.IDEMPOTENCY_WINDOW)
        stale = record.created_at < now - (window if record.status_code else ABANDONED_AFTER)
        if stale:
            IdempotencyRecord.objects.filter(pk=record.pk, created_at=record.created_at).delete()
            continue
        if record.fingerprint != request_fingerprint:
            raise IdempotencyKeyReusedError()
        if record.status_code is None:
            raise IdempotencyKeyInUseError()
        try:
            return StoredResponse.loads(cipher.decrypt(record.response.encode()).decode())
        except (InvalidToken, ValueError, KeyError):
            # Unreadable (SECRET_KEY changed): the request runs again rather than fail forever.
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
    raise IdempotencyKeyInUseError()


def purge_expired() -> int:
    """Delete records older than the window; returns how many."""
    cutoff = timezone.now() - timedelta(seconds=app_settings.IDEMPOTENCY_WINDOW)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
