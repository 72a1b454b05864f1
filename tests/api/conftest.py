"""Fixtures of the API tests: users, sandboxes, clients; throttles off unless a test sets rates."""

from __future__ import annotations

import pytest
from django.core.cache import caches

from sessions_app.models import Sandbox
from tests.support.api import client_for

NO_LIMITS = {"user": None, "anon": None, "session": None}


@pytest.fixture(autouse=True)
def _api_settings(db, settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "THROTTLE_RATES": NO_LIMITS}
    yield
    caches["default"].clear()


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="pw-alice")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="pw-bob")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("staff", password="pw-staff", is_staff=True)


@pytest.fixture
def team(alice, bob):
    """A sandbox alice belongs to and bob does not."""
    sandbox = Sandbox.objects.create(slug="team", name="Team")
    sandbox.members.add(alice)
    return sandbox


@pytest.fixture
def as_alice(alice):
    return client_for(alice)


@pytest.fixture
def as_bob(bob):
    return client_for(bob)


@pytest.fixture
def as_staff(staff):
    return client_for(staff)
