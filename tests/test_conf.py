"""``app_settings``: one typed attribute per setting, following changes of ``SESSIONS_APP``."""

from __future__ import annotations

from django.core.checks import run_checks

from sessions_app.conf import DEFAULTS, AppSettings, app_settings


def test_every_default_has_its_attribute():
    assert {name for name in vars(AppSettings) if name.isupper()} == set(DEFAULTS)


def test_unset_settings_read_as_their_defaults(settings):
    settings.SESSIONS_APP = {}
    assert app_settings.HEADER_NAME == "X-Session-ID"
    assert app_settings.CACHE_ALIAS is None


def test_a_change_applies_at_once(settings):
    assert app_settings.HEADER_NAME == "X-Session-ID"
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "HEADER_NAME": "X-Chat-Key"}
    assert app_settings.HEADER_NAME == "X-Chat-Key"


def test_throttle_rates_are_overridden_scope_by_scope(settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "THROTTLE_RATES": {"anon": "1/min"}}
    rates = app_settings.THROTTLE_RATES
    assert rates == {"user": "600/min", "anon": "1/min", "session": "120/min"}


def test_a_wrong_type_is_left_for_the_system_check(settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "THROTTLE_RATES": ["1/min"]}
    assert app_settings.THROTTLE_RATES == ["1/min"]
    assert "sessions_app.E012" in {error.id for error in run_checks()}
