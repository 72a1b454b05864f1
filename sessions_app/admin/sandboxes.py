"""Sandboxes (tenants): their defaults and members."""

from __future__ import annotations

from django.contrib import admin

from sessions_app.models import Sandbox


@admin.register(Sandbox)
class SandboxAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "default_ttl", "default_provider", "created_at")
    search_fields = ("slug", "name")
    filter_horizontal = ("members",)
