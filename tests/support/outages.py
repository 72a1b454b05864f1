"""A simulated loss of the database connection, for tests on any database.

While an ``Outage`` is armed, the first statement it matches raises
``OperationalError`` and the connection reports itself unusable (every later
statement fails too) until it is closed, as a connection the server ended does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections


class Outage:
    """Fails statements that ``matches`` while ``left`` failures remain; counts reconnections."""

    def __init__(self, matches: Callable[[str], bool], failures: int, armed: bool) -> None:
        self.matches, self.left, self.armed = matches, failures, armed
        self.lost, self.reconnections = False, 0
        self.connection_survives = False  # the statement failed, not the connection

    def usable(self) -> bool:
        return self.connection_survives or not self.lost

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if self.lost:
            raise OperationalError("the connection is closed")
        if self.armed and self.left and self.matches(sql):
            self.left -= 1
            self.lost = True
            raise OperationalError("terminating connection due to administrator command")
        return execute(sql, params, many, context)


@contextlib.contextmanager
def lost_connection(
    monkeypatch: pytest.MonkeyPatch,
    matches: Callable[[str], bool],
    failures: int = 1,
    *,
    armed: bool = True,
) -> Iterator[Outage]:
    """An ``Outage`` of the default database while the context lasts."""
    outage = Outage(matches, failures, armed)
    wrapper = connections[DEFAULT_DB_ALIAS]
    close = wrapper.close

    def reconnect() -> None:
        outage.lost = False
        outage.reconnections += 1
        close()

    monkeypatch.setattr(wrapper, "is_usable", outage.usable)
    monkeypatch.setattr(wrapper, "close", reconnect)
    with wrapper.execute_wrapper(outage):
        yield outage


def writes(table: type[Any]) -> Callable[[str], bool]:
    """Matches the statements that write ``table`` (an append is ``WITH … UPDATE … INSERT``)."""
    name = table._meta.db_table
    verbs = ("UPDATE", "INSERT", "WITH", "DELETE")
    return lambda sql: sql.lstrip().upper().startswith(verbs) and name in sql


def everything(sql: str) -> bool:
    return True
