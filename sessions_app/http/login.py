"""Signing in links the HTTP session to the user and the client (IP address, user agent);
signing out marks the session's flush as a logout, the one flush that deletes a
session a user is signed in to."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
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


@receiver(user_logged_out)
def end_session_on_logout(*, request: HttpRequest | None, **kwargs: Any) -> None:
    # Sent by logout() and alogout() just before they flush the session.
    session = getattr(request, "session", None)
    if isinstance(session, SessionStore):
        session.logging_out()
