"""部门联动, the reads: the referral list (and its ledger, casefiles.reports REFERRALS: one FilterSet,
one queryset), a referral's page with its timeline, and the overdue count for the officer. Each is
shaped so that a page runs the same number of queries for 5 rows or 5,000
(casefiles/tests/test_referral_pages.py pins them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.db.models import DecimalField, OuterRef, Prefetch, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from .filters import ReferralFilter
from .models import AidReceipt, Referral, ReferralUpdate


def _aid_total() -> Coalesce:
    """The referral's aid paid, as a subquery (a join would repeat the referral's row per receipt)."""
    total = (
        AidReceipt.objects.filter(referral=OuterRef("pk"))
        .order_by()
        .values("referral")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(total), Value(Decimal(0)), output_field=DecimalField(max_digits=10, decimal_places=2))


def referrals_for_list(user: Any, data: Any) -> ReferralFilter:
    """The list page's FilterSet over the referrals the reader may see, overdue first then newest;
    each row with its student, school, town, department, contact teacher and ``aid_total``."""
    base = (
        Referral.objects.visible_to(user)
        .select_related("student__school__town", "department", "contact_teacher__user")
        .annotate(aid_total=_aid_total())
        .order_by("-referred_on", "-pk")
    )
    return ReferralFilter(data or None, queryset=base, request_user=user)


def referral_rows(filterset: ReferralFilter) -> QuerySet[Referral]:
    """The filtered rows (an invalid filter value is ignored, as on every list)."""
    return cast(QuerySet[Referral], filterset.qs)


def referral_page(user: Any, pk: int) -> Referral:
    """One referral with its timeline (updates with who recorded them and the aid paid) and its aid
    receipts; DoesNotExist when the reader may not see it."""
    updates = ReferralUpdate.objects.select_related("recorded_by", "aid").order_by("on", "pk")
    return (
        Referral.objects.visible_to(user)
        .select_related("student__school__town", "department", "contact_teacher__user", "referred_by")
        .prefetch_related(Prefetch("updates", queryset=updates))
        .annotate(aid_total=_aid_total())
        .get(pk=pk)
    )


def overdue_count(user: Any, *, today: dt.date | None = None) -> int:
    """How many of the reader's referrals wait past their due date (the list's banner and filter)."""
    return Referral.objects.visible_to(user).overdue(today or timezone.localdate()).count()


@dataclass(frozen=True)
class TimelineEntry:
    on: dt.date
    status: str  # a status label
    note: str
    help_text: str
    aid: AidReceipt | None
    recorded_by: str


def timeline_of(referral: Referral) -> list[TimelineEntry]:
    """The referral's history, oldest first: its sending, then each update recorded (prefetched)."""
    entries = [
        TimelineEntry(
            on=referral.referred_on,
            status="已发送",
            note=referral.reason,
            help_text="",
            aid=None,
            recorded_by=referral.referred_by.get_full_name(),
        )
    ]
    for update in referral.updates.all():
        entries.append(
            TimelineEntry(
                on=update.on,
                status=update.get_status_display(),
                note=update.note,
                help_text=update.help_text,
                aid=update.aid,
                recorded_by=update.recorded_by.get_full_name(),
            )
        )
    return entries
