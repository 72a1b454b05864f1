"""Sessions exported as JSON documents or as a CSV summary, in the representations' shapes."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django.db.models import QuerySet

from sessions_app.exceptions import ValidationError
from sessions_app.models import Session
from sessions_app.services.context import get_context
from sessions_app.services.history import message_history
from sessions_app.services.representations import (
    SESSION_FIELDS,
    conversation_representation,
    session_representation,
)

EXPORT_FORMATS = ("json", "csv")
# A CSV cell holds one value, so the session document's lists and objects stay out.
CSV_FIELDS = tuple(name for name in SESSION_FIELDS if name not in ("tags", "config", "metadata"))


def export_conversation(session: Session) -> dict[str, Any]:
    """The session, its context, every message and its metrics as one JSON-ready document."""
    messages = message_history(session).iterator(chunk_size=500)
    return conversation_representation(session, session.tags, get_context(session), messages)


def export_sessions(sessions: QuerySet[Session], fmt: str = "json") -> str:
    if fmt not in EXPORT_FORMATS:
        raise ValidationError(f"format must be one of {', '.join(EXPORT_FORMATS)}.")
    sessions = sessions.select_related("sandbox").prefetch_related("tag_set")
    if fmt == "json":
        return json.dumps([export_conversation(session) for session in sessions])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for session in sessions:
        writer.writerow(session_representation(session, session.tags))
    return out.getvalue()
