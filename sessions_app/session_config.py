"""``SessionConfig``: the validated per-session settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from sessions_app.exceptions import ConfigurationError, ValidationError
from sessions_app.limits import (
    MAX_AGE_DAYS,
    MAX_MAX_MESSAGES,
    MAX_NAME,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    MAX_TIMEOUT_MINUTES,
    MAX_TOKENS_PER_MESSAGE,
)
from sessions_app.validation import json_object, unstorable

# These are columns of Session (max_messages so appends can check it in SQL);
# the rest lives in Session.config.
COLUMN_FIELDS = ("name", "description", "tags", "max_messages")
# The largest value of each numeric setting: what its column stores, or what keeps its
# timedelta representable.
NUMBER_MAXIMA = {
    "max_messages": MAX_MAX_MESSAGES,
    "max_tokens_per_message": MAX_TOKENS_PER_MESSAGE,
    "session_timeout_minutes": MAX_TIMEOUT_MINUTES,
    "auto_archive_after": MAX_AGE_DAYS,
    "auto_delete_after": MAX_AGE_DAYS,
}


def _positive_or_none(name: str, value: Any) -> None:
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= NUMBER_MAXIMA[name]
    ):
        raise ConfigurationError(
            f"{name} must be an integer from 1 to {NUMBER_MAXIMA[name]}, or null."
        )


def clean_tags(tags: Any) -> list[str]:
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
        raise ConfigurationError("tags must be a list of strings.")
    cleaned = sorted({t.strip() for t in tags if t.strip()})
    if len(cleaned) > MAX_TAGS:
        raise ConfigurationError(f"At most {MAX_TAGS} tags are allowed.")
    if any(len(t) > MAX_TAG_LENGTH or unstorable(t) for t in cleaned):
        raise ConfigurationError(f"A tag is at most {MAX_TAG_LENGTH} printable characters.")
    return cleaned


@dataclass
class SessionConfig:
    name: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    max_messages: int | None = None
    max_tokens_per_message: int | None = None
    session_timeout_minutes: int | None = None
    auto_archive_after: int | None = None  # days without activity
    auto_delete_after: int | None = None  # days without activity
    provider_config: dict[str, Any] = field(default_factory=dict)
    custom_settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if not isinstance(self.name, str) or len(self.name) > MAX_NAME or unstorable(self.name):
            raise ConfigurationError(f"name must be a string of at most {MAX_NAME} characters.")
        if not isinstance(self.description, str) or unstorable(self.description):
            raise ConfigurationError("description must be a string.")
        self.tags = clean_tags(self.tags)
        for name in NUMBER_MAXIMA:
            _positive_or_none(name, getattr(self, name))
        for name in ("provider_config", "custom_settings"):
            try:
                json_object(getattr(self, name), name)
            except ValidationError as exc:
                raise ConfigurationError(exc.message) from None

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SessionConfig:
        if data is not None and not isinstance(data, dict):
            raise ConfigurationError("session_config must be an object or a SessionConfig.")
        data = dict(data or {})
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigurationError(f"Unknown config fields: {', '.join(sorted(unknown))}.")
        return cls(**data)

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> SessionConfig:
        """A stored config, with numbers saved before their bound was checked clamped to it
        (a timeout of 10**10 minutes means as much as the longest allowed one)."""
        clamped = {
            name: min(value, NUMBER_MAXIMA[name])
            if name in NUMBER_MAXIMA and isinstance(value, int) and not isinstance(value, bool)
            else value
            for name, value in data.items()
        }
        return cls.from_dict(clamped)

    @classmethod
    def coerce(cls, config: SessionConfig | dict[str, Any] | None) -> SessionConfig:
        return config if isinstance(config, SessionConfig) else cls.from_dict(config)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def stored(self) -> dict[str, Any]:
        """What goes into ``Session.config`` (everything but the column fields)."""
        return {k: v for k, v in self.to_dict().items() if k not in COLUMN_FIELDS}

    def merged(self, changes: dict[str, Any]) -> SessionConfig:
        if not isinstance(changes, dict):
            raise ConfigurationError("config changes must be an object.")
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigurationError(f"Unknown config fields: {', '.join(sorted(unknown))}.")
        return SessionConfig.from_dict({**self.to_dict(), **changes})
