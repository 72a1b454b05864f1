"""How long a statement may wait for a lock: ``SESSIONS_APP["LOCK_TIMEOUT"]`` (ms).

On PostgreSQL every connection gets ``lock_timeout`` when it opens, and again when the
setting changes, so every path (requests, the engine's saves, tasks, commands, migrations)
waits at most that long for a row or table lock and then fails with ``lock_not_available``
instead of hanging. SQLite has its own busy timeout (``OPTIONS["timeout"]``); when it runs
out, that error counts as busy too.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from django.db import OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.dispatch import receiver

from sessions_app.conf import app_settings

# SQLSTATEs of a statement that gave up waiting: lock_timeout, and statement_timeout
# (which a project may set in its database OPTIONS).
GAVE_UP_WAITING = {"55P03", "57014"}


def apply_lock_timeout(connection: BaseDatabaseWrapper, *, reset: bool = False) -> None:
    """Give an open PostgreSQL connection the configured ``lock_timeout``."""
    if connection.vendor != "postgresql":
        return
    timeout = app_settings.LOCK_TIMEOUT
    if timeout is None and not reset:
        return
    with connection.cursor() as cursor:
        if timeout is None:
            cursor.execute("RESET lock_timeout")  # the server's (or the role's) own value
        else:
            cursor.execute("SELECT set_config('lock_timeout', %s, false)", [str(timeout)])


def is_lock_timeout(error: BaseException | None) -> bool:
    """Whether ``error`` is the database giving up on a lock (PostgreSQL or SQLite)."""
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    if isinstance(cause, sqlite3.OperationalError):
        return getattr(cause, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return code in GAVE_UP_WAITING


@receiver(connection_created)
def _on_connection_created(*, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    apply_lock_timeout(connection)


def reapply_lock_timeout() -> None:
    """Give the open connections the current ``LOCK_TIMEOUT`` (after the setting changed)."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            apply_lock_timeout(connection, reset=True)
