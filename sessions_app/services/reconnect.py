"""A statement run once more on a fresh connection when the database dropped the old one.

A connection the server ended (a restart, a failover, ``pg_terminate_backend``)
fails every later statement until it is closed, and Django closes it only when
the request ends. Outside a transaction a single statement can simply run
again: ``connection.close()`` makes the next one open a new connection. Any
other error (a statement timeout, a constraint), or one inside a transaction,
is raised as it is, and so is the second failure when the database is gone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger(__name__)

T = TypeVar("T")
DISCONNECTED = (OperationalError, InterfaceError)


# SQLSTATEs of a connection the server ended: class 08 (connection exception) and shutdowns.
SERVER_ENDED = ("08", "57P01", "57P02", "57P03")


def lost(connection: BaseDatabaseWrapper, error: BaseException | None = None) -> bool:
    """Whether ``error`` was the loss of ``connection`` (dropped, or it could not be opened).

    A connection Django already replaced (leaving a failed transaction) works
    again, so the error's SQLSTATE tells too.
    """
    if not connection.is_usable():
        return True
    cause = error.__cause__ if error is not None else None
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return isinstance(code, str) and code.startswith(SERVER_ENDED)


def reopen_after(error: Exception, connection: BaseDatabaseWrapper) -> None:
    """Close ``connection`` if ``error`` was its loss, so the next statement reconnects.

    Re-raises ``error`` when the connection still works (the statement itself
    failed) or a transaction is open (its earlier statements are lost with it).
    """
    if connection.in_atomic_block or not lost(connection, error):
        raise error
    logger.warning("Lost the connection to database %r; reconnecting.", connection.alias)
    connection.close()


def once_more_if_disconnected(run: Callable[[], T], connection: BaseDatabaseWrapper) -> T:
    """``run()``, and once more on a fresh connection if the first try lost the connection."""
    try:
        return run()
    except DISCONNECTED as exc:
        reopen_after(exc, connection)
    return run()
