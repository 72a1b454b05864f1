"""Fixtures of the documents' examples: providers the examples name, a place for files."""

import pytest

MOCK_BACKEND = "sessions_app.providers.mock.MockProvider"


@pytest.fixture(autouse=True)
def doc_providers(settings):
    """``openai`` and ``anthropic`` as mock-backed providers (the real adapters are issue 11).

    The project's own ``mock`` stays as configured, so the examples also check that the demo
    settings accept the documents' model names.
    """
    providers = dict(settings.SESSIONS_APP.get("PROVIDERS", {}))
    providers["openai"] = {"BACKEND": MOCK_BACKEND}
    providers["anthropic"] = {"BACKEND": MOCK_BACKEND}
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "PROVIDERS": providers}


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path, monkeypatch):
    """Run in an empty directory: an example naming ``sessions.db`` must not create it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
