"""One home for sessions in Django: HTTP, TTL/tenant and conversational-AI sessions.

The main names are importable from the package once Django is set up
(``from sessions_app import SessionManager``); they load lazily so that
listing the app in ``INSTALLED_APPS`` imports nothing else.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "SessionManager": "sessions_app.manager",
    "ConversationSession": "sessions_app.handle",
    "SessionConfig": "sessions_app.session_config",
    "LifecycleEvent": "sessions_app.pipeline",
    "MessageMiddleware": "sessions_app.pipeline",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sessions_app' has no attribute {name!r}")
