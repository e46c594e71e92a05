from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from . import audit
from .access import Role
from .models import AuditAction, AuditEvent


class IPAddressFilter(django_filters.Filter):
    """An address checked by the form (a wrong one is a message at the field, not a database error)."""

    field_class = forms.GenericIPAddressField


class AuditEventFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="操作人/账号/对象", method="search")
    action = django_filters.ChoiceFilter(label="操作", choices=AuditAction.choices, empty_label="全部")
    actor_role = django_filters.ChoiceFilter(label="角色", choices=Role.choices, empty_label="全部")
    student = django_filters.CharFilter(label="学生", method="by_student", help_text="姓名,或学籍号的后4至6位")
    # "该学生的全部记录" on a line: one student exactly (the form shows the text filter instead).
    student_id = django_filters.NumberFilter(widget=forms.HiddenInput)
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
        fields = ["q", "action", "actor_role", "student", "student_id", "ip_address", "since", "until"]

    def search(self, queryset: QuerySet[AuditEvent], name: str, value: str) -> QuerySet[AuditEvent]:
        return queryset.filter(
            Q(actor_name__icontains=value) | Q(actor_username__icontains=value) | Q(object_label__icontains=value)
        )

    def by_student(self, queryset: QuerySet[AuditEvent], name: str, value: str) -> QuerySet[AuditEvent]:
        """By the student's name or 学籍号 tail, as the students' app finds them (a hook: this app
        knows no app's models); the lines about any student found."""
        value = value.strip()
        return queryset.filter(student_id__in=audit.students_matching(value)) if value else queryset
