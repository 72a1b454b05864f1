"""Class-based lifecycle hooks: an object's ``on_<event>`` methods, bound by parameter name."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sessions_app.exceptions import ConfigurationError
from sessions_app.pipeline.calling import defines
from sessions_app.pipeline.hooks import LifecycleEvent
from sessions_app.pipeline.interfaces import BaseSessionLifecycleHook, ISessionLifecycleHook

if TYPE_CHECKING:
    from sessions_app.models import Session
    from sessions_app.pipeline.core import Pipeline

METHODS: dict[str, LifecycleEvent] = {
    "on_session_created": LifecycleEvent.SESSION_CREATED,
    "on_session_deleted": LifecycleEvent.SESSION_DELETED,
    "on_session_archived": LifecycleEvent.SESSION_ARCHIVED,
    "on_message_sent": LifecycleEvent.MESSAGE_SENT,
    "on_message_received": LifecycleEvent.MESSAGE_RECEIVED,
    "on_context_updated": LifecycleEvent.CONTEXT_UPDATED,
    "on_session_error": LifecycleEvent.ERROR,
}
ARGUMENTS = (
    "session_id",
    "user_id",
    "provider",
    "model",
    "session",
    "message",
    "context",
    "error",
    "changes",
    "provider_state",
)
_BASES: tuple[type, ...] = (BaseSessionLifecycleHook, ISessionLifecycleHook, object)


class EventArguments:
    """The values a hook method may ask for, each computed once per event and on demand."""

    def __init__(self, data: dict[str, Any], pipeline: Pipeline) -> None:
        self.data = data
        self.pipeline = pipeline
        self._values: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        if name not in self._values:
            self._values[name] = self._compute(name)
        return self._values[name]

    def _compute(self, name: str) -> Any:
        if name in ("message", "error", "changes", "session_id", "provider_state"):
            return self.data.get(name)
        if name == "context" and self.data.get("context") is not None:
            return self.data["context"]
        if name == "row":
            return self._row()
        row = self.get("row")
        if name == "session":
            return self.pipeline.handle_for(row) if row is not None else None
        if name == "context":
            return self._context(row)
        attribute = {"user_id": "external_user_id", "provider": "provider", "model": "model"}
        return (getattr(row, attribute[name]) or None) if row is not None else None

    def _row(self) -> Session | None:
        # Events carry the row (None after a batch delete); the context event does not.
        if "session" in self.data:
            return self.data["session"]  # type: ignore[no-any-return]
        from sessions_app.models import Session

        return Session.objects.filter(pk=self.data["session_id"]).first()

    @staticmethod
    def _context(row: Session | None) -> Any:
        if row is None:
            return None
        from sessions_app.services.context import get_context

        return get_context(row)


class HookMethod:
    """One ``on_<event>`` method of a hook object and the arguments it takes."""

    def __init__(self, method: Callable[..., Any]) -> None:
        self.method = method
        self.positional, self.keywords = _parameters(method)

    def __repr__(self) -> str:
        return f"<hook {getattr(self.method, '__qualname__', self.method)!r}>"

    def deliver(self, arguments: EventArguments) -> Any:
        return self.method(
            *(arguments.get(name) for name in self.positional),
            **{name: arguments.get(name) for name in self.keywords},
        )


def _parameters(method: Callable[..., Any]) -> tuple[list[str], list[str]]:
    positional: list[str] = []
    keywords: list[str] = []
    for parameter in inspect.signature(method).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.name not in ARGUMENTS:
            if parameter.default is parameter.empty:
                raise ConfigurationError(
                    f"Hook method {getattr(method, '__qualname__', method)}() needs "
                    f"{parameter.name!r}; hook methods may take {', '.join(ARGUMENTS)}."
                )
            continue
        (positional if parameter.kind == parameter.POSITIONAL_ONLY else keywords).append(
            parameter.name
        )
    return positional, keywords


def is_class_hook(hook: Any) -> bool:
    """Whether ``hook`` (an object or a class) has the documents' ``on_<event>`` methods."""
    return any(hasattr(hook, name) for name in METHODS)


def hook_methods(hook: Any) -> list[tuple[LifecycleEvent, HookMethod]]:
    """The events ``hook`` handles (methods it defines itself); refuses one that handles none."""
    if isinstance(hook, type):
        raise ConfigurationError(f"Register an instance of {hook.__name__}, not the class.")
    found = [
        (event, HookMethod(getattr(hook, name)))
        for name, event in METHODS.items()
        if defines(hook, name, _BASES)
    ]
    if not found:
        raise ConfigurationError(
            f"{hook!r} is not a lifecycle hook: it defines none of {', '.join(METHODS)}. "
            "A function hook is registered with add_lifecycle_hook(event, hook)."
        )
    return found
