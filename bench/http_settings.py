"""Bench-only settings for ``bench_http.py``: the demo settings with one session set-up.

Read from the environment (set by ``bench_http.py`` for each gunicorn it starts):

* ``BENCH_SESSION_MIDDLEWARE``: dotted path of the session middleware; empty = none;
* ``BENCH_SESSION_ENGINE``: ``SESSION_ENGINE``;
* ``BENCH_SESSION_CACHE``: cache alias for ``SESSION_CACHE_ALIAS`` (Django's ``cache`` and
  ``cached_db``) and ``SESSIONS_APP["CACHE_ALIAS"]`` (ours); empty = no cache for ours.

The middleware list holds only the session middleware, so a request measures the session
work and little else. ``DEBUG`` is off so Django does not record every query.
"""

from __future__ import annotations

import os

from project.settings import *  # noqa: F403
from project.settings import SESSIONS_APP as PROJECT_SESSIONS_APP

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "http_urls"
WSGI_APPLICATION = "http_wsgi.application"

_middleware = os.environ.get("BENCH_SESSION_MIDDLEWARE", "")
MIDDLEWARE = [_middleware] if _middleware else []
SESSION_ENGINE = os.environ.get("BENCH_SESSION_ENGINE", "django.contrib.sessions.backends.db")
_cache_alias = os.environ.get("BENCH_SESSION_CACHE", "") or None
SESSION_CACHE_ALIAS = _cache_alias or "default"
SESSIONS_APP = {**PROJECT_SESSIONS_APP, "CACHE_ALIAS": _cache_alias}
