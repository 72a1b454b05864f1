"""Health of what sessions depend on; reports errors by class name, never secrets."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils import timezone

from sessions_app import cache, cache_outages
from sessions_app.providers import available_providers, get_provider


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _check_cache() -> str:
    backend = cache.get_cache()
    if backend is None:
        return "disabled"
    backend.set("sessions_app:health", "1", 5)
    if backend.get("sessions_app:health") != "1":
        return "error: read back a different value"
    return "ok"


def _check_broker() -> str:
    """The Celery broker of the current app; "disabled" when the project configured none."""
    from celery import current_app

    if not current_app.conf.broker_url:
        return "disabled"
    with current_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def _check_rate_limits() -> str:
    """Not an error when degraded: requests still go through, only uncounted."""
    down = cache_outages.current()
    return f"degraded: cache {', '.join(down)} failing, requests uncounted" if down else "ok"


def _check_providers() -> str:
    for name in available_providers():
        get_provider(name)
    return "ok"


CHECKS = {
    "database": _check_database,
    "cache": _check_cache,
    "broker": _check_broker,
    "providers": _check_providers,
    "rate_limits": _check_rate_limits,
}


def health_check() -> dict[str, Any]:
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception as exc:
            results[name] = f"error: {type(exc).__name__}"
    healthy = all(not value.startswith("error") for value in results.values())
    return {
        "status": "healthy" if healthy else "unhealthy",
        "checks": results,
        "cache_outages": cache_outages.report(),
        "timestamp": timezone.now().isoformat(),
    }
