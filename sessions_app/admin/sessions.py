"""Sessions: staff inspect them, and change or delete them only through the service layer.

Only the service layer issues keys, so sessions cannot be added here. Staff may
change the descriptive fields and the expiry of a session the services would
still write (not archived, deleted or expired); saves and deletes go through the
same services as the API, so their validation, caps, hooks, signals and key
revocation apply.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString

from sessions_app.admin.messages import MessageInline, history_link
from sessions_app.exceptions import SessionError, SessionNotFoundError
from sessions_app.metrics import cost_status, reported_cost
from sessions_app.models import Session
from sessions_app.pipeline import get_default_pipeline
from sessions_app.services.guards import is_writable
from sessions_app.services.lifecycle import delete_in_batches
from sessions_app.services.representations import SESSION_FIELDS
from sessions_app.services.sessions import delete_session, update_details
from sessions_app.services.ttl import set_expiry, update_metadata, valid_expiry
from sessions_app.session_config import SessionConfig
from sessions_app.validation import json_object

DETAILS = ("name", "description")  # config fields kept in columns
EDITABLE = (*DETAILS, "metadata", "expires_at")
# The session document's fields as the model names them (its user_id is external_user_id;
# its cost is shown by ``cost``, "unknown" rather than a raw 0), then what only staff see: the
# stored limit, the history, the client and provider health.
ADMIN_NAMES = {"user_id": "external_user_id", "estimated_cost": "cost"}
DETAIL_FIELDS: tuple[str, ...] = (
    *(ADMIN_NAMES.get(name, name) for name in SESSION_FIELDS),
    "max_messages",
    "message_history",
    "ip_address",
    "user_agent",
    "provider_calls",
    "provider_errors",
)


def _form_error(exc: SessionError) -> forms.ValidationError:
    return forms.ValidationError(exc.message, code=exc.error_code)


class BoundedJSONField(forms.JSONField):
    """Django's JSON form field, with text nested past the decoder's stack an error too."""

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except RecursionError:
            raise forms.ValidationError("Nested too deeply.", code="json_too_deep") from None


class SessionChangeForm(forms.ModelForm):
    """Checks each editable field with the rule the service that saves it applies."""

    class Meta:
        model = Session
        fields = EDITABLE
        field_classes = {"metadata": BoundedJSONField}

    def clean_metadata(self) -> dict[str, Any]:
        try:
            return json_object(self.cleaned_data.get("metadata"), "metadata")
        except SessionError as exc:
            raise _form_error(exc) from None

    def clean_expires_at(self) -> Any:
        try:
            return valid_expiry(self.cleaned_data.get("expires_at"))
        except SessionError as exc:
            raise _form_error(exc) from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            SessionConfig.from_dict({name: cleaned[name] for name in DETAILS if name in cleaned})
        except SessionError as exc:
            raise _form_error(exc) from None
        return cleaned


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    form = SessionChangeForm
    list_display = (
        "id",
        "sandbox",
        "external_user_id",
        "user",
        "status",
        "provider",
        "model",
        "message_count",
        "last_activity",
        "expires_at",
    )
    list_filter = ("status", "provider", "sandbox")
    search_fields = ("=id", "external_user_id", "name")
    list_select_related = ("sandbox", "user")
    fields = DETAIL_FIELDS
    inlines = [MessageInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return tuple(name for name in DETAIL_FIELDS if name not in EDITABLE)

    @admin.display(description="Message history")
    def message_history(self, session: Session) -> SafeString:
        return history_link(session, self.admin_site.name)

    @admin.display(description="Cost status")
    def cost_status(self, session: Session) -> str:
        return cost_status(session.priced_replies, session.unpriced_replies)

    @admin.display(description="Estimated cost")
    def cost(self, session: Session) -> str:
        known, _ = reported_cost(
            session.estimated_cost, session.priced_replies, session.unpriced_replies
        )
        return "unknown" if known is None else f"{known:.6f}"

    @admin.display(description="Tags")
    def tags(self, session: Session) -> str:
        return ", ".join(session.tags)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A session needs a secret key, which only the service layer issues.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or is_writable(obj))

    def save_model(self, request: HttpRequest, obj: Session, form: Any, change: bool) -> None:
        # The change view runs in one transaction, so these writes land together or not at all.
        changed = set(form.changed_data)
        details = {name: form.cleaned_data[name] for name in DETAILS if name in changed}
        if details:
            update_details(obj, config=details)
        if "metadata" in changed:
            update_metadata(obj, form.cleaned_data["metadata"], merge=False)
        if "expires_at" in changed:
            set_expiry(obj, form.cleaned_data["expires_at"])

    def delete_model(self, request: HttpRequest, obj: Session) -> None:
        # Already gone (deleted meanwhile) is the outcome asked for.
        with suppress(SessionNotFoundError):
            delete_session(obj, pipeline=get_default_pipeline(), hard=True)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Session]) -> None:
        delete_in_batches(queryset, get_default_pipeline())
