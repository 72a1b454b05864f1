"""Messages, read-only: the newest few inline on their session, the whole history paginated."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from sessions_app.admin.base import ReadOnlyAdmin
from sessions_app.models import Message, Session
from sessions_app.services.history import message_history

# The changelist lookup that lists one session's messages (allowed: the session's primary key).
SESSION_LOOKUP = "session__id__exact"


class LatestMessagesFormSet(BaseInlineFormSet):
    """The session's newest ``latest`` messages, oldest first (``latest`` is the inline's)."""

    latest: int

    def get_queryset(self) -> QuerySet[Message]:
        if not hasattr(self, "_queryset"):
            self._queryset = message_history(self.instance, limit=self.latest)
        return self._queryset


class MessageInline(admin.TabularInline):
    """A bounded view: a long conversation would otherwise render every message at once."""

    model = Message
    formset = LatestMessagesFormSet
    latest = 20
    extra = 0
    can_delete = False
    fields = ("seq", "role", "content", "status", "input_tokens", "output_tokens", "created_at")
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "latest messages"

    def get_formset(
        self, request: HttpRequest, obj: Any = None, **kwargs: Any
    ) -> type[LatestMessagesFormSet]:
        formset = super().get_formset(request, obj, **kwargs)
        assert issubclass(formset, LatestMessagesFormSet)
        formset.latest = self.latest
        return formset

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def history_link(session: Session, site_name: str) -> SafeString:
    """A link to the session's whole history in the paginated Message changelist."""
    url = reverse(f"{site_name}:sessions_app_message_changelist")
    count = session.message_count
    return format_html(
        '<a href="{}?{}">View all {} message{}</a>',
        url,
        urlencode({SESSION_LOOKUP: str(session.pk)}),
        count,
        "" if count == 1 else "s",
    )


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("session", "seq", "role", "status", "created_at")
    list_filter = ("role", "status")
    list_select_related = ("session",)
    list_per_page = 50
