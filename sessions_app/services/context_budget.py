"""Fit a request into its provider's ``CONTEXT_BUDGET`` by leaving out the oldest dialogue.

Only the request changes: the stored history stays whole. The system prompt and the new user
message are always sent, even when they alone exceed the budget. One algorithm serves the sync
and the async turn: it is a generator that yields each request it needs counted and is sent
the ``TokenCount`` (``fit`` counts with ``count_tokens``, ``afit`` awaits ``acount_tokens``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from sessions_app.providers import ChatMessage, CompletionRequest, Provider
from sessions_app.providers.base import (
    MESSAGE_OVERHEAD_TOKENS,
    TokenCount,
    estimate_text_tokens,
    estimate_tokens,
)

logger = logging.getLogger(__name__)

# Yields a request to count, is sent its count, returns the fitted request and its record.
Fitting = Generator[CompletionRequest, TokenCount, "Fitted"]


@dataclass(frozen=True)
class Fitted:
    request: CompletionRequest
    # The reply's ``metadata["context"]``; None when the whole history was sent.
    record: dict[str, Any] | None = None


def _size_bound(request: CompletionRequest) -> int:
    """More tokens than the request can have: a byte-level tokenizer's token is at least one
    byte, so this needs no tokenizer and holds for any language."""
    texts = [message.content for message in request.messages] + [request.system or ""]
    return sum(len(text.encode()) + MESSAGE_OVERHEAD_TOKENS for text in texts)


def _groups(dialogue: list[ChatMessage]) -> list[list[ChatMessage]]:
    """The history in droppable pieces: a user message with the replies after it (and any
    replies before the first user message on their own), so what is kept still alternates."""
    groups: list[list[ChatMessage]] = []
    for message in dialogue:
        if message.role == "user" or not groups:
            groups.append([message])
        else:
            groups[-1].append(message)
    return groups


def _estimate(messages: list[ChatMessage]) -> int:
    return sum(estimate_text_tokens(m.content) + MESSAGE_OVERHEAD_TOKENS for m in messages)


def fitting(provider: Provider, request: CompletionRequest) -> Fitting:
    budget = provider.context_budget(request.model)
    if (
        budget is None
        or not request.messages
        or not provider.sends_history(request)
        or _size_bound(request) <= budget
    ):
        return Fitted(request)
    first = count = yield request
    groups, new_message = _groups(request.messages[:-1]), request.messages[-1]
    # Provider counts per message are not to be had; scale the estimate to the count instead.
    scale = count.tokens / max(1, estimate_tokens(request))
    omitted, kept = 0, request.messages
    while count.tokens > budget and groups:
        projected = count.tokens
        # At least one piece, then as many as the scaled estimate says the budget needs.
        while groups:
            group = groups.pop(0)
            omitted += len(group)
            projected -= round(_estimate(group) * scale)
            if projected <= budget:
                break
        kept = [message for group in groups for message in group] + [new_message]
        count = yield dataclasses.replace(request, messages=kept)
    if omitted == 0 and count.tokens <= budget:
        return Fitted(request)
    record: dict[str, Any] = {
        "budget": budget,
        "input_tokens": count.tokens,
        "omitted_messages": omitted,
        "omitted_tokens": max(0, first.tokens - count.tokens),
        "counted_by": count.method,
    }
    if count.tokens > budget:
        record["over_budget"] = True  # the system prompt and new message alone exceed it
    return Fitted(dataclasses.replace(request, messages=kept), record)


def _fallback(request: CompletionRequest, exc: Exception) -> TokenCount:
    # Counting is an optimisation of the request, not a reason to fail the turn.
    logger.warning("Counting tokens failed, using an estimate: %s", type(exc).__name__)
    return TokenCount(estimate_tokens(request), "estimate")


def fit(provider: Provider, request: CompletionRequest) -> Fitted:
    steps = fitting(provider, request)
    try:
        asked = next(steps)
        while True:
            try:
                counted = provider.count_tokens(asked)
            except Exception as exc:
                counted = _fallback(asked, exc)
            asked = steps.send(counted)
    except StopIteration as done:
        result: Fitted = done.value
        return result


async def afit(provider: Provider, request: CompletionRequest) -> Fitted:
    steps = fitting(provider, request)
    try:
        asked = next(steps)
        while True:
            try:
                counted = await provider.acount_tokens(asked)
            except Exception as exc:
                counted = _fallback(asked, exc)
            asked = steps.send(counted)
    except StopIteration as done:
        result: Fitted = done.value
        return result
