"""A pipeline: the message middleware and lifecycle hooks one manager uses."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.utils.module_loading import import_string

from sessions_app.conf import app_settings
from sessions_app.exceptions import ConfigurationError, MiddlewareError, SessionError
from sessions_app.pipeline.adapters import RunState, Step, adapt, middleware_name
from sessions_app.pipeline.base import PipelineMessage
from sessions_app.pipeline.class_hooks import (
    EventArguments,
    HookMethod,
    hook_methods,
    is_class_hook,
)
from sessions_app.pipeline.hooks import (
    Hook,
    LifecycleEvent,
    call_hook,
    parse_event,
    send_signal,
)
from sessions_app.providers.base import Provider
from sessions_app.providers.registry import get_provider

if TYPE_CHECKING:
    from sessions_app.handle import ConversationSession
    from sessions_app.models import Session


class Pipeline:
    """Middleware run on every message, in order, and hooks fired after each event.

    ``add_middleware`` takes any of the three middleware forms (see
    :mod:`sessions_app.pipeline.adapters`); ``add_hook`` a function for one
    event, ``add_lifecycle_hook`` an object with ``on_<event>`` methods.
    """

    def __init__(
        self,
        middleware: list[Any] | None = None,
        hooks: dict[LifecycleEvent, list[Hook | HookMethod]] | None = None,
    ) -> None:
        self.middleware: list[Any] = []
        self._steps: list[Step] = []
        for each in middleware or ():
            self.add_middleware(each)
        self.hooks: dict[LifecycleEvent, list[Hook | HookMethod]] = {
            event: list(callbacks) for event, callbacks in (hooks or {}).items()
        }
        # What the ``session`` argument of middleware and hooks becomes; the async
        # facade sets its own handle class here.
        self.handle_wrapper: Callable[[ConversationSession], Any] | None = None
        # Adapters of this pipeline's manager only (e.g. given an API key in code), by name.
        self.providers: dict[str, Provider] = {}

    def copy(self) -> Pipeline:
        copied = Pipeline(self.middleware, self.hooks)
        copied.handle_wrapper = self.handle_wrapper
        copied.providers = dict(self.providers)
        return copied

    def get_provider(self, name: str | None = None) -> Provider:
        """This pipeline's own adapter called ``name``, else the process-wide one."""
        return self.providers.get(name or app_settings.DEFAULT_PROVIDER) or get_provider(name)

    def handle_for(self, session: Session) -> Any:
        """The ``session`` argument middleware and hooks get for this row."""
        from sessions_app.handle import ConversationSession

        handle = ConversationSession(session, self)
        return self.handle_wrapper(handle) if self.handle_wrapper else handle

    def add_middleware(self, middleware: Any) -> None:
        self._steps.append(adapt(middleware))
        self.middleware.append(middleware)

    def add_hook(self, event: str | LifecycleEvent, hook: Hook) -> None:
        if is_class_hook(hook):
            raise ConfigurationError(
                f"{hook!r} is a class-based lifecycle hook: register an instance with "
                "add_lifecycle_hook(hook), not as a function hook of one event."
            )
        if not callable(hook):
            raise ConfigurationError(f"Hook {hook!r} is not callable.")
        self.hooks.setdefault(parse_event(event), []).append(hook)

    def add_lifecycle_hook(self, hook: Any) -> None:
        """Register the ``on_<event>`` methods ``hook`` defines (see ``ISessionLifecycleHook``)."""
        for event, method in hook_methods(hook):
            self.hooks.setdefault(event, []).append(method)

    def run(self, message: PipelineMessage, session: Session | None = None) -> PipelineMessage:
        """Pass ``message`` through every middleware; ``session`` is its row, if at hand."""
        state = RunState(self, message.session_id, session)
        for step in self._steps:
            try:
                message = step.run(message, state)
            except SessionError:
                raise
            except Exception as exc:
                raise MiddlewareError(
                    f"{middleware_name(step.middleware)} failed: {type(exc).__name__}",
                    session_id=message.session_id,
                ) from exc
        return message

    def fire(self, event: LifecycleEvent, **data: Any) -> None:
        """Call the hooks of ``event`` in order, then send its Django signal."""
        arguments = EventArguments(data, self)
        for hook in self.hooks.get(event, ()):
            if isinstance(hook, HookMethod):
                call_hook(hook, event, functools.partial(hook.deliver, arguments))
            else:
                call_hook(hook, event, functools.partial(hook, event, **data))
        send_signal(event, data)


def build_middleware(entry: Any) -> Any:
    """A settings entry is a dotted path, or ``(dotted path, {kwargs})``."""
    try:
        path, kwargs = (entry, {}) if isinstance(entry, str) else entry
        factory: Callable[..., Any] = import_string(path)
        middleware = factory(**kwargs)
        adapt(middleware)  # refused here, at startup and in ``check``, not on a first message
        return middleware
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
