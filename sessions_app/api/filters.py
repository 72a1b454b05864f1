"""The schema's view of list filters; the filtering itself is the service layer's."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django_filters.rest_framework import DjangoFilterBackend


class DocumentedFilters(DjangoFilterBackend):
    """Puts the view's ``filterset_class`` in the OpenAPI schema, and filters nothing: the
    view hands the query parameters to a selector (``services.listings``), which applies
    that FilterSet."""

    def filter_queryset(
        self, request: HttpRequest, queryset: QuerySet[Any], view: Any
    ) -> QuerySet[Any]:
        return queryset
