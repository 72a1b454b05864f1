from __future__ import annotations

import pytest

from tests.docs.pages import close_worker_connections


@pytest.fixture
def api_token(transactional_db) -> str:
    """The token the README's walk-through reads from ``$TOKEN``, of the demo's ``admin``."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    admin = get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
    return Token.objects.create(user=admin).key


@pytest.fixture
def example_namespace(transactional_db):
    """What a reader's ``manage.py shell`` starts with; its examples' worker connections are
    closed afterwards. Transactional, as in a shell: asyncio.run examples write from
    another thread."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    yield namespace
    close_worker_connections()
