"""Async twins: one sync implementation, awaited from async code in a worker thread."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import sync_to_async

P = ParamSpec("P")
R = TypeVar("R")


def async_twin(method: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``aname = async_twin(name)``: the ORM work runs via ``sync_to_async``."""

    @functools.wraps(method)
    async def twin(*args: Any, **kwargs: Any) -> R:
        return await sync_to_async(method)(*args, **kwargs)

    twin.__name__ = twin.__qualname__ = f"a{method.__name__}"
    twin.__doc__ = f"Async twin of ``{method.__name__}``."
    return twin
