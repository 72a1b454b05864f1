"""The HTTP session behind ``request.session``: a Session row found by the hash of its key.

- ``engine``: ``SessionStore``, the session engine (``SESSION_ENGINE = "sessions_app.engine"``).
- ``middleware``: Django's session middleware plus the key in a header
  (``"sessions_app.middleware.SessionMiddleware"``).
- ``entry_cache``, ``cache_keys``, ``revocations``: the engine's path to the cache,
  and the keys that must never be served from it again.
- ``request_info``: the client's address (one rule: ``TRUSTED_PROXY_HEADER``) and user agent.
- ``login``: signing in links the session to the user and the client.

The storage work is ``sessions_app.services.http_sessions``. ``sessions_app.engine`` and
``sessions_app.middleware`` stay the documented dotted paths; they re-export from here.
Importing this package imports none of its modules (the engine is imported before
apps are ready).
"""
