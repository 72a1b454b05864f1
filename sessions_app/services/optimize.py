"""Refreshing the planner statistics of the app's tables (the documents' ``optimize_storage``)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import connections, router

from sessions_app.models import Session


def optimize_storage() -> dict[str, Any]:
    """``ANALYZE`` the app's tables on PostgreSQL, ``PRAGMA optimize`` on SQLite.

    Django owns the schema and its indexes (migrations), so nothing is rebuilt here.
    """
    connection = connections[router.db_for_write(Session)]
    tables = sorted(
        model._meta.db_table for model in apps.get_app_config("sessions_app").get_models()
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            quote = connection.ops.quote_name
            cursor.execute(f"ANALYZE {', '.join(quote(table) for table in tables)}")
        elif connection.vendor == "sqlite":
            cursor.execute("PRAGMA optimize")
    return {
        "database": connection.vendor,
        "tables": tables,
        "optimized": connection.vendor in {"postgresql", "sqlite"},
    }
