"""Sessions as plain JSON-ready documents (and CSV summaries)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.utils import timezone

from sessions_app.exceptions import ValidationError
from sessions_app.models import Message, Session
from sessions_app.services.analytics import session_metrics
from sessions_app.services.context import get_context

EXPORT_FORMATS = ("json", "csv")
CSV_FIELDS = (
    "id",
    "sandbox",
    "user_id",
    "provider",
    "model",
    "status",
    "name",
    "created_at",
    "last_activity",
    "expires_at",
    "message_count",
    "input_tokens",
    "output_tokens",
    "estimated_cost",
)


def jsonable(data: Any) -> Any:
    """Round-trip through Django's encoder: datetimes, UUIDs and decimals become strings."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def session_document(session: Session) -> dict[str, Any]:
    return {
        "id": str(session.pk),
        "sandbox": session.sandbox.slug,
        "user": session.user_id,
        "user_id": session.external_user_id or None,
        "provider": session.provider,
        "model": session.model,
        "status": session.status,
        "name": session.name,
        "description": session.description,
        "tags": session.tags,
        "config": session.config,
        "metadata": session.metadata,
        "created_at": session.created_at,
        "last_activity": session.last_activity,
        "expires_at": session.expires_at,
        "message_count": session.message_count,
        "input_tokens": session.input_tokens,
        "output_tokens": session.output_tokens,
        "estimated_cost": float(session.estimated_cost),
    }


def message_document(message: Message) -> dict[str, Any]:
    return {
        "id": str(message.pk),
        "session": str(message.session_id),
        "seq": message.seq,
        "role": message.role,
        "content": message.content,
        "created_at": message.created_at,
        "metadata": message.metadata,
        "provider_message_id": message.provider_message_id,
        "input_tokens": message.input_tokens,
        "output_tokens": message.output_tokens,
        "token_count": message.token_count,
        "processing_time_ms": message.processing_time_ms,
        "status": message.status,
    }


def export_conversation(session: Session) -> dict[str, Any]:
    """The session, its context, every message and its metrics as one JSON-ready document."""
    messages = Message.objects.filter(session=session).order_by("seq")
    context = get_context(session).to_dict()
    return jsonable(
        {
            "session": session_document(session),
            "context": context,
            "messages": [message_document(m) for m in messages.iterator(chunk_size=500)],
            "metrics": session_metrics(session),
            "exported_at": timezone.now(),
        }
    )


def export_sessions(sessions: QuerySet[Session], fmt: str = "json") -> str:
    if fmt not in EXPORT_FORMATS:
        raise ValidationError(f"format must be one of {', '.join(EXPORT_FORMATS)}.")
    sessions = sessions.select_related("sandbox").prefetch_related("tag_set")
    if fmt == "json":
        return json.dumps([export_conversation(s) for s in sessions], cls=DjangoJSONEncoder)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for session in sessions:
        writer.writerow(jsonable(session_document(session)))
    return out.getvalue()
