"""System checks report misconfiguration with clear ids."""

from __future__ import annotations

import pytest

from sessions_app.checks import check_settings


def ids(settings_value, settings, **extra):
    settings.SESSIONS_APP = settings_value
    for name, value in extra.items():
        setattr(settings, name, value)
    return [error.id for error in check_settings()]


def test_project_settings_pass(settings):
    assert check_settings() == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("not a dict", "sessions_app.E001"),
        ({"NO_SUCH_SETTING": 1}, "sessions_app.E002"),
        ({"DEFAULT_PROVIDER": "openai-typo"}, "sessions_app.E003"),
        ({"PROVIDERS": {"custom": {}}, "DEFAULT_PROVIDER": "custom"}, "sessions_app.E004"),
        ({"PROVIDERS": {"mock": {"BACKEND": "nowhere.Provider"}}}, "sessions_app.E005"),
        ({"CACHE_ALIAS": "missing"}, "sessions_app.E006"),
        ({"MIDDLEWARE": ["nowhere.Middleware"]}, "sessions_app.E007"),
        ({"HOOKS": {"session_exploded": []}}, "sessions_app.E008"),
        ({"HOOKS": {"session_created": ["nowhere.hook"]}}, "sessions_app.E009"),
        ({"MAX_MESSAGE_CHARS": 0}, "sessions_app.E010"),
        ({"DEFAULT_TTL": -1}, "sessions_app.E011"),
        ({"PROVIDERS": ["mock"]}, "sessions_app.E012"),
        ({"PROVIDERS": {"mock": "fast"}}, "sessions_app.E012"),
        ({"MIDDLEWARE": "sessions_app.pipeline.LoggingMiddleware"}, "sessions_app.E012"),
        ({"HOOKS": {"session_created": "a.b"}}, "sessions_app.E009"),
        ({"PROVIDERS": {"mock": {"OPTIONS": {"delay": -1}}}}, "sessions_app.E013"),
        (
            {"MIDDLEWARE": [("sessions_app.pipeline.RateLimitMiddleware", {"bogus": 1})]},
            "sessions_app.E014",
        ),
        ({"DEFAULT_SANDBOX": "bad sandbox!"}, "sessions_app.E015"),
        ({"CACHE_TIMEOUT": "x"}, "sessions_app.E010"),
        ({"PURGE_AFTER": -5}, "sessions_app.E010"),
        ({"IDLE_TIMEOUT": 0}, "sessions_app.E011"),
        ({"ABSOLUTE_TIMEOUT": "30d"}, "sessions_app.E011"),
        ({"TRUSTED_PROXY_HEADER": "X-Forwarded-For"}, "sessions_app.E016"),
    ],
)
def test_misconfiguration_is_reported(settings, value, expected):
    assert expected in ids(value, settings)


def test_check_runs_through_manage_py(settings):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.SESSIONS_APP = {"CACHE_ALIAS": "missing"}
    with pytest.raises(SystemCheckError, match=r"sessions_app\.E006"):
        call_command("check")
