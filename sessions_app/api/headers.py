"""Headers every API answer carries: no cache may store it, and ``Vary`` names what selects it.

Every answer is per caller (a session, its messages, a key) or must be fresh (health),
so none may be stored by a browser or shared cache. Views that authenticate answer
according to ``Authorization`` and the session key's header.
"""

from __future__ import annotations

from django.http import HttpResponseBase
from django.utils.cache import patch_cache_control, patch_vary_headers
from rest_framework.views import APIView

from sessions_app.conf import app_settings


def mark_private(view: APIView, response: HttpResponseBase) -> None:
    patch_cache_control(response, no_store=True)
    if view.authentication_classes:
        patch_vary_headers(response, ("Authorization", app_settings.HEADER_NAME))
