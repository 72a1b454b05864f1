"""Signing in links the HTTP session to the user and the client (IP address, user agent)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from sessions_app.http.engine import SessionStore
from sessions_app.http.request_info import client_ip, user_agent


@receiver(user_logged_in)
def link_session_to_user(*, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    # Runs for login() and alogin(); the link is written when the session is saved.
    session = getattr(request, "session", None)
    if isinstance(session, SessionStore):
        session.link_client(
            user=user, ip_address=client_ip(request), user_agent=user_agent(request)
        )
