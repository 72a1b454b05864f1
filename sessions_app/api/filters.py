"""Query filters of the session list and the message history (django-filter)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django_filters.fields import IsoDateTimeField
from rest_framework.exceptions import ValidationError

from sessions_app.models import Message, MessageRole, Session, SessionStatus
from sessions_app.session_config import MAX_TAG_LENGTH


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
    provider = django_filters.CharFilter(max_length=50)
    model = django_filters.CharFilter(max_length=100)
    tag = django_filters.CharFilter(
        method="filter_tags", max_length=MAX_TAG_LENGTH, help_text="Repeat for several: all match."
    )
    sandbox = django_filters.CharFilter(field_name="sandbox__slug", max_length=64)
    user_id = django_filters.CharFilter(field_name="external_user_id", max_length=255)
    since = UtcDateTimeFilter(field_name="last_activity", lookup_expr="gte")
    search = django_filters.CharFilter(method="filter_search", max_length=200)

    class Meta:
        model = Session
        fields: list[str] = []

    def filter_tags(self, queryset: QuerySet[Session], name: str, value: str) -> QuerySet[Session]:
        tags = self.data.getlist("tag") if hasattr(self.data, "getlist") else [value]
        for tag in tags:
            if len(tag) > MAX_TAG_LENGTH or "\x00" in tag:
                # The form validated one value; every other one is checked alike here.
                raise ValidationError({"tag": ["Not a valid tag."]})
            queryset = queryset.filter(tag_set__name=tag)
        return queryset

    def filter_search(
        self, queryset: QuerySet[Session], name: str, value: str
    ) -> QuerySet[Session]:
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))


class MessageFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=MessageRole.choices)
    since = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Message
        fields: list[str] = []
