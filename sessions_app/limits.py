"""Limits on caller input, in one place: column lengths are read from the model fields, so
a serializer, a filter and a validator can never allow more than the database stores."""

from __future__ import annotations

from django.db import connection
from django.db.models import Field, Model

from sessions_app.models import Context, Message, Sandbox, Session, SessionTag


def _max_length(model: type[Model], field_name: str) -> int:
    field = model._meta.get_field(field_name)
    assert isinstance(field, Field) and field.max_length is not None, field_name
    return field.max_length


def _integer_max(model: type[Model], field_name: str) -> int:
    """The largest value the column stores on this database (PostgreSQL's integer is 32-bit)."""
    field = model._meta.get_field(field_name)
    assert isinstance(field, Field), field_name
    highest = connection.ops.integer_field_range(field.get_internal_type())[1]
    assert highest is not None, field_name
    return int(highest)


MAX_NAME = _max_length(Session, "name")
MAX_EXTERNAL_USER_ID = _max_length(Session, "external_user_id")
MAX_PROVIDER = _max_length(Session, "provider")
MAX_MODEL = _max_length(Session, "model")
MAX_SANDBOX_SLUG = _max_length(Sandbox, "slug")
MAX_TAG_LENGTH = _max_length(SessionTag, "name")
MAX_TAGS = 50
# A century: long enough for any real TTL, short enough that the expiry date stays representable.
MAX_TTL_SECONDS = 100 * 365 * 24 * 3600

MAX_MAX_MESSAGES = _integer_max(Session, "max_messages")
# A reply's token count is stored in this column, so no larger request makes sense.
MAX_TOKENS_PER_MESSAGE = _integer_max(Message, "output_tokens")
MAX_SEQ = _integer_max(Message, "seq")
MAX_CONTEXT_VERSION = _integer_max(Context, "version")
# Idle timeouts and ages are bounded by the TTL cap, so their timedeltas stay representable.
MAX_TIMEOUT_MINUTES = MAX_TTL_SECONDS // 60
MAX_AGE_DAYS = MAX_TTL_SECONDS // (24 * 3600)
# Nesting of any JSON the API or the Python API accepts: far below the recursion limit that
# the JSON encoder, merge-patch and PostgreSQL's jsonb parser would otherwise hit.
MAX_JSON_DEPTH = 64
