"""Settings of the servers of ``tests/test_engine_servers.py``: the server settings plus
the session test views (``tests/support/http_urls.py``) under ``/http/``."""

from tests.support.server_settings import *  # noqa: F403

ROOT_URLCONF = "tests.support.server_urls"
