from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from .access import Role
from .models import AuditAction, AuditEvent


class IPAddressFilter(django_filters.Filter):
    """An address checked by the form (a wrong one is a message at the field, not a database error)."""

    field_class = forms.GenericIPAddressField


class AuditEventFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="操作人/对象", method="search")
    action = django_filters.ChoiceFilter(label="操作", choices=AuditAction.choices, empty_label="全部")
    actor_role = django_filters.ChoiceFilter(label="角色", choices=Role.choices, empty_label="全部")
    student_id = django_filters.NumberFilter(label="学生编号")
    # Validated as an address: the column is an inet on PostgreSQL, which refuses anything else (500).
    ip_address = IPAddressFilter(label="来源IP")
    since = django_filters.DateFilter(
        label="起始日期", field_name="at", lookup_expr="date__gte", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = django_filters.DateFilter(
        label="截止日期", field_name="at", lookup_expr="date__lte", widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta:
        model = AuditEvent
        fields = ["q", "action", "actor_role", "student_id", "ip_address", "since", "until"]

    def search(self, queryset: QuerySet[AuditEvent], name: str, value: str) -> QuerySet[AuditEvent]:
        return queryset.filter(Q(actor_name__icontains=value) | Q(object_label__icontains=value))
