"""What the API accepts: bodies and query parameters, each rejecting fields it does not know."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from sessions_app import limits
from sessions_app.models import MessageRole


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


def validated(input_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """``data`` as ``input_class`` cleans it; invalid input raises DRF's 400."""
    serializer = input_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def config_changes(given: dict[str, Any]) -> dict[str, Any]:
    """The config changes of a validated body: its ``config`` with name, description and
    tags, which the body may also give at its top level."""
    columns = {name: given[name] for name in ("name", "description", "tags") if name in given}
    return {**given.get("config", {}), **columns}


def _tags() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=limits.MAX_TAG_LENGTH),
        max_length=limits.MAX_TAGS,
        required=False,
    )


class SessionUpdateInput(StrictInput):
    name = serializers.CharField(max_length=limits.MAX_NAME, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    tags = _tags()
    config = serializers.DictField(required=False)
    metadata = serializers.DictField(required=False)


class SessionCreateInput(SessionUpdateInput):
    provider = serializers.CharField(max_length=limits.MAX_PROVIDER, required=False)
    model = serializers.CharField(max_length=limits.MAX_MODEL, required=False)
    ttl_seconds = serializers.FloatField(
        min_value=1, max_value=limits.MAX_TTL_SECONDS, required=False
    )
    sandbox = serializers.SlugField(max_length=limits.MAX_SANDBOX_SLUG, required=False)
    user_id = serializers.CharField(
        max_length=limits.MAX_EXTERNAL_USER_ID, required=False, allow_blank=True
    )


class ExtendInput(StrictInput):
    seconds = serializers.FloatField(min_value=1, max_value=limits.MAX_TTL_SECONDS)


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


class AnalyticsQuery(StrictInput):
    # Dates or date-times; the service parses them (a date as an end means its whole day).
    start = serializers.CharField(max_length=64, required=False)
    end = serializers.CharField(max_length=64, required=False)
    sandbox = serializers.SlugField(max_length=limits.MAX_SANDBOX_SLUG, required=False)
    user_id = serializers.CharField(max_length=limits.MAX_EXTERNAL_USER_ID, required=False)
