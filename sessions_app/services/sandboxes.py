"""Sandboxes (tenants)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_slug

from sessions_app.exceptions import ConfigurationError
from sessions_app.models import Sandbox


def get_or_create_sandbox(slug: str) -> Sandbox:
    try:
        validate_slug(slug)
    except DjangoValidationError as exc:
        raise ConfigurationError(
            f"Invalid sandbox id {slug!r}: use letters, digits, - and _."
        ) from exc
    sandbox, _ = Sandbox.objects.get_or_create(slug=slug, defaults={"name": slug})
    return sandbox
