"""System checks report misconfiguration with clear ids, each unique and documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.checks import WARNING

from sessions_app import checks
from sessions_app.checks import check_settings

ROOT = Path(__file__).resolve().parents[1]
CHECK_ID = re.compile(r"sessions_app\.[EW]\d{3}")


def ids(settings_value, settings, **extra):
    settings.SESSIONS_APP = settings_value
    for name, value in extra.items():
        setattr(settings, name, value)
    return [error.id for error in check_settings()]


def test_project_settings_pass(settings):
    assert check_settings() == []


MISCONFIGURATIONS = [
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
    ({"PROVIDERS": {"mock": "fast"}}, "sessions_app.E019"),
    ({"MIDDLEWARE": "sessions_app.pipeline.LoggingMiddleware"}, "sessions_app.E012"),
    ({"HOOKS": {"session_created": "a.b"}}, "sessions_app.E018"),
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
    ({"THROTTLE_RATES": {"user": "lots"}}, "sessions_app.E017"),
    ({"THROTTLE_RATES": {"robots": "1/s"}}, "sessions_app.E017"),
    ({"LOCK_TIMEOUT": 0}, "sessions_app.E020"),
    ({"LOCK_TIMEOUT": 2**31}, "sessions_app.E020"),
    ({"LOCK_TIMEOUT": "5s"}, "sessions_app.E020"),
    ({"HOOKS": {"session_created": ["sessions_app.pipeline.MetricsHook"]}}, "sessions_app.E021"),
]


@pytest.mark.parametrize(("value", "expected"), MISCONFIGURATIONS)
def test_misconfiguration_is_reported(settings, value, expected):
    assert expected in ids(value, settings)


UNSHARED_CACHES = [
    ("django.core.cache.backends.locmem.LocMemCache", "LocMemCache, which lives in one process"),
    ("django.core.cache.backends.dummy.DummyCache", "DummyCache, which keeps nothing"),
]


@pytest.mark.parametrize(("backend", "reason"), UNSHARED_CACHES)
def test_a_cache_other_processes_cannot_see_is_a_warning(settings, backend, reason):
    settings.CACHES = {**settings.CACHES, "sessions": {"BACKEND": backend}}
    settings.SESSIONS_APP = {"CACHE_ALIAS": "sessions"}

    [warning] = check_settings()

    assert (warning.id, warning.level) == ("sessions_app.W001", WARNING)
    assert reason in warning.msg
    assert "django-redis" in warning.hint


def test_a_shared_cache_is_no_warning(settings):
    settings.CACHES = {
        **settings.CACHES,
        "sessions": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://h:1/0"},
    }
    settings.SESSIONS_APP = {"CACHE_ALIAS": "sessions"}
    assert check_settings() == []


def test_check_runs_through_manage_py(settings):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.SESSIONS_APP = {"CACHE_ALIAS": "missing"}
    with pytest.raises(SystemCheckError, match=r"sessions_app\.E006"):
        call_command("check")


def emitted_ids() -> list[str]:
    """Every id written in checks.py, once per place that can report it."""
    source = Path(checks.__file__).read_text()
    return re.findall(rf'id="({CHECK_ID.pattern})"', source)


def documented_ids() -> list[str]:
    """The ids listed (one per line) in the "System checks" section of the architecture doc."""
    doc = (ROOT / "docs" / "architecture.md").read_text()
    section = doc.split("## System checks", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"^- `({CHECK_ID.pattern})` — \S", section, flags=re.MULTILINE)


def test_each_check_id_names_one_error():
    found = emitted_ids()
    assert found, "no check ids found in checks.py"
    assert sorted(found) == sorted(set(found))


def test_every_check_id_is_documented_once():
    assert sorted(documented_ids()) == sorted(emitted_ids())


def test_every_check_id_has_a_misconfiguration_that_reports_it():
    warned = {"sessions_app.W001"}  # test_a_cache_other_processes_cannot_see_is_a_warning
    assert {expected for _, expected in MISCONFIGURATIONS} | warned == set(emitted_ids())
