"""The documented dotted path ``SESSION_ENGINE = "sessions_app.engine"``.

Django imports the engine by this module path and takes its ``SessionStore``;
the engine itself lives in ``sessions_app.http.engine``.
"""

from sessions_app.http.engine import SessionStore

__all__ = ["SessionStore"]
