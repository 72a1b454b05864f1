"""Helpers of the API tests: clients for users, for a key holder, and for anyone."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

API = "/api/v1/"


def url(*parts: Any) -> str:
    return API + "".join(f"{part}/" for part in parts)


def client_for(user: Any = None, *, key: str | None = None, token: str | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    if key is not None:
        client.credentials(HTTP_X_SESSION_ID=key)
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def create(client: APIClient, **body: Any) -> dict[str, Any]:
    response = client.post(url("sessions"), body, format="json")
    assert response.status_code == 201, response.content
    return response.json()
