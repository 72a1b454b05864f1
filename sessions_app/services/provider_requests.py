"""What a provider is asked: the recent history, system prompt and options of a session."""

from __future__ import annotations

from typing import Any

from sessions_app.conf import app_settings
from sessions_app.models import Message, MessageRole, MessageStatus, Session
from sessions_app.providers import ChatMessage, CompletionRequest, Provider

Rows = list[tuple[Any, ...]]


def _recent_history(session: Session) -> tuple[Rows, Rows]:
    """(content,) of recent system messages and (role, content, provider_metadata) of the
    recent conversation, each ascending; plain tuples, since this runs on every turn."""
    limit = app_settings.HISTORY_LIMIT
    messages = Message.objects.filter(session=session).exclude(status=MessageStatus.ERROR)
    system = messages.filter(role=MessageRole.SYSTEM).order_by("-seq").values_list("content")
    dialogue = (
        messages.exclude(role=MessageRole.SYSTEM)
        .order_by("-seq")
        .values_list("role", "content", "provider_metadata")
    )
    return list(reversed(system[:limit])), list(reversed(dialogue[:limit]))


def build_request(session: Session, provider: Provider) -> CompletionRequest:
    system, dialogue = _recent_history(session)
    state: dict[str, Any] = next(
        (meta.get("state", {}) for role, _, meta in reversed(dialogue) if role == "assistant"), {}
    )
    return CompletionRequest(
        model=session.model or provider.default_model,
        messages=[ChatMessage(role=role, content=content) for role, content, _ in dialogue],
        system="\n\n".join(content for (content,) in system) or None,
        max_tokens=session.config.get("max_tokens_per_message"),
        provider_state=state,
        options=session.config.get("provider_config") or {},
    )
