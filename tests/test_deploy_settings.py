"""The demo settings with ``DEBUG`` off: ``check --deploy`` is clean with a production-like
environment, cookies are Secure, HTTP is redirected to HTTPS (health excepted)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What the test run itself may carry and a production environment would not.
CLEARED = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE", "DATABASE_URL")


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED and not k.startswith("SECURE_")}
    env.update(
        DJANGO_SETTINGS_MODULE="project.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="chat.example.com,testserver",
        VAR_DIR=str(tmp_path),
        **extra,
    )
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_variables(tmp_path):
    done = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_check_deploy_reports_the_development_secret_key(tmp_path):
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    done = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode != 0 and "security.W009" in done.stderr


PROBE = """
import json
from django.conf import settings
from django.test import Client
client = Client()
print(json.dumps({
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_cookie_secure": settings.CSRF_COOKIE_SECURE,
    "hsts": settings.SECURE_HSTS_SECONDS,
    "api": client.get("/api/v1/providers/").status_code,
    "api_via_proxy": client.get("/api/v1/providers/", headers={"X-Forwarded-Proto": "https"})
    .status_code,
    "health": client.get("/api/v1/health/").status_code,
}))
"""


def probe(env: dict[str, str]) -> dict[str, object]:
    done = manage(env, "shell", "--no-imports", "-c", PROBE)
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_without_debug_cookies_are_secure_and_http_is_redirected_except_health(tmp_path):
    seen = probe(production_env(tmp_path))
    assert seen["session_cookie_secure"] is True and seen["csrf_cookie_secure"] is True
    assert seen["hsts"] == 365 * 24 * 3600
    assert seen["api"] == 301 and seen["api_via_proxy"] == 301  # the proxy header is not trusted
    assert seen["health"] != 301  # load balancers probe over HTTP


def test_the_proxy_header_is_trusted_only_when_named(tmp_path):
    env = production_env(tmp_path, SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO")
    seen = probe(env)
    assert seen["api"] == 301 and seen["api_via_proxy"] == 200


def test_with_debug_on_nothing_is_forced(tmp_path):
    seen = probe({**production_env(tmp_path), "DEBUG": "1"})
    assert seen["session_cookie_secure"] is False and seen["api"] == 200
