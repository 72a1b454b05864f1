"""Live lifecycle events of one manager, as an async iterator (the guide's ``session_events``)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from sessions_app.pipeline import LifecycleEvent, Pipeline

logger = logging.getLogger("sessions_app.events")

PREVIEW_CHARS = 100
# A subscriber that stops reading must not make the process hoard events.
QUEUE_SIZE = 1000


@dataclass(frozen=True)
class SessionEvent:
    """One lifecycle event: ``type`` is the event name (``session_created``, ``message_sent``…)."""

    type: str
    session_id: str
    timestamp: datetime
    message_preview: str = ""
    data: dict[str, Any] = field(default_factory=dict, repr=False)


def _event_of(event: LifecycleEvent, data: dict[str, Any]) -> SessionEvent:
    message = data.get("message")
    preview = message.content[:PREVIEW_CHARS] if message is not None else ""
    return SessionEvent(
        type=event.value,
        session_id=str(data.get("session_id", "")),
        timestamp=timezone.now(),
        message_preview=preview,
        data=data,
    )


class EventFeed:
    """Fans a pipeline's events out to the subscribers' queues, from whatever thread fires them.

    Events of operations made through this pipeline (its manager and its sessions) only.
    """

    def __init__(self, pipeline: Pipeline) -> None:
        self._lock = threading.Lock()
        self._queues: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[SessionEvent]]] = set()
        for event in LifecycleEvent:
            pipeline.add_hook(event, self._publish)

    def _publish(self, event: LifecycleEvent, **data: Any) -> None:
        with self._lock:
            subscribers = list(self._queues)
        if not subscribers:
            return
        published = _event_of(event, data)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(_offer, queue, published)
            except RuntimeError:  # that subscriber's loop is closed
                self._forget(loop, queue)

    def _forget(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[SessionEvent]) -> None:
        with self._lock:
            self._queues.discard((loop, queue))

    def subscribe(self) -> Subscription:
        """Events from now on: the subscription starts here, not at the first read."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[SessionEvent] = asyncio.Queue(QUEUE_SIZE)
        with self._lock:
            self._queues.add((loop, queue))
        return Subscription(self, loop, queue)


class Subscription(AsyncIterator[SessionEvent]):
    """``async for event in subscription``; ``await subscription.aclose()`` ends it."""

    def __init__(
        self,
        feed: EventFeed,
        loop: asyncio.AbstractEventLoop,
        queue: asyncio.Queue[SessionEvent],
    ) -> None:
        self._feed, self._loop, self._queue = feed, loop, queue

    async def __anext__(self) -> SessionEvent:
        return await self._queue.get()

    async def aclose(self) -> None:
        self._feed._forget(self._loop, self._queue)

    def __del__(self) -> None:
        self._feed._forget(self._loop, self._queue)


def _offer(queue: asyncio.Queue[SessionEvent], event: SessionEvent) -> None:
    if queue.full():  # a reader far behind loses the newest events, not the process memory
        logger.warning("A session_events() reader is %d events behind; dropping one", QUEUE_SIZE)
    else:
        queue.put_nowait(event)
