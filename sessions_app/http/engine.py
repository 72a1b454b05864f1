"""``SESSION_ENGINE = "sessions_app.engine"``: Django sessions stored as Session rows.

Keys are stored only as SHA-256 hashes; with ``SESSIONS_APP["CACHE_ALIAS"]``
reads are served from the cache and writes go through to the database, and
every operation falls back to the database when the cache is down. Loading an
unknown, expired, idle or too old key never writes and never adopts the key.

Only live web sessions are the engine's (see ``services.http_sessions``): the key of
a conversation, a TTL session, or an archived or deleted session reads as unknown.
A flush deletes the row only on logout or when no user is signed in to the session:
Django's ``login()`` flushes a session signed in to another user, and that
session stays intact and theirs while the login gets a fresh one.
"""

from __future__ import annotations

import functools
import re
import time
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError

from sessions_app.http.cache_keys import FOREIGN
from sessions_app.utils.keys import hash_key, new_key

if TYPE_CHECKING:
    from sessions_app.services.http_sessions import Entry

# Keys are made of [a-z0-9] (Django's alphabet); 8 is Django's minimum length.
VALID_KEY = re.compile(r"[a-z0-9]{8,128}")


@functools.cache
def _service() -> Any:
    # Imported lazily: the engine module is imported before apps are ready.
    from sessions_app.services import http_sessions

    return http_sessions


class SessionStore(SessionBase):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._entry: Entry | None = None  # what the service knows of the loaded session
        self._link: dict[str, Any] = {}
        self._hashed: tuple[str, str] | None = None  # (key, its hash): load and save hash once
        # The key sent opens a live session that is not the engine's (e.g. a conversation).
        self.foreign = False
        self._logging_out = False

    def _validate_session_key(self, key: Any) -> bool:
        """Django's rule (at least 8 characters) plus: only characters keys are made of."""
        return isinstance(key, str) and VALID_KEY.fullmatch(key) is not None

    def _hash(self, key: str) -> str:
        hashed = self._hashed
        if hashed is None or hashed[0] != key:
            hashed = self._hashed = (key, hash_key(key))
        return hashed[1]

    def load(self) -> dict[str, Any]:
        key_hash = self._hash(self.session_key) if self.session_key else None
        found = (
            _service().find(key_hash, time.time(), self.decode, touch=True) if key_hash else None
        )
        self.foreign = found is FOREIGN
        entry: Entry | None = None if self.foreign else found
        self._entry = entry
        if entry is None:
            self._session_key = None  # never adopt a key we do not know
            return {}
        return entry.data

    def exists(self, session_key: str | None) -> bool:
        if not session_key:
            return False
        found = _service().find(hash_key(session_key), time.time(), self.decode)
        return found is not None and found is not FOREIGN

    def _get_new_session_key(self) -> str:
        # No existence check: the unique key hash makes a collision a CreateError, retried.
        return new_key()

    def create(self) -> None:
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)  # type: ignore[attr-defined]
        if self.session_key is None:  # loading just now found the key unknown or expired
            return self.create()
        encoded, expires, link = self.encode(data), self.get_expiry_date(), self._link
        if must_create:
            entry = _service().create(self._hash(self.session_key), encoded, data, expires, link)
            if entry is None:
                raise CreateError
        else:
            saved, entry = _service().save(
                self._hash(self.session_key), encoded, data, expires, link, self._entry
            )
            if not saved:
                raise UpdateError
        self._entry = entry
        self._link = {}

    def delete(self, session_key: str | None = None) -> None:
        key = session_key or self.session_key
        if key is None:
            return
        _service().delete(hash_key(key))
        if key == self.session_key:
            self._entry = None

    def logging_out(self) -> None:
        """The next flush is a logout (``user_logged_out``): it deletes the row."""
        self._logging_out = True

    def flush(self) -> None:
        """Empty the session and forget its key; delete the row on logout, or when no user
        is signed in to it. A session signed in to a user is otherwise left as it is
        (Django's ``login()`` flushes another user's session: it stays theirs)."""
        signed_in = SESSION_KEY in self._session  # type: ignore[attr-defined]
        if self._logging_out or not signed_in:
            super().flush()
        else:
            self.clear()
            self._session_key = None
        self._entry = None
        self._logging_out = False

    async def aflush(self) -> None:
        await sync_to_async(self.flush)()

    def cycle_key(self) -> None:
        """A new key for the same row, so the session keeps its id, messages and context."""
        data = self._session  # type: ignore[attr-defined]
        old_key = self.session_key
        if not (old_key and self._entry is not None and self._rekey(old_key)):
            self.create()
            if old_key:
                self.delete(old_key)
        self._session_cache = data
        self.modified = True

    def _rekey(self, old_key: str) -> bool:
        while True:
            new = self._get_new_session_key()
            moved: bool | None = _service().rekey(self._hash(old_key), hash_key(new))
            if moved is not None:  # None: the new key was taken, draw another
                if moved:
                    self._session_key = new
                return moved

    async def acycle_key(self) -> None:
        await sync_to_async(self.cycle_key)()

    def link_client(self, *, user: Any = None, ip_address: str | None, user_agent: str) -> None:
        """Attach the user and client to the session; written with the next save."""
        self._link = {"ip_address": ip_address, "user_agent": user_agent}
        if user is not None:
            self._link["user_id"] = user.pk
        self.modified = True

    @classmethod
    def clear_expired(cls) -> None:
        _service().clear_expired()
