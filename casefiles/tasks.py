"""Celery entry points: thin, each calls a function that tests and commands call directly."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from .attachments import orphan_attachments_delete
from .dropouts import talk_proposals_sweep
from .early_warning import warnings_refresh
from .exports import case_file_export_build, case_file_exports_delete_old
from .import_services import roster_imports_delete_old
from .recovery import recovery_overdue_notify
from .referral_services import overdue_referrals_notify
from .report_exports import report_export_build, report_exports_delete_old


@shared_task(name="casefiles.build_case_file_export", acks_late=True, ignore_result=True)
def build_case_file_export(export_id: int) -> None:
    """Queued after the request's commit: build the school's zip of case files. At-least-once: a
    redelivery (acks_late, a worker lost) is safe, see case_file_export_build."""
    case_file_export_build(export_id)


@shared_task(name="casefiles.delete_old_case_file_exports", acks_late=True, ignore_result=True)
def delete_old_case_file_exports() -> None:
    """Beat runs this every night: zips of children's case files are kept 7 days, then deleted."""
    case_file_exports_delete_old(now=timezone.now())


@shared_task(name="casefiles.delete_orphan_attachments", acks_late=True, ignore_result=True)
def delete_orphan_attachments() -> None:
    """Beat runs this every night: attachment files that no record names (a crash between the file
    and its row). Safe to run twice: each file is judged on its own."""
    orphan_attachments_delete(now=timezone.now())


@shared_task(name="casefiles.build_report_export", acks_late=True, ignore_result=True)
def build_report_export(export_id: int) -> None:
    """Queued after the request's commit: write a large Excel report. At-least-once: a redelivery is
    safe, see report_export_build."""
    report_export_build(export_id)


@shared_task(name="casefiles.delete_old_report_exports", acks_late=True, ignore_result=True)
def delete_old_report_exports() -> None:
    """Beat runs this every night: report files are kept REPORT_EXPORT_KEEP_HOURS, then deleted."""
    report_exports_delete_old(now=timezone.now())


@shared_task(name="casefiles.delete_old_roster_imports", acks_late=True, ignore_result=True)
def delete_old_roster_imports() -> None:
    """Beat runs this every night: an uploaded roster not committed within ROSTER_IMPORT_KEEP_HOURS is deleted."""
    roster_imports_delete_old(now=timezone.now())


@shared_task(name="casefiles.notify_overdue_recovery", acks_late=True, ignore_result=True)
def notify_overdue_recovery() -> None:
    """Beat runs this every morning: an overdue 劝返 step reminds the responsible officer. Safe to run
    twice: one notice per officer, case and due date (see recovery_overdue_notify)."""
    recovery_overdue_notify(today=timezone.localdate())


@shared_task(name="casefiles.refresh_warnings", acks_late=True, ignore_result=True)
def refresh_warnings() -> None:
    """Beat runs this every night: the county's early-warning flags for today. Safe to run again (one
    transaction; each officer's notice of the day has its source key)."""
    warnings_refresh(on=timezone.localdate())


@shared_task(name="casefiles.notify_overdue_referrals", acks_late=True, ignore_result=True)
def notify_overdue_referrals() -> None:
    """Beat runs this every morning: a notice to the officer for each referral past its due date (in
    her digest with the other unread notices). At-least-once is safe: the notice's source_key makes
    a second run, or a redelivery, add nothing."""
    overdue_referrals_notify(today=timezone.localdate())


@shared_task(name="casefiles.propose_dropouts_from_talks", acks_late=True, ignore_result=True)
def propose_dropouts_from_talks() -> None:
    """Beat runs this every night: talk records speaking of absence propose 疑似辍学 entries.
    At-least-once: running it twice proposes nothing more (see talk_proposals_sweep)."""
    talk_proposals_sweep(today=timezone.localdate())
