"""What a request says about its client: address and user agent."""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest

from sessions_app.conf import app_settings

MAX_USER_AGENT = 512


def _ip_or_none(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """``REMOTE_ADDR``, or the address a configured trusted proxy reports.

    With ``TRUSTED_PROXY_HEADER`` set (e.g. ``HTTP_X_FORWARDED_FOR``), the
    rightmost entry is used: it is the one our proxy appended; entries left
    of it come from the client and can be forged.
    """
    header = app_settings.TRUSTED_PROXY_HEADER
    if header and request.META.get(header):
        forwarded = _ip_or_none(request.META[header].split(",")[-1])
        if forwarded:
            return forwarded
    return _ip_or_none(request.META.get("REMOTE_ADDR", ""))


def user_agent(request: HttpRequest) -> str:
    agent: str = request.META.get("HTTP_USER_AGENT", "")
    return agent[:MAX_USER_AGENT]
