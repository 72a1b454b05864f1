"""System checks report misconfiguration with clear ids, each unique and documented."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest
from django.core.checks import WARNING

from sessions_app import checks, db_locks
from sessions_app.checks import check_settings
from sessions_app.providers.mock import MockProvider

ROOT = Path(__file__).resolve().parents[1]
CHECK_ID = re.compile(r"sessions_app\.[EW]\d{3}")


@pytest.fixture(autouse=True)
def no_lock_timeout_query(monkeypatch):
    # Changing settings.SESSIONS_APP re-applies LOCK_TIMEOUT to open PostgreSQL connections:
    # a query, refused outside a database test, and an error for the invalid values below.
    monkeypatch.setattr(db_locks, "reapply_lock_timeout", lambda: None)


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
    ({"PROVIDERS": {"mock": {"CONTEXT_BUDGET": 0}}}, "sessions_app.E022"),
    ({"PROVIDERS": {"mock": {"CONTEXT_BUDGET": {"gpt-4o": "lots"}}}}, "sessions_app.E022"),
    ({"PROVIDERS": {"mock": {"PRICES": {"*": {"input": -1}}}}}, "sessions_app.E023"),
    ({"PROVIDERS": {"mock": {"PRICES": {"*": {"cached": 1}}}}}, "sessions_app.E023"),
    ({"PROVIDERS": {"mock": {"OPTIONS": ["delay"]}}}, "sessions_app.E024"),
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
    warned = {  # test_a_cache_other_processes_cannot_see_is_a_warning, …_without_a_key_…
        "sessions_app.W001",
        "sessions_app.W002",
    }
    assert {expected for _, expected in MISCONFIGURATIONS} | warned == set(emitted_ids())


# Providers ---------------------------------------------------------------------------------

KEYS = {"OPENAI_API_KEY": "sk-openai-env", "ANTHROPIC_API_KEY": "sk-ant-env"}


@pytest.fixture
def no_key_in_env(monkeypatch):
    for variable in KEYS:
        monkeypatch.delenv(variable, raising=False)


def providers(**entries):
    return {"PROVIDERS": {"mock": {}, **entries}}


def test_openai_and_anthropic_need_no_backend(settings, no_key_in_env):
    settings.SESSIONS_APP = providers(
        openai={"OPTIONS": {"api_key": "sk-1", "mode": "responses", "timeout": 30}},
        anthropic={"OPTIONS": {"api_key": "sk-2", "max_tokens": 2048, "max_retries": 1}},
        ollama={
            "BACKEND": "sessions_app.providers.openai.OpenAIProvider",
            "OPTIONS": {
                "api_key": "ollama",
                "base_url": "http://127.0.0.1:11434/v1",
                "mode": "chat",
            },
        },
    )
    assert check_settings() == []


@pytest.mark.parametrize(
    ("name", "entry", "variable"),
    [
        ("openai", {}, "OPENAI_API_KEY"),
        ("anthropic", {"OPTIONS": {"max_tokens": 512}}, "ANTHROPIC_API_KEY"),
        (
            "vllm",
            {
                "BACKEND": "sessions_app.providers.openai.OpenAIProvider",
                "OPTIONS": {"mode": "chat"},
            },
            "OPENAI_API_KEY",
        ),
    ],
)
def test_a_provider_without_a_key_is_a_warning_naming_its_variable(
    settings, no_key_in_env, monkeypatch, name, entry, variable
):
    settings.SESSIONS_APP = providers(**{name: entry})
    [warning] = check_settings()
    assert (warning.id, warning.level) == ("sessions_app.W002", WARNING)
    assert repr(name) in warning.msg and variable in warning.hint
    monkeypatch.setenv(variable, KEYS[variable])
    assert check_settings() == []


def test_a_server_of_ones_own_needs_no_key(settings, no_key_in_env):
    settings.SESSIONS_APP = providers(
        ollama={
            "BACKEND": "sessions_app.providers.openai.OpenAIProvider",
            "OPTIONS": {"base_url": "http://127.0.0.1:11434/v1", "mode": "chat"},
        }
    )
    assert check_settings() == []


@pytest.mark.parametrize(
    "entry",
    [
        {"OPTIONS": {"base_url": "http://127.0.0.1:8089"}},
        {
            "BACKEND": "sessions_app.providers.anthropic.AnthropicProvider",
            "OPTIONS": {"base_url": "https://anthropic.example.com"},
        },
    ],
)
def test_an_anthropic_base_url_still_needs_a_key(settings, no_key_in_env, entry):
    # The Anthropic adapter refuses every request without a key, whatever its base_url.
    settings.SESSIONS_APP = providers(anthropic=entry)
    [warning] = check_settings()
    assert warning.id == "sessions_app.W002" and "ANTHROPIC_API_KEY" in warning.hint
    entry["OPTIONS"]["api_key"] = "sk-ant-test"
    settings.SESSIONS_APP = providers(anthropic=entry)
    assert check_settings() == []


def test_a_bad_option_names_the_provider_and_option_never_the_key(settings, no_key_in_env):
    settings.SESSIONS_APP = providers(
        openai={"OPTIONS": {"api_key": "sk-secret-123", "timeout": "soon"}},
        anthropic={"OPTIONS": {"api_key": "sk-secret-456", "max_token": 10}},
    )
    errors = {error.msg.split(":")[0]: error for error in check_settings()}
    assert set(errors) == {"Provider 'openai'", "Provider 'anthropic'"}
    assert {error.id for error in errors.values()} == {"sessions_app.E013"}
    assert "timeout" in errors["Provider 'openai'"].msg
    assert "max_token" in errors["Provider 'anthropic'"].msg
    assert "sk-secret" not in " ".join(str(error) for error in errors.values())


class CountingProvider(MockProvider):
    built = 0

    def __init__(self, **options):  # type: ignore[no-untyped-def]
        type(self).built += 1
        super().__init__(**options)


def test_the_check_builds_every_provider_once(settings):
    CountingProvider.built = 0
    settings.SESSIONS_APP = providers(counted={"BACKEND": "tests.test_checks.CountingProvider"})
    assert check_settings() == []
    assert CountingProvider.built == 1


def test_a_shape_mistake_is_reported_once_under_its_own_id(settings):
    settings.SESSIONS_APP = providers(
        counted={"CONTEXT_BUDGET": -5, "BACKEND": "tests.test_checks.CountingProvider"}
    )
    assert [error.id for error in check_settings()] == ["sessions_app.E022"]


def test_the_demo_reaches_a_keyless_compatible_server(monkeypatch, no_key_in_env):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("OPENAI_MODE", "chat")
    demo = runpy.run_path(str(ROOT / "project" / "settings.py"))
    openai = demo["SESSIONS_APP"]["PROVIDERS"]["openai"]
    assert openai["OPTIONS"]["base_url"] == "http://127.0.0.1:11434/v1"
    assert "anthropic" not in demo["SESSIONS_APP"]["PROVIDERS"]


def test_the_vendors_key_in_the_environment_is_not_a_key_for_another_server(settings, monkeypatch):
    # The adapter never sends ANTHROPIC_API_KEY to a server other than Anthropic's (or the
    # one ANTHROPIC_BASE_URL names), so such an entry still has no key.
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-vendor")
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    settings.SESSIONS_APP = providers(anthropic={"OPTIONS": {"base_url": "http://127.0.0.1:8089"}})
    [warning] = check_settings()
    assert warning.id == "sessions_app.W002"
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:8089")
    assert check_settings() == []
