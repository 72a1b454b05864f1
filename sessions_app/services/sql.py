"""Hand-written statements for the two hottest paths (appends, HTTP session saves).

The ORM spends more time compiling these statements than the database spends
running them; they are built from the models' own metadata, so column names
and value conversion stay the ORM's.
"""

from __future__ import annotations

from typing import Any, cast

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model


def connection_for(model: type[Model]) -> BaseDatabaseWrapper:
    return connections[router.db_for_write(model)]


def _field(model: type[Model], name: str) -> Field[Any, Any]:
    # The statements here name concrete fields only, never relations' reverse sides.
    return cast("Field[Any, Any]", model._meta.get_field(name))


def column(model: type[Model], name: str, connection: BaseDatabaseWrapper) -> str:
    """The quoted column of field ``name`` (a field name or its attname, e.g. ``user_id``)."""
    return connection.ops.quote_name(_field(model, name).column)


def prepare(model: type[Model], name: str, value: Any, connection: BaseDatabaseWrapper) -> Any:
    """``value`` converted for field ``name`` as the ORM would save it."""
    return _field(model, name).get_db_prep_save(value, connection)


def insert_values(
    obj: Model, skip: tuple[str, ...], connection: BaseDatabaseWrapper
) -> tuple[list[str], list[Any]]:
    """Quoted columns and prepared values of every concrete field of ``obj`` but ``skip``."""
    fields = [f for f in obj._meta.concrete_fields if f.name not in skip]
    columns = [connection.ops.quote_name(f.column) for f in fields]
    return columns, [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]


def row_converters(
    model: type[Model], names: tuple[str, ...], connection: BaseDatabaseWrapper
) -> list[tuple[Any, list[Any]]]:
    """For each field, its column expression and the converters the ORM applies when reading."""
    result = []
    for name in names:
        field = _field(model, name)
        column_ref = field.get_col(model._meta.db_table)
        own = field.get_db_converters(connection)  # type: ignore[attr-defined]  # not in stubs
        converters = connection.ops.get_db_converters(column_ref) + own
        result.append((column_ref, converters))
    return result


def convert_row(
    row: tuple[Any, ...], converters: list[tuple[Any, list[Any]]], connection: BaseDatabaseWrapper
) -> tuple[Any, ...]:
    """A raw row as the ORM would have returned it (e.g. SQLite's datetime text → datetime)."""
    converted = []
    for value, (column_ref, functions) in zip(row, converters, strict=True):
        for convert in functions:
            value = convert(value, column_ref, connection)
        converted.append(value)
    return tuple(converted)
