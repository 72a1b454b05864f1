"""The session a view works on: the one of the URL, if the caller may see it."""

from __future__ import annotations

from rest_framework.views import APIView

from sessions_app.api.access import session_for
from sessions_app.models import Session


class OneSession(APIView):
    """Finds the session named by the URL's ``session_url_kwarg``; 404 if not visible."""

    session_url_kwarg = "pk"

    def session(self) -> Session:
        return session_for(self.request, self.kwargs[self.session_url_kwarg])
