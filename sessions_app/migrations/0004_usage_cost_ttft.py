"""Usage parts, cost and time to first token on messages and sessions.

On PostgreSQL each column's ``>= 0`` check is added ``NOT VALID``: a new column holds only its
default, so there is nothing to validate, and a validated check would scan the whole table
under an exclusive lock. The default stays on the column (adding it is metadata only).
Elsewhere (SQLite) Django's own schema editor adds the columns.
"""

from typing import Any

from django.db import migrations, models
from django.db.migrations.state import ProjectState
from django.db.models import F


class AddColumn(migrations.AddField):
    """``AddField``; on PostgreSQL its ``>= 0`` check is added ``NOT VALID`` (see above)."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        field = model._meta.get_field(self.name)
        table, quote = model._meta.db_table, schema_editor.quote_name
        column = quote(field.column)
        default = "" if field.null else f" DEFAULT {int(field.default)} NOT NULL"
        clauses = [f"ADD COLUMN {column} {field.db_type(schema_editor.connection)}{default}"]
        condition = field.db_check(schema_editor.connection)
        if condition:
            # The name PostgreSQL gives a column's own check, as Django would have created it.
            check = quote(f"{table}_{field.column}_check")
            clauses.append(f"ADD CONSTRAINT {check} CHECK ({condition}) NOT VALID")
        schema_editor.execute(f"ALTER TABLE {quote(table)} {', '.join(clauses)}")


def count_priced_replies(apps: Any, schema_editor: Any) -> None:
    """Replies stored before this migration were priced (their sum is the session's cost): one
    per call that did not fail. Otherwise one unpriced reply would make that cost unknown."""
    sessions = apps.get_model("sessions_app", "Session").objects.using(
        schema_editor.connection.alias
    )
    sessions.filter(provider_calls__gt=F("provider_errors")).update(
        priced_replies=F("provider_calls") - F("provider_errors")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0003_revocation"),
    ]

    operations = [
        AddColumn(
            model_name="message",
            name="cache_write_tokens",
            field=models.PositiveIntegerField(default=0),
        ),
        AddColumn(
            model_name="message",
            name="cached_input_tokens",
            field=models.PositiveIntegerField(default=0),
        ),
        AddColumn(
            model_name="message",
            name="estimated_cost",
            field=models.DecimalField(blank=True, decimal_places=6, max_digits=14, null=True),
        ),
        AddColumn(
            model_name="message",
            name="reasoning_tokens",
            field=models.PositiveIntegerField(default=0),
        ),
        AddColumn(
            model_name="message",
            name="time_to_first_token_ms",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        AddColumn(
            model_name="session",
            name="cache_write_tokens",
            field=models.PositiveBigIntegerField(default=0),
        ),
        AddColumn(
            model_name="session",
            name="cached_input_tokens",
            field=models.PositiveBigIntegerField(default=0),
        ),
        AddColumn(
            model_name="session",
            name="priced_replies",
            field=models.PositiveIntegerField(default=0),
        ),
        AddColumn(
            model_name="session",
            name="reasoning_tokens",
            field=models.PositiveBigIntegerField(default=0),
        ),
        AddColumn(
            model_name="session",
            name="streamed_replies",
            field=models.PositiveIntegerField(default=0),
        ),
        AddColumn(
            model_name="session",
            name="total_time_to_first_token_ms",
            field=models.PositiveBigIntegerField(default=0),
        ),
        AddColumn(
            model_name="session",
            name="unpriced_replies",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(count_priced_replies, migrations.RunPython.noop, elidable=True),
    ]
