"""Contexts, read-only: they change only through the context service's compare-and-swap."""

from __future__ import annotations

from django.contrib import admin

from sessions_app.admin.base import ReadOnlyAdmin
from sessions_app.models import Context


@admin.register(Context)
class ContextAdmin(ReadOnlyAdmin):
    list_display = ("session", "version", "updated_at")
    list_select_related = ("session",)
