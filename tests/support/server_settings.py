"""Settings of the server processes started by ``tests/test_api_servers.py``.

The demo settings plus a mock provider that streams slowly, so a test can see
deltas arrive one by one and can hang up while a reply is being generated.
"""

import os

from project.settings import *  # noqa: F403
from project.settings import CACHES, SESSIONS_APP

SLOW_PROVIDER = "slow-mock"
SLOW_DELAY = 2.0  # seconds for a whole reply, spread evenly over its chunks

SESSIONS_APP = {
    **SESSIONS_APP,
    "PROVIDERS": {
        **SESSIONS_APP["PROVIDERS"],
        SLOW_PROVIDER: {
            "BACKEND": "sessions_app.providers.mock.MockProvider",
            "OPTIONS": {"delay": SLOW_DELAY, "stream_chunk_words": 1},
        },
    },
}

# Throttle counters and cached sessions must not meet those of another run in the same Redis.
CACHES = {
    **CACHES,
    "default": {
        **CACHES["default"],
        "KEY_PREFIX": os.environ.get("SERVER_TEST_CACHE_PREFIX", "srv"),
    },
}
