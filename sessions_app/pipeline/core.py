"""A pipeline: the message middleware and lifecycle hooks one manager uses."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.utils.module_loading import import_string

from sessions_app.conf import app_settings
from sessions_app.exceptions import ConfigurationError, MiddlewareError, SessionError
from sessions_app.pipeline.base import MessageMiddleware, PipelineMessage
from sessions_app.pipeline.hooks import (
    Hook,
    LifecycleEvent,
    call_hook,
    parse_event,
    send_signal,
)


class Pipeline:
    def __init__(
        self,
        middleware: list[MessageMiddleware] | None = None,
        hooks: dict[LifecycleEvent, list[Hook]] | None = None,
    ) -> None:
        self.middleware = list(middleware or [])
        self.hooks: dict[LifecycleEvent, list[Hook]] = {
            event: list(callbacks) for event, callbacks in (hooks or {}).items()
        }

    def copy(self) -> Pipeline:
        return Pipeline(self.middleware, self.hooks)

    def add_middleware(self, middleware: MessageMiddleware) -> None:
        if not callable(getattr(middleware, "process", None)):
            raise ConfigurationError(
                f"{middleware!r} is not message middleware (it needs a process() method)."
            )
        self.middleware.append(middleware)

    def add_hook(self, event: str | LifecycleEvent, hook: Hook) -> None:
        if not callable(hook):
            raise ConfigurationError(f"Hook {hook!r} is not callable.")
        self.hooks.setdefault(parse_event(event), []).append(hook)

    def run(self, message: PipelineMessage) -> PipelineMessage:
        for middleware in self.middleware:
            try:
                message = middleware.process(message)
            except SessionError:
                raise
            except Exception as exc:
                raise MiddlewareError(
                    f"{type(middleware).__name__} failed: {type(exc).__name__}",
                    session_id=message.session_id,
                ) from exc
        return message

    def fire(self, event: LifecycleEvent, **data: Any) -> None:
        """Call the hooks of ``event`` in order, then send its Django signal."""
        for hook in self.hooks.get(event, ()):
            call_hook(hook, event, data)
        send_signal(event, data)


def build_middleware(entry: Any) -> MessageMiddleware:
    """A settings entry is a dotted path, or ``(dotted path, {kwargs})``."""
    try:
        path, kwargs = (entry, {}) if isinstance(entry, str) else entry
        factory: Callable[..., MessageMiddleware] = import_string(path)
        return factory(**kwargs)
    except SessionError:
        raise
    except Exception as exc:
        raise ConfigurationError(f"Cannot build message middleware {entry!r}: {exc}") from exc


def build_pipeline_from_settings() -> Pipeline:
    pipeline = Pipeline([build_middleware(entry) for entry in app_settings.MIDDLEWARE])
    for event, paths in app_settings.HOOKS.items():
        for path in paths:
            try:
                hook = import_string(path) if isinstance(path, str) else path
            except ImportError as exc:
                raise ConfigurationError(f"Cannot import hook {path!r}: {exc}") from exc
            pipeline.add_hook(event, hook)
    return pipeline


_lock = threading.Lock()
_default: Pipeline | None = None


def get_default_pipeline() -> Pipeline:
    """The pipeline built from settings, shared by code that has no manager."""
    global _default
    with _lock:
        if _default is None:
            _default = build_pipeline_from_settings()
        return _default


def reset_default_pipeline() -> None:
    global _default
    with _lock:
        _default = None
