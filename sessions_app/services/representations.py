"""The one representation of each resource, as JSON-ready documents.

The API answers them, export writes them (JSON, and CSV from the session
document), TTL info reads the session document, and the OpenAPI schema's
serializers are checked against the field lists here. Sessions and messages
are built from a model instance or from a ``.values(*COLUMNS)`` row: lists are
answered from rows, because DRF's per-field work would be most of a page's cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from sessions_app.metrics import reported_cost
from sessions_app.models import USAGE_DETAILS, Context, Message, Session
from sessions_app.services.analytics import MessageSpan, session_metrics
from sessions_app.services.context import SessionContext

SESSION_FIELDS = (
    "id", "sandbox", "user", "user_id", "provider", "model", "status", "name", "description",
    "tags", "config", "metadata", "created_at", "last_activity", "expires_at", "message_count",
    "input_tokens", "output_tokens", "estimated_cost", "cost_status", "cached_input_tokens",
    "cache_write_tokens", "reasoning_tokens",
)  # fmt: skip
# What a session's representation is read from: a row of .values(*these), or a Session.
SESSION_COLUMNS = (
    "id", "sandbox__slug", "user_id", "external_user_id", "provider", "model", "status",
    "name", "description", "config", "max_messages", "metadata", "created_at",
    "last_activity", "expires_at", "message_count", "input_tokens", "output_tokens",
    "estimated_cost", "priced_replies", "unpriced_replies", "cached_input_tokens",
    "cache_write_tokens", "reasoning_tokens",
)  # fmt: skip
# A message's usage beyond its tokens, as stored.
MESSAGE_USAGE = (*USAGE_DETAILS, "time_to_first_token_ms")
MESSAGE_FIELDS = (
    "id", "session", "seq", "role", "content", "created_at", "metadata",
    "provider_message_id", "input_tokens", "output_tokens", "processing_time_ms", "status",
    *MESSAGE_USAGE, "estimated_cost", "cost_status",
)  # fmt: skip
# What a message's representation is read from: a row of .values(*these), or a Message.
MESSAGE_COLUMNS = (
    "id", "session_id", "seq", "role", "content", "created_at", "metadata",
    "provider_message_id", "input_tokens", "output_tokens", "processing_time_ms", "status",
    *MESSAGE_USAGE, "estimated_cost", "provider_metadata",
)  # fmt: skip
CONTEXT_FIELDS = (*Context.SECTIONS, "version", "updated_at")
VALIDITY_FIELDS = ("valid", "expires_at")
PROVIDER_FIELDS = ("name", "models", "any_model", "default_model", "streaming", "default")


def datetime_text(value: datetime | None) -> str | None:
    """As DRF's ``DateTimeField`` shows it (current time zone, UTC as ``Z``), at a fraction
    of its cost."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def session_representation(session: Session | Mapping[str, Any], tags: list[str]) -> dict[str, Any]:
    """A session; ``config`` holds every setting but name, description and tags."""
    if isinstance(session, Mapping):
        row = session
    else:
        row = {**vars(session), "sandbox__slug": session.sandbox.slug}
    return {
        "id": str(row["id"]),
        "sandbox": row["sandbox__slug"],
        "user": row["user_id"],
        "user_id": row["external_user_id"] or None,
        "provider": row["provider"],
        "model": row["model"],
        "status": row["status"],
        "name": row["name"],
        "description": row["description"],
        "tags": tags,
        "config": {**row["config"], "max_messages": row["max_messages"]},
        "metadata": row["metadata"],
        "created_at": datetime_text(row["created_at"]),
        "last_activity": datetime_text(row["last_activity"]),
        "expires_at": datetime_text(row["expires_at"]),
        "message_count": row["message_count"],
        "input_tokens": row["input_tokens"],
        "output_tokens": row["output_tokens"],
        **_session_cost(row),
        "cached_input_tokens": row["cached_input_tokens"],
        "cache_write_tokens": row["cache_write_tokens"],
        "reasoning_tokens": row["reasoning_tokens"],
    }


def message_representation(message: Message | Mapping[str, Any]) -> dict[str, Any]:
    row = message if isinstance(message, Mapping) else vars(message)
    return {
        "id": str(row["id"]),
        "session": str(row["session_id"]),
        "seq": row["seq"],
        "role": row["role"],
        "content": row["content"],
        "created_at": datetime_text(row["created_at"]),
        "metadata": row["metadata"],
        "provider_message_id": row["provider_message_id"],
        "input_tokens": row["input_tokens"],
        "output_tokens": row["output_tokens"],
        "processing_time_ms": row["processing_time_ms"],
        "status": row["status"],
        **{name: row[name] for name in MESSAGE_USAGE},
        **_message_cost(row["provider_metadata"], row["estimated_cost"]),
    }


def _session_cost(row: Mapping[str, Any]) -> dict[str, Any]:
    """The sum of the replies' known prices and its status; null when no reply was priced."""
    cost, status = reported_cost(
        row["estimated_cost"], row["priced_replies"], row["unpriced_replies"]
    )
    return {"estimated_cost": cost, "cost_status": status}


def _message_cost(provider_metadata: Any, cost: Decimal | None) -> dict[str, Any]:
    """A reply's cost and whether it is known; neither for a message that no provider call
    made (a user or system message, an assistant message added or imported as it is)."""
    if not (isinstance(provider_metadata, dict) and provider_metadata.get("model")):
        return {"estimated_cost": None, "cost_status": None}
    if cost is None:
        return {"estimated_cost": None, "cost_status": "unknown"}
    return {"estimated_cost": float(cost), "cost_status": "known"}


def validity_representation(session: Session) -> dict[str, Any]:
    """The answer of a successful validation (a failed one is "not found")."""
    return {"valid": True, "expires_at": datetime_text(session.expires_at)}


def context_representation(snapshot: SessionContext) -> dict[str, Any]:
    sections = {name: getattr(snapshot, name) for name in Context.SECTIONS}
    updated_at = datetime_text(snapshot.last_updated)
    return {**sections, "version": snapshot.version, "updated_at": updated_at}


METRICS_MOMENTS = ("created_at", "last_activity", "first_message_at", "last_message_at")


def metrics_representation(session: Session, span: MessageSpan | None = None) -> dict[str, Any]:
    """``session_metrics`` (the Python API's values), with its datetimes as text."""
    metrics = session_metrics(session, span).to_dict()
    return {**metrics, **{name: datetime_text(metrics[name]) for name in METRICS_MOMENTS}}


def provider_representation(
    name: str, capabilities: Mapping[str, Any], *, default: bool
) -> dict[str, Any]:
    listed = {**capabilities, "name": name, "default": default}
    return {field: listed[field] for field in PROVIDER_FIELDS}


def conversation_representation(
    session: Session, tags: list[str], snapshot: SessionContext, messages: Iterable[Message]
) -> dict[str, Any]:
    """The export of one conversation: the session, its context, messages (in order) and
    metrics (whose first and last message times are read from those messages)."""
    documents, moments = [], []
    for message in messages:
        documents.append(message_representation(message))
        moments.append(message.created_at)
    span = (min(moments), max(moments)) if moments else (None, None)
    return {
        "session": session_representation(session, tags),
        "context": context_representation(snapshot),
        "messages": documents,
        "metrics": metrics_representation(session, span),
        "exported_at": datetime_text(timezone.now()),
    }
