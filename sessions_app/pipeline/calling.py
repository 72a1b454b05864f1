"""Calling user code that may be sync or ``async def`` from the pipeline's sync code."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import Any

from asgiref.sync import async_to_sync


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def resolve(result: Any) -> Any:
    """``result`` itself, or what it resolves to when it is awaitable (a coroutine's value)."""
    if inspect.isawaitable(result):
        # async_to_sync also works inside sync_to_async threads: it runs on the outer loop.
        return async_to_sync(_awaited)(result)
    return result


def defines(obj: object, name: str, bases: tuple[type, ...]) -> bool:
    """Whether ``obj`` has a callable ``name`` of its own, not one inherited from ``bases``."""
    if not callable(getattr(obj, name, None)):
        return False
    if name in getattr(obj, "__dict__", {}):
        return True
    own = getattr(type(obj), name, None)
    return own is None or not any(getattr(base, name, None) is own for base in bases)
