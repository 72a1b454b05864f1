"""``SessionConfig``: the validated per-session settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import timedelta
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
# The largest value of each whole-number setting: what its column stores, or what keeps its
# timedelta representable.
NUMBER_MAXIMA = {
    "max_messages": MAX_MAX_MESSAGES,
    "max_tokens_per_message": MAX_TOKENS_PER_MESSAGE,
    "session_timeout_minutes": MAX_TIMEOUT_MINUTES,
}
# Ages after the last activity: timedeltas, stored and sent over the API as days.
AGE_FIELDS = ("auto_archive_after", "auto_delete_after")
MAX_AGE = timedelta(days=MAX_AGE_DAYS)
DICT_FIELDS = ("provider_config", "custom_settings")


def _number_error(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= NUMBER_MAXIMA[name]
    ):
        return f"{name} must be an integer from 1 to {NUMBER_MAXIMA[name]}, or null."
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_age(value: Any) -> Any:
    """A number of days as a timedelta, when it is one in range (validate reports the rest)."""
    if _is_number(value) and 0 < value <= MAX_AGE_DAYS:  # NaN compares false
        return timedelta(days=value)
    return value


def _age_error(name: str, value: Any) -> str | None:
    if value is None or (isinstance(value, timedelta) and timedelta(0) < value <= MAX_AGE):
        return None
    return (
        f"{name} must be a timedelta or a number of days above 0 and at most {MAX_AGE_DAYS}, "
        "or null."
    )


def _days(age: timedelta | float | None) -> int | float | None:
    if age is None:
        return None
    days = age / timedelta(days=1) if isinstance(age, timedelta) else float(age)
    return int(days) if days.is_integer() else days


def clean_tags(tags: Any) -> list[str]:
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
        raise ConfigurationError("tags must be a list of strings.")
    cleaned = sorted({t.strip() for t in tags if t.strip()})
    if len(cleaned) > MAX_TAGS:
        raise ConfigurationError(f"At most {MAX_TAGS} tags are allowed.")
    if any(len(t) > MAX_TAG_LENGTH or unstorable(t) for t in cleaned):
        raise ConfigurationError(f"A tag is at most {MAX_TAG_LENGTH} printable characters.")
    return cleaned


# provider_config keys that would put a credential in the database; keys belong in settings.
CREDENTIAL_OPTIONS = frozenset({"api_key", "apikey", "authorization", "password", "secret"})


def is_credential(option: str) -> bool:
    return isinstance(option, str) and option.lower().replace("-", "_") in CREDENTIAL_OPTIONS


@dataclass
class SessionConfig:
    """Per-session settings; construction raises ``ConfigurationError`` with every error."""

    name: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    max_messages: int | None = None
    max_tokens_per_message: int | None = None
    session_timeout_minutes: int | None = None
    auto_archive_after: timedelta | None = None  # without activity; a number means days
    auto_delete_after: timedelta | None = None  # without activity; a number means days
    provider_config: dict[str, Any] = field(default_factory=dict)
    custom_settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.name = "" if self.name is None else self.name
        self.description = "" if self.description is None else self.description
        for name in AGE_FIELDS:
            setattr(self, name, _as_age(getattr(self, name)))
        errors = self.validate()
        if errors:
            raise ConfigurationError(" ".join(errors))
        self.tags = clean_tags(self.tags)

    def validate(self) -> list[str]:
        """Every error of this config; empty when it is valid."""
        errors: list[str] = []
        if not isinstance(self.name, str) or len(self.name) > MAX_NAME or unstorable(self.name):
            errors.append(f"name must be a string of at most {MAX_NAME} characters.")
        if not isinstance(self.description, str) or unstorable(self.description):
            errors.append("description must be a string.")
        try:
            clean_tags(self.tags)
        except ConfigurationError as exc:
            errors.append(exc.message)
        errors.extend(
            error
            for error in (
                *(_number_error(name, getattr(self, name)) for name in NUMBER_MAXIMA),
                *(_age_error(name, getattr(self, name)) for name in AGE_FIELDS),
            )
            if error
        )
        for name in DICT_FIELDS:
            try:
                json_object(getattr(self, name), name)
            except ValidationError as exc:
                errors.append(exc.message)
        credentials = sorted(filter(is_credential, self.provider_config or {}))
        if credentials:
            errors.append(
                f"provider_config must not hold credentials ({', '.join(credentials)}); "
                "configure them in SESSIONS_APP['PROVIDERS']."
            )
        return errors

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
        maxima: dict[str, int] = {**NUMBER_MAXIMA, **dict.fromkeys(AGE_FIELDS, MAX_AGE_DAYS)}
        clamped = {
            name: min(value, maxima[name]) if name in maxima and _is_number(value) else value
            for name, value in data.items()
        }
        if isinstance(clamped.get("provider_config"), dict):  # never let a stored key block reads
            clamped["provider_config"] = {
                key: value
                for key, value in clamped["provider_config"].items()
                if not is_credential(key)
            }
        return cls.from_dict(clamped)

    @classmethod
    def coerce(cls, config: SessionConfig | dict[str, Any] | None) -> SessionConfig:
        return config if isinstance(config, SessionConfig) else cls.from_dict(config)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the ages as days (an int when whole)."""
        data = asdict(self)
        return {**data, **{name: _days(getattr(self, name)) for name in AGE_FIELDS}}

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

    def merge_with(self, other: SessionConfig) -> SessionConfig:
        """A new config: ``other``'s fields that differ from the defaults win, and its
        ``provider_config`` / ``custom_settings`` are merged over ours."""
        default = SessionConfig()
        values = {
            f.name: getattr(other, f.name)
            if getattr(other, f.name) != getattr(default, f.name)
            else getattr(self, f.name)
            for f in fields(self)
        }
        for name in DICT_FIELDS:
            values[name] = {**getattr(self, name), **getattr(other, name)}
        return SessionConfig(**values)
