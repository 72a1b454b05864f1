"""Bench-only settings for ``bench_api.py``: the HTTP bench settings serving the REST API.

``http_settings`` with no session middleware (the API authenticates by itself: token or
``X-Session-ID``), ``DEBUG`` off, the URLconf ``api_urls`` (the API and a bare JSON view), the
project's ``SESSIONS_APP`` (cache alias included) and no throttling, so that the rate limits
do not cap the figures.
"""

from __future__ import annotations

from http_settings import *  # noqa: F403

from project.settings import SESSIONS_APP as PROJECT_SESSIONS_APP

ROOT_URLCONF = "api_urls"
SESSIONS_APP = {
    **PROJECT_SESSIONS_APP,
    "THROTTLE_RATES": {"user": None, "anon": None, "session": None},
}
