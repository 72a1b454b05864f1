"""Filters of session lists and message histories: the rules for tags and text search, and
the FilterSets (django-filter) that apply them and the other filters to query parameters.

``filtered`` answers invalid parameters with a Django ``ValidationError`` holding the
errors by parameter, as a form would.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet
from django_filters.fields import IsoDateTimeField

from sessions_app import limits
from sessions_app.models import Message, MessageRole, Session, SessionStatus
from sessions_app.validation import unstorable

M = TypeVar("M", bound=Model)


def with_all_tags(sessions: QuerySet[Session], tags: Iterable[str]) -> QuerySet[Session]:
    for tag in tags:
        sessions = sessions.filter(tag_set__name=tag)
    return sessions


def matching_text(sessions: QuerySet[Session], text: str) -> QuerySet[Session]:
    """Sessions whose name or description contains ``text``, in any case."""
    return sessions.filter(Q(name__icontains=text) | Q(description__icontains=text))


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, in UTC: PostgreSQL refuses offsets beyond ±15:59."""

    def to_python(self, value: Any) -> datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError("Out of the supported range.", code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class SessionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=SessionStatus.choices)
    provider = django_filters.CharFilter(max_length=limits.MAX_PROVIDER)
    model = django_filters.CharFilter(max_length=limits.MAX_MODEL)
    tag = django_filters.CharFilter(
        method="filter_tags",
        max_length=limits.MAX_TAG_LENGTH,
        help_text="Repeat for several: all match.",
    )
    sandbox = django_filters.CharFilter(
        field_name="sandbox__slug", max_length=limits.MAX_SANDBOX_SLUG
    )
    user_id = django_filters.CharFilter(
        field_name="external_user_id", max_length=limits.MAX_EXTERNAL_USER_ID
    )
    since = UtcDateTimeFilter(field_name="last_activity", lookup_expr="gte")
    search = django_filters.CharFilter(method="filter_search", max_length=limits.MAX_NAME)

    class Meta:
        model = Session
        fields: list[str] = []

    def filter_tags(self, queryset: QuerySet[Session], name: str, value: str) -> QuerySet[Session]:
        getlist = getattr(self.data, "getlist", None)
        tags = getlist("tag") if getlist else [value]
        # The form validated one value; every other one is checked alike here.
        if any(len(tag) > limits.MAX_TAG_LENGTH or unstorable(tag) for tag in tags):
            raise ValidationError({"tag": ["Not a valid tag."]})
        return with_all_tags(queryset, tags)

    def filter_search(
        self, queryset: QuerySet[Session], name: str, value: str
    ) -> QuerySet[Session]:
        return matching_text(queryset, value)


class MessageFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=MessageRole.choices)
    since = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Message
        fields: list[str] = []


def filtered(
    filterset_class: type[django_filters.FilterSet], queryset: QuerySet[M], params: Any
) -> QuerySet[M]:
    """``queryset`` narrowed by the query parameters ``params``."""
    filterset = filterset_class(params, queryset=queryset)
    if not filterset.is_valid():
        raise ValidationError(filterset.form.errors.as_data())
    narrowed: QuerySet[M] = filterset.qs
    return narrowed
