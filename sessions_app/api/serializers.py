"""Input and output serializers of the REST API, one pair per action where input differs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from sessions_app.models import Message, MessageRole, Session
from sessions_app.session_config import COLUMN_FIELDS, MAX_TAG_LENGTH, MAX_TAGS, SessionConfig

# Long enough for any real TTL, short enough that the expiry date stays representable.
MAX_TTL_SECONDS = 100 * 365 * 24 * 3600
CONFIG_FIELDS = sorted(set(SessionConfig.__dataclass_fields__) - set(COLUMN_FIELDS))


class StrictInput(serializers.Serializer):
    """Rejects fields it does not know, so a typo is an error rather than silently ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field."] for name in unknown}, code="unknown_field"
                )
        return super().to_internal_value(data)


def _tags() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=MAX_TAG_LENGTH), max_length=MAX_TAGS, required=False
    )


class SessionUpdateInput(StrictInput):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    tags = _tags()
    config = serializers.DictField(required=False)
    metadata = serializers.DictField(required=False)


class SessionCreateInput(SessionUpdateInput):
    provider = serializers.CharField(max_length=50, required=False)
    model = serializers.CharField(max_length=100, required=False)
    ttl_seconds = serializers.FloatField(min_value=1, max_value=MAX_TTL_SECONDS, required=False)
    sandbox = serializers.SlugField(max_length=64, required=False)
    user_id = serializers.CharField(max_length=255, required=False, allow_blank=True)


class ExtendInput(StrictInput):
    seconds = serializers.FloatField(min_value=1, max_value=MAX_TTL_SECONDS)


class SessionOutput(serializers.Serializer):
    """A session as the API shows it: the schema of what ``session_data`` builds."""

    id = serializers.UUIDField()
    sandbox = serializers.CharField(help_text="The sandbox's slug.")
    user = serializers.IntegerField(allow_null=True, help_text="The Django user's id.")
    user_id = serializers.CharField(allow_null=True, help_text="The application's own user id.")
    provider = serializers.CharField()
    model = serializers.CharField()
    status = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    config = serializers.DictField(help_text="Settings other than name, description and tags.")
    metadata = serializers.DictField()
    created_at = serializers.DateTimeField()
    last_activity = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    message_count = serializers.IntegerField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    estimated_cost = serializers.FloatField()


class CreatedSessionOutput(SessionOutput):
    session_key = serializers.CharField(help_text="The session's secret key; returned only here.")


class ValidityOutput(serializers.Serializer):
    valid = serializers.BooleanField()
    expires_at = serializers.DateTimeField(allow_null=True)


class TextOnly(serializers.CharField):
    """A string, as sent: no number coerced to text, no whitespace trimmed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class MessageInput(StrictInput):
    # No length limit here: the service answers 413 over MAX_MESSAGE_CHARS.
    content = TextOnly()
    role = serializers.ChoiceField(
        choices=[MessageRole.USER, MessageRole.SYSTEM], default=MessageRole.USER
    )
    metadata = serializers.DictField(required=False)


class MessageOutput(serializers.Serializer):
    """A message as the API shows it: the schema of what ``message_data`` builds."""

    id = serializers.UUIDField()
    session = serializers.UUIDField(source="session_id")
    seq = serializers.IntegerField()
    role = serializers.CharField()
    content = serializers.CharField()
    created_at = serializers.DateTimeField()
    metadata = serializers.DictField()
    provider_message_id = serializers.CharField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    processing_time_ms = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()


class TurnOutput(serializers.Serializer):
    message = MessageOutput()
    reply = MessageOutput(
        allow_null=True, help_text="The provider's reply; null for a system message."
    )


class ContextOutput(serializers.Serializer):
    user_context = serializers.DictField()
    conversation_context = serializers.DictField()
    provider_context = serializers.DictField()
    system_context = serializers.DictField()
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField(source="last_updated")


class MetricsOutput(serializers.Serializer):
    session_id = serializers.UUIDField()
    total_messages = serializers.IntegerField()
    user_messages = serializers.IntegerField()
    assistant_messages = serializers.IntegerField()
    system_messages = serializers.IntegerField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    session_duration_seconds = serializers.FloatField()
    avg_response_time_ms = serializers.FloatField()
    total_response_time_ms = serializers.IntegerField()
    provider_calls = serializers.IntegerField()
    provider_errors = serializers.IntegerField()
    error_rate = serializers.FloatField()
    estimated_cost = serializers.FloatField()
    created_at = serializers.DateTimeField()
    last_activity = serializers.DateTimeField()


class AnalyticsQuery(StrictInput):
    # Dates or date-times; the manager parses them (a date as an end means its whole day).
    start = serializers.CharField(max_length=64, required=False)
    end = serializers.CharField(max_length=64, required=False)
    sandbox = serializers.SlugField(max_length=64, required=False)
    user_id = serializers.CharField(max_length=255, required=False)


class ProviderOutput(serializers.Serializer):
    name = serializers.CharField()
    models = serializers.ListField(child=serializers.CharField())
    default_model = serializers.CharField()
    streaming = serializers.BooleanField()
    default = serializers.BooleanField()


class HealthOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["healthy", "unhealthy"])
    checks = serializers.DictField(child=serializers.CharField())
    timestamp = serializers.DateTimeField()


class ErrorOutput(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False)
    session_id = serializers.UUIDField(required=False, allow_null=True)


# What a session's representation is read from: a row of .values(*these), or a Session.
SESSION_COLUMNS = (
    "id", "sandbox__slug", "user_id", "external_user_id", "provider", "model", "status",
    "name", "description", "config", "max_messages", "metadata", "created_at",
    "last_activity", "expires_at", "message_count", "input_tokens", "output_tokens",
    "estimated_cost",
)  # fmt: skip


def _moment(value: Any) -> str | None:
    """As DRF's ``DateTimeField`` shows it (current time zone, UTC as ``Z``), at a fraction
    of its cost."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def session_data(session: Session | Mapping[str, Any], tags: list[str]) -> dict[str, Any]:
    """``SessionOutput``'s representation, built directly (lists hold many sessions);
    the fuzz tests check that it matches the schema."""
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
        "created_at": _moment(row["created_at"]),
        "last_activity": _moment(row["last_activity"]),
        "expires_at": _moment(row["expires_at"]),
        "message_count": row["message_count"],
        "input_tokens": row["input_tokens"],
        "output_tokens": row["output_tokens"],
        "estimated_cost": float(row["estimated_cost"]),
    }


# What a message's representation is read from: a Message, or a row of .values(*these).
MESSAGE_COLUMNS = (
    "id", "session_id", "seq", "role", "content", "created_at", "metadata",
    "provider_message_id", "input_tokens", "output_tokens", "processing_time_ms", "status",
)  # fmt: skip


def message_data(message: Message | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``MessageOutput``'s representation, built directly: history pages hold many messages,
    and DRF's per-field machinery would be most of their cost. The fuzz tests check that it
    matches the schema ``MessageOutput`` documents."""
    if message is None:
        return None
    row = message if isinstance(message, Mapping) else vars(message)
    return {
        "id": str(row["id"]),
        "session": str(row["session_id"]),
        "seq": row["seq"],
        "role": row["role"],
        "content": row["content"],
        "created_at": _moment(row["created_at"]),
        "metadata": row["metadata"],
        "provider_message_id": row["provider_message_id"],
        "input_tokens": row["input_tokens"],
        "output_tokens": row["output_tokens"],
        "processing_time_ms": row["processing_time_ms"],
        "status": row["status"],
    }
