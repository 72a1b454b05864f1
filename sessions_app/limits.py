"""Limits on caller input, in one place: column lengths are read from the model fields, so
a serializer, a filter and a validator can never allow more than the database stores."""

from __future__ import annotations

from django.db.models import Field, Model

from sessions_app.models import Sandbox, Session, SessionTag


def _max_length(model: type[Model], field_name: str) -> int:
    field = model._meta.get_field(field_name)
    assert isinstance(field, Field) and field.max_length is not None, field_name
    return field.max_length


MAX_NAME = _max_length(Session, "name")
MAX_EXTERNAL_USER_ID = _max_length(Session, "external_user_id")
MAX_PROVIDER = _max_length(Session, "provider")
MAX_MODEL = _max_length(Session, "model")
MAX_SANDBOX_SLUG = _max_length(Sandbox, "slug")
MAX_TAG_LENGTH = _max_length(SessionTag, "name")
MAX_TAGS = 50
# A century: long enough for any real TTL, short enough that the expiry date stays representable.
MAX_TTL_SECONDS = 100 * 365 * 24 * 3600
