"""What a provider is asked: the recent history, system prompt and options of a session."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import JSONField, Subquery

from sessions_app.conf import app_settings
from sessions_app.models import Context, Message, MessageRole, MessageStatus, Session
from sessions_app.providers import ChatMessage, CompletionRequest, Provider
from sessions_app.services.provider_state import keeps_state, latest_provider_state, state_of

Rows = list[tuple[Any, ...]]
# The system_context entry that is the system prompt itself rather than context for it.
SYSTEM_PROMPT_KEY = "system_prompt"


def _recent_history(session: Session) -> tuple[Rows, Rows]:
    """(content,) of recent system messages and (role, content, provider_metadata,
    system_context) of the recent conversation, each ascending; plain tuples, since this runs
    on every turn. The session's ``system_context`` rides along on each dialogue row (an
    uncorrelated subquery, evaluated once) so that reading it costs no query of its own."""
    limit = app_settings.HISTORY_LIMIT
    messages = Message.objects.filter(session=session).exclude(status=MessageStatus.ERROR)
    system = messages.filter(role=MessageRole.SYSTEM).order_by("-seq").values_list("content")
    system_context = Context.objects.filter(session_id=session.pk).values("system_context")
    dialogue = (
        messages.exclude(role=MessageRole.SYSTEM)
        .annotate(system_context=Subquery(system_context, output_field=JSONField()))
        .order_by("-seq")
        .values_list("role", "content", "provider_metadata", "system_context")
    )
    return list(reversed(system[:limit])), list(reversed(dialogue[:limit]))


def _rendered(value: Any) -> str:
    return (
        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    )


def system_prompt(system_context: dict[str, Any], system_messages: list[str]) -> str | None:
    """``system_context["system_prompt"]``, the session's system messages, then a
    ``Context:`` line for each other ``system_context`` entry.

    Keys are sorted (PostgreSQL's jsonb keeps no order), so the same context always makes the
    same prompt, which a provider's prompt cache can then reuse."""
    context = dict(system_context)
    prompt = context.pop(SYSTEM_PROMPT_KEY, None)
    parts = [prompt] if isinstance(prompt, str) and prompt else []
    if prompt is not None and not parts:
        context[SYSTEM_PROMPT_KEY] = prompt  # not text: context like any other entry
    parts += system_messages
    if context:
        lines = (f"Context: {key}: {_rendered(context[key])}" for key in sorted(context))
        parts.append("\n".join(lines))
    return "\n\n".join(parts) or None


def _provider_state(session: Session, provider: Provider, dialogue: Rows) -> dict[str, Any]:
    """The latest non-empty reply state: from the rows in hand, else (a longer history whose
    recent replies kept none, with a provider that keeps state) by one more query."""
    states = (state_of(meta) for role, _, meta, _ in reversed(dialogue) if role == "assistant")
    state = next((state for state in states if state), None)
    if state is None and len(dialogue) >= app_settings.HISTORY_LIMIT and keeps_state(provider):
        return latest_provider_state(session)
    return state or {}


def build_request(session: Session, provider: Provider) -> CompletionRequest:
    system, dialogue = _recent_history(session)
    state = _provider_state(session, provider, dialogue)
    system_context = (dialogue[0][3] if dialogue else None) or {}
    return CompletionRequest(
        model=session.model or provider.default_model,
        messages=[ChatMessage(role=role, content=content) for role, content, _, _ in dialogue],
        system=system_prompt(system_context, [content for (content,) in system]),
        max_tokens=session.config.get("max_tokens_per_message"),
        provider_state=state,
        options=session.config.get("provider_config") or {},
        session_id=str(session.pk),
    )
