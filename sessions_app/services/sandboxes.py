"""Sandboxes (tenants)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_slug

from sessions_app.exceptions import ConfigurationError
from sessions_app.limits import MAX_SANDBOX_SLUG as MAX_SLUG
from sessions_app.models import Sandbox


def clean_sandbox_id(slug: Any) -> str:
    if isinstance(slug, str) and len(slug) <= MAX_SLUG:
        try:
            validate_slug(slug)
        except DjangoValidationError:
            pass
        else:
            return slug
    raise ConfigurationError(
        f"Invalid sandbox id {slug!r}: up to {MAX_SLUG} letters, digits, - and _."
    )


def find_sandbox(slug: str) -> Sandbox | None:
    return Sandbox.objects.filter(slug=slug).first()


def get_or_create_sandbox(slug: str) -> Sandbox:
    sandbox, _ = Sandbox.objects.get_or_create(slug=clean_sandbox_id(slug), defaults={"name": slug})
    return sandbox
