"""Admin pages. Sessions are created and driven through the service layer; here staff
inspect them, and may change only descriptive fields and the expiry."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from sessions_app.models import Context, Message, Sandbox, Session


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
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
    search_fields = ("=id", "external_user_id", "name")
    list_select_related = ("sandbox", "user")
    fields = (
        "id",
        "sandbox",
        "user",
        "external_user_id",
        "status",
        "provider",
        "model",
        "name",
        "description",
        "metadata",
        "config",
        "max_messages",
        "ip_address",
        "user_agent",
        "created_at",
        "last_activity",
        "expires_at",
        "message_count",
        "input_tokens",
        "output_tokens",
        "provider_calls",
        "provider_errors",
        "estimated_cost",
    )
    editable = ("name", "description", "metadata", "expires_at")
    inlines = [MessageInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return tuple(name for name in self.fields if name not in self.editable)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A session needs a secret key, which only the service layer issues.
        return False

    def save_model(self, request: HttpRequest, obj: Session, form: Any, change: bool) -> None:
        obj.save(update_fields=[name for name in form.changed_data if name in self.editable])


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("session", "seq", "role", "status", "created_at")
    list_filter = ("role", "status")


@admin.register(Context)
class ContextAdmin(ReadOnlyAdmin):
    list_display = ("session", "version", "updated_at")
