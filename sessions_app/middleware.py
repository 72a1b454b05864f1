"""The documented dotted path ``"sessions_app.middleware.SessionMiddleware"``.

Projects list the middleware in ``MIDDLEWARE`` by this path; it lives in
``sessions_app.http.middleware``.
"""

from sessions_app.http.middleware import SessionMiddleware

__all__ = ["SessionMiddleware"]
