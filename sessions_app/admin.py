"""Admin registrations; every change goes through the model's own fields, nothing custom yet."""

from __future__ import annotations

from django.contrib import admin

from sessions_app.models import Context, Message, Sandbox, Session


@admin.register(Sandbox)
class SandboxAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "default_ttl", "default_provider", "created_at")
    search_fields = ("slug", "name")
    filter_horizontal = ("members",)


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    can_delete = False
    fields = ("seq", "role", "content", "status", "input_tokens", "output_tokens", "created_at")
    readonly_fields = fields
    ordering = ("seq",)
    show_change_link = True

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
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
    search_fields = ("id", "external_user_id", "name")
    list_select_related = ("sandbox", "user")
    readonly_fields = (
        "id",
        "created_at",
        "last_activity",
        "message_count",
        "input_tokens",
        "output_tokens",
        "provider_calls",
        "provider_errors",
        "estimated_cost",
    )
    exclude = ("key_hash", "session_data")
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("session", "seq", "role", "status", "created_at")
    list_filter = ("role", "status")
    readonly_fields = ("session", "seq", "created_at")


@admin.register(Context)
class ContextAdmin(admin.ModelAdmin):
    list_display = ("session", "version", "updated_at")
    readonly_fields = ("session", "version", "updated_at")
