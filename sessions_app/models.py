"""Sessions, their messages, their context, and the sandboxes (tenants) that own them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from sessions_app.exceptions import ValidationError

E = TypeVar("E", bound=Enum)


def _member(enum: type[E], value: Any) -> E:
    """The member named or valued ``value`` (any case, spaces around ignored)."""
    if isinstance(value, enum):
        return value
    text = str(value).strip().lower() if isinstance(value, str) else None
    for member in enum:
        if text in (str(member.value).lower(), member.name.lower()):
            return member
    valid = ", ".join(str(member.value) for member in enum)
    raise ValueError(f"{value!r} is not a valid {enum.__name__}; valid values: {valid}.")


class Sandbox(models.Model):
    """A tenant: sessions of one sandbox are invisible to every other."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    default_ttl = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds a new session lives; empty uses DEFAULT_TTL."
    )
    default_provider = models.CharField(max_length=50, blank=True)
    default_model = models.CharField(max_length=100, blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="session_sandboxes"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name or self.slug


class SessionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    IDLE = "idle", "Idle"
    ARCHIVED = "archived", "Archived"
    DELETED = "deleted", "Deleted"
    ERROR = "error", "Error"

    @classmethod
    def from_string(cls, value: str | SessionStatus) -> SessionStatus:
        return _member(cls, value)

    def is_active(self) -> bool:
        """Whether a session in this status accepts new messages."""
        return self in WRITABLE_STATUSES

    def can_transition_to(self, new_status: str | SessionStatus) -> bool:
        return SessionStatus.from_string(new_status) in ALLOWED_TRANSITIONS[self]


# Statuses a session may move to from each status; archived is read-only.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    SessionStatus.ACTIVE: frozenset({"idle", "archived", "deleted", "error"}),
    SessionStatus.IDLE: frozenset({"active", "archived", "deleted", "error"}),
    SessionStatus.ERROR: frozenset({"active", "archived", "deleted"}),
    SessionStatus.ARCHIVED: frozenset({"deleted"}),
    SessionStatus.DELETED: frozenset(),
}
WRITABLE_STATUSES = (SessionStatus.ACTIVE, SessionStatus.IDLE, SessionStatus.ERROR)


# A reply's usage beyond its input and output tokens (which it includes), as Completion names it.
USAGE_DETAILS = ("cached_input_tokens", "cache_write_tokens", "reasoning_tokens")
# A reply's usage: copied from its Completion to the message and summed into the session.
USAGE_FIELDS = ("input_tokens", "output_tokens", *USAGE_DETAILS)

COUNTER_FIELDS = frozenset(
    {
        "last_seq",
        "pending_replies",
        "message_count",
        "user_message_count",
        "assistant_message_count",
        "system_message_count",
        "input_tokens",
        "output_tokens",
        "provider_calls",
        "provider_errors",
        "total_response_time_ms",
        "estimated_cost",
        "cached_input_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
        "streamed_replies",
        "total_time_to_first_token_ms",
        "unpriced_replies",
        "priced_replies",
    }
)


class Session(models.Model):
    """One session: an HTTP session, a TTL session, or a conversation (it has messages)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="sessions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="app_sessions",
    )
    external_user_id = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(
        max_length=16, choices=SessionStatus.choices, default=SessionStatus.ACTIVE
    )
    provider = models.CharField(max_length=50, blank=True, default="")
    model = models.CharField(max_length=100, blank=True, default="")
    name = models.CharField(max_length=200, blank=True, default="")
    description = models.TextField(blank=True, default="")
    config = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    metadata = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    session_data = models.TextField(blank=True, default="", editable=False)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    last_activity = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    max_messages = models.PositiveIntegerField(
        null=True, blank=True, help_text="From SessionConfig; a column so appends check it in SQL."
    )

    # Denormalised counters, kept exact with F() updates so analytics never scan messages.
    last_seq = models.PositiveBigIntegerField(default=0, editable=False)
    # User messages whose reply is still being generated; each holds a slot under max_messages.
    pending_replies = models.PositiveIntegerField(default=0, editable=False)
    message_count = models.PositiveIntegerField(default=0)
    user_message_count = models.PositiveIntegerField(default=0)
    assistant_message_count = models.PositiveIntegerField(default=0)
    system_message_count = models.PositiveIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    provider_calls = models.PositiveIntegerField(default=0)
    provider_errors = models.PositiveIntegerField(default=0)
    total_response_time_ms = models.PositiveBigIntegerField(default=0)
    # The sum of the replies whose price is known; unpriced_replies counts the others.
    estimated_cost = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    # Parts of input_tokens (cache reads, cache writes) and of output_tokens (reasoning).
    cached_input_tokens = models.PositiveBigIntegerField(default=0)
    cache_write_tokens = models.PositiveBigIntegerField(default=0)
    reasoning_tokens = models.PositiveBigIntegerField(default=0)
    streamed_replies = models.PositiveIntegerField(default=0)
    total_time_to_first_token_ms = models.PositiveBigIntegerField(default=0)
    unpriced_replies = models.PositiveIntegerField(default=0)
    priced_replies = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["sandbox", "external_user_id", "-created_at"], name="sa_sess_ext_user"
            ),
            models.Index(fields=["sandbox", "user", "-created_at"], name="sa_sess_user"),
            models.Index(fields=["sandbox", "-created_at"], name="sa_sess_recent"),
            models.Index(fields=["sandbox", "status", "-created_at"], name="sa_sess_status"),
            models.Index(fields=["sandbox", "provider", "model"], name="sa_sess_provider"),
            models.Index(fields=["sandbox", "expires_at"], name="sa_sess_sbx_expires"),
            models.Index(fields=["sandbox", "last_activity"], name="sa_sess_activity"),
            models.Index(fields=["expires_at"], name="sa_sess_expires"),
            models.Index(fields=["status", "last_activity"], name="sa_sess_lifecycle"),
            models.Index(fields=["created_at"], name="sa_sess_created"),
        ]

    def __str__(self) -> str:
        return self.name or str(self.id)

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saving a loaded session never writes its counters back.

        Counters change only through ``F()`` updates; writing a stale copy
        would undo concurrent appends (and reuse sequence numbers).
        """
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in COUNTER_FIELDS
            ]
        super().save(*args, **kwargs)

    @property
    def tags(self) -> list[str]:
        """Tag names; use ``prefetch_related("tag_set")`` when listing."""
        return sorted(tag.name for tag in self.tag_set.all())

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def is_expired(self, now: Any = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())


class SessionTag(models.Model):
    """A tag of a session: a row per tag so tag filters use an index on every database."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="tag_set")
    name = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "name"], name="sa_tag_unique_per_session")
        ]
        indexes = [models.Index(fields=["name", "session"], name="sa_tag_name")]

    def __str__(self) -> str:
        return self.name


class MessageRole(models.TextChoices):
    USER = "user", "User"
    ASSISTANT = "assistant", "Assistant"
    SYSTEM = "system", "System"

    @classmethod
    def from_string(cls, value: str | MessageRole) -> MessageRole:
        return _member(cls, value)


class MessageStatus(models.TextChoices):
    COMPLETE = "complete", "Complete"
    INCOMPLETE = "incomplete", "Incomplete"
    ERROR = "error", "Error"


class Message(models.Model):
    """One message of a conversation, ordered by ``seq`` within its session."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveBigIntegerField()
    role = models.CharField(max_length=16, choices=MessageRole.choices)
    content = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    metadata = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    provider_message_id = models.CharField(max_length=255, blank=True, default="")
    provider_metadata = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    processing_time_ms = models.PositiveIntegerField(null=True, blank=True)
    cached_input_tokens = models.PositiveIntegerField(default=0)
    cache_write_tokens = models.PositiveIntegerField(default=0)
    reasoning_tokens = models.PositiveIntegerField(default=0)
    # From the turn's start to the first streamed text; null for a reply not streamed.
    time_to_first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    # Null for a message that is not a reply, or a reply whose price is unknown.
    estimated_cost = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=MessageStatus.choices, default=MessageStatus.COMPLETE
    )

    class Meta:
        ordering = ["seq"]
        constraints = [models.UniqueConstraint(fields=["session", "seq"], name="sa_msg_unique_seq")]
        indexes = [
            models.Index(fields=["session", "role", "seq"], name="sa_msg_role"),
            models.Index(fields=["session", "created_at"], name="sa_msg_created"),
        ]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.seq} {self.role}"

    @property
    def token_count(self) -> int:
        return self.input_tokens + self.output_tokens

    @token_count.setter
    def token_count(self, value: int | None) -> None:
        """An assistant message's tokens are output tokens; any other's are input tokens."""
        count = value or 0
        if self.role == MessageRole.ASSISTANT:
            self.input_tokens, self.output_tokens = 0, count
        else:
            self.input_tokens, self.output_tokens = count, 0

    @property
    def message_id(self) -> str:
        return str(self.pk)

    @message_id.setter
    def message_id(self, value: str | uuid.UUID) -> None:
        """A UUID (as text or not) becomes the primary key; other text (``"msg_1"``) is kept
        as the id of this unsaved message only, since stored messages have UUIDs."""
        try:
            self.pk = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        except ValueError:
            self.pk = str(value)

    @property
    def timestamp(self) -> datetime:
        return self.created_at

    @timestamp.setter
    def timestamp(self, value: datetime | str) -> None:
        """A datetime or ISO 8601 text; a naive one is in the current time zone, as Django
        reads naive datetimes."""
        try:
            moment = parse_datetime(value) if isinstance(value, str) else value
        except ValueError:  # well-formed but impossible, e.g. February 30th
            moment = None
        if not isinstance(moment, datetime):
            raise ValidationError(f"timestamp must be a datetime or ISO 8601 text, not {value!r}.")
        self.created_at = moment if timezone.is_aware(moment) else timezone.make_aware(moment)

    def to_dict(self) -> dict[str, Any]:
        """The documents' ``SessionMessage.to_dict()``, plus ``status`` and ``seq``."""
        return {
            "message_id": self.message_id,
            "session_id": str(self.session_id) if self.session_id is not None else None,
            "role": self.role,
            "content": self.content,
            "timestamp": self.created_at.isoformat(),
            "metadata": self.metadata,
            "provider_message_id": self.provider_message_id or None,
            "provider_metadata": self.provider_metadata,
            "token_count": self.token_count,
            "processing_time_ms": self.processing_time_ms,
            "status": self.status,
            "seq": self.seq,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        """An unsaved message from ``to_dict()``'s keys; only ``role`` and ``content`` are
        required, and keys it does not know are ignored."""
        ids = {name: data[name] for name in ("session_id", "seq") if data.get(name) is not None}
        message = cls(
            **ids,
            role=MessageRole.from_string(data["role"]),
            content=data["content"],
            metadata=data.get("metadata") or {},
            provider_message_id=data.get("provider_message_id") or "",
            provider_metadata=data.get("provider_metadata") or {},
            processing_time_ms=data.get("processing_time_ms"),
            status=data.get("status") or MessageStatus.COMPLETE,
        )
        message.token_count = data.get("token_count")
        for name in ("message_id", "timestamp"):
            if data.get(name) is not None:
                setattr(message, name, data[name])
        return message

    def to_provider_format(self, provider: str) -> dict[str, Any]:
        """``{"role", "content"}`` as the provider's chat API takes it.

        Anthropic has no system role among messages, so a system message goes to it as a
        user message (its instructions belong in the request's ``system`` parameter).
        """
        role = self.role
        if provider.lower() == "anthropic" and role == MessageRole.SYSTEM:
            role = MessageRole.USER
        return {"role": str(role), "content": self.content}


# The documents' name for a message.
SessionMessage = Message


class Context(models.Model):
    """The versioned context of a session; every change raises ``version``."""

    SECTIONS = ("user_context", "conversation_context", "provider_context", "system_context")

    session = models.OneToOneField(
        Session, on_delete=models.CASCADE, primary_key=True, related_name="context"
    )
    user_context = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    conversation_context = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    provider_context = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    system_context = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"context of {self.session_id} v{self.version}"

    def sections(self) -> dict[str, dict[str, Any]]:
        return {name: getattr(self, name) for name in self.SECTIONS}


class IdempotencyRecord(models.Model):
    """The first response to a request sent with an ``Idempotency-Key``.

    Neither the key nor the response is stored in the clear: the row is found
    by a hash of the key, and the response (which may hold a new session's
    secret key) is encrypted with a key derived from the ``Idempotency-Key``.
    """

    key_hash = models.CharField(max_length=64, unique=True)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, help_text="Empty while in progress.")
    response = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"idempotency record {self.pk} ({self.status_code or 'in progress'})"


class Revocation(models.Model):
    """An HTTP session key that the engine's cache must never serve again.

    Written in the transaction that ends the session, so that every process
    learns of it even when the cache was unreachable; removed once the cache
    holds the revocation (``sessions_app.http.revocations``).
    """

    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"revocation {self.pk}"
