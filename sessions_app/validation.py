"""Checks of caller input that raise ``ValidationError`` instead of failing deep in the database."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from sessions_app.exceptions import ValidationError

if TYPE_CHECKING:
    # django-stubs resolves AUTH_USER_MODEL to this name.
    from django.contrib.auth.models import User
from sessions_app.limits import MAX_EXTERNAL_USER_ID, MAX_JSON_DEPTH, MAX_TTL_SECONDS

# NUL (refused by PostgreSQL's text and jsonb) and lone surrogates (not encodable as UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def positive_number(
    value: Any,
    name: str,
    *,
    maximum: float = MAX_TTL_SECONDS,
    allow_zero: bool = False,
    **error: Any,
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"{name} must be a finite number.", **error)
    too_small = value < 0 if allow_zero else value <= 0
    if too_small or value > maximum:
        lowest = "at least 0" if allow_zero else "greater than 0"
        raise ValidationError(f"{name} must be {lowest} and at most {maximum:g}.", **error)
    return float(value)


def limit(value: Any) -> int | None:
    """A result limit: ``None`` (no limit) or a positive integer."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError("limit must be a non-negative integer or None.")
    return int(value)


def unstorable(value: str) -> bool:
    """True for text no column stores: with a NUL or a lone surrogate (half a UTF-16 pair)."""
    return _UNSTORABLE.search(value) is not None


def _unstorable_text(name: str, **error: Any) -> ValidationError:
    # The message never quotes the text: a lone surrogate cannot be rendered as JSON either.
    return ValidationError(
        f"{name} must not contain NUL characters or lone surrogates.",
        **{"error_code": "invalid_text", **error},
    )


def text(value: Any, name: str, **error: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string.", **error)
    if unstorable(value):
        raise _unstorable_text(name, **error)
    return value


def storable_json(value: Any, name: str, *, depth: int = 0, **error: Any) -> None:
    """Refuse JSON no database stores or the app can walk: text as ``text`` refuses it (keys
    included), or nesting deeper than ``MAX_JSON_DEPTH`` (``depth``: the levels above
    ``value``). Iterative, so any depth is safe."""
    pending: list[tuple[Any, int]] = [(value, depth)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, str):
            if unstorable(node):
                raise _unstorable_text(name, **error)
            continue
        if not isinstance(node, dict | list | tuple):
            continue
        if depth >= MAX_JSON_DEPTH:
            raise ValidationError(
                f"{name} is nested deeper than {MAX_JSON_DEPTH} levels.",
                **{"error_code": "json_too_deep", **error},
            )
        if isinstance(node, dict):
            pending.extend((key, depth) for key in node if isinstance(key, str))
            pending.extend((child, depth + 1) for child in node.values())
        else:
            pending.extend((child, depth + 1) for child in node)


def json_object(value: Any, name: str, **error: Any) -> dict[str, Any]:
    """A JSON object the database can store, as it will read back (datetimes become strings)."""
    if not isinstance(value, dict):
        raise ValidationError(f"{name} must be an object.", **error)
    storable_json(value, name, **error)
    try:
        encoded = json.dumps(value, cls=DjangoJSONEncoder)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} is not JSON-serialisable: {exc}", **error) from None
    if "\\u0000" in encoded:
        raise ValidationError(f"{name} must not contain NUL characters.", **error)
    stored: dict[str, Any] = json.loads(encoded)
    return stored


def external_user_id(value: Any) -> str:
    """An application's own user id: a string (or an int, stored as its string)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError("user_id must be a string.")
    user_id = text(str(value), "user_id")
    if len(user_id) > MAX_EXTERNAL_USER_ID:
        raise ValidationError(f"user_id is longer than {MAX_EXTERNAL_USER_ID} characters.")
    return user_id


def django_user(value: Any) -> User | None:
    if value is not None and not (isinstance(value, get_user_model()) and value.pk is not None):
        raise ValidationError("user must be a saved Django user or None.")
    return value


def moment(value: Any, name: str, *, end_of_day: bool = False) -> datetime | None:
    """A datetime from a datetime, a date or an ISO 8601 string; dates cover the whole day."""
    if value is None:
        return None
    if isinstance(value, datetime):
        try:
            aware = value if timezone.is_aware(value) else timezone.make_aware(value)
            # In UTC: PostgreSQL refuses offsets beyond ±15:59, which Python allows.
            return aware.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValidationError(f"{name} is out of the supported range.") from None
    if isinstance(value, str):
        try:
            parsed = parse_date(value) or parse_datetime(value)
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationError(f"{name} must be an ISO 8601 date or datetime.")
        return moment(parsed, name, end_of_day=end_of_day)
    if isinstance(value, date):
        combined = datetime.combine(value, time.max if end_of_day else time.min)
        return timezone.make_aware(combined)
    raise ValidationError(f"{name} must be a date or datetime.")
