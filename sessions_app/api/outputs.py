"""What the API answers, for the OpenAPI schema only: the bodies themselves are built by
``services.representations``, and tests check that these fields are its field lists."""

from __future__ import annotations

from rest_framework import serializers

COST_STATUSES = ["known", "partial", "unknown"]


class SessionOutput(serializers.Serializer):
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
    estimated_cost = serializers.FloatField(
        allow_null=True, help_text="The sum of the replies' known prices; null when none is known."
    )
    cost_status = serializers.ChoiceField(choices=COST_STATUSES)
    cached_input_tokens = serializers.IntegerField()
    cache_write_tokens = serializers.IntegerField()
    reasoning_tokens = serializers.IntegerField()


class CreatedSessionOutput(SessionOutput):
    session_key = serializers.CharField(help_text="The session's secret key; returned only here.")


class ValidityOutput(serializers.Serializer):
    valid = serializers.BooleanField()
    expires_at = serializers.DateTimeField(allow_null=True)


class MessageOutput(serializers.Serializer):
    id = serializers.UUIDField()
    session = serializers.UUIDField()
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
    cached_input_tokens = serializers.IntegerField(help_text="Of input_tokens, cache reads.")
    cache_write_tokens = serializers.IntegerField(help_text="Of input_tokens, cache writes.")
    reasoning_tokens = serializers.IntegerField(help_text="Of output_tokens, reasoning.")
    time_to_first_token_ms = serializers.IntegerField(
        allow_null=True, help_text="For a streamed reply: from the turn's start to its first text."
    )
    estimated_cost = serializers.FloatField(
        allow_null=True, help_text="A reply's price; null for other messages or an unknown price."
    )
    # The sessions' choices (one enum in the schema); a reply's cost is never "partial".
    cost_status = serializers.ChoiceField(
        choices=COST_STATUSES,
        allow_null=True,
        help_text='"known" or "unknown" for a reply; null for other messages.',
    )


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
    updated_at = serializers.DateTimeField()


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
    estimated_cost = serializers.FloatField(
        allow_null=True, help_text="The sum of the known prices; null when no reply was priced."
    )
    cost_status = serializers.ChoiceField(choices=COST_STATUSES)
    unpriced_replies = serializers.IntegerField()
    cached_input_tokens = serializers.IntegerField()
    cache_write_tokens = serializers.IntegerField()
    reasoning_tokens = serializers.IntegerField()
    streamed_replies = serializers.IntegerField()
    avg_time_to_first_token_ms = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField()
    last_activity = serializers.DateTimeField()
    first_message_at = serializers.DateTimeField(allow_null=True)
    last_message_at = serializers.DateTimeField(allow_null=True)


class ProviderOutput(serializers.Serializer):
    name = serializers.CharField()
    models = serializers.ListField(
        child=serializers.CharField(),
        help_text="The models MODELS allows, or the default model when any name is accepted.",
    )
    any_model = serializers.BooleanField(
        help_text="True when the provider accepts any model name (no MODELS setting)."
    )
    default_model = serializers.CharField()
    streaming = serializers.BooleanField()
    default = serializers.BooleanField()


class HealthOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["healthy", "unhealthy"])
    checks = serializers.DictField(child=serializers.CharField())
    # Per cache alias, this process's count: {outages, requests_not_counted, since}.
    cache_outages = serializers.DictField(child=serializers.DictField())
    timestamp = serializers.DateTimeField()


class ErrorOutput(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False)
    session_id = serializers.UUIDField(required=False, allow_null=True)
    reason = serializers.CharField(
        required=False, help_text="A provider error's kind: rate_limited, timeout, auth, …"
    )
    provider = serializers.CharField(required=False, allow_null=True)
    details = serializers.DictField(
        required=False,
        help_text="More about the error, e.g. reply_id: the incomplete reply a broken stream left.",
    )
