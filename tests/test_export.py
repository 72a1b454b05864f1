"""Exports: JSON documents in the API's shapes, and a CSV of the session document's values."""

from __future__ import annotations

import csv
import io
import json

import pytest

from sessions_app.services.export import CSV_FIELDS
from sessions_app.services.representations import SESSION_FIELDS

pytestmark = pytest.mark.django_db


def test_csv_columns_are_the_session_documents_single_values(manager, conversation):
    assert set(CSV_FIELDS) == set(SESSION_FIELDS) - {"tags", "config", "metadata"}
    conversation.send_message("hi")
    (document,) = json.loads(manager.export_sessions())
    (row,) = csv.DictReader(io.StringIO(manager.export_sessions(format="csv")))
    assert tuple(row) == CSV_FIELDS
    cells = {name: document["session"][name] for name in CSV_FIELDS}
    assert row == {name: "" if value is None else str(value) for name, value in cells.items()}


def test_an_export_is_the_conversation_in_the_representations(conversation):
    conversation.send_message("hi")
    document = conversation.export_conversation()
    assert tuple(document["session"]) == SESSION_FIELDS
    assert "token_count" not in document["messages"][1]
    assert document["context"]["updated_at"] and "last_updated" not in document["context"]
    assert document["metrics"]["created_at"] == document["session"]["created_at"]
