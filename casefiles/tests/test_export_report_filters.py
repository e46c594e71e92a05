"""export_report from the shell reaches every filter of each report's FilterSet (issue 10, point 7):
``--filter KEY=VALUE``, checked by the report's own FilterSet; ``--list`` names them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import django_filters
import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from casefiles.reports import REPORTS
from guidance.models import Reminder, ReminderLevel
from zaoyang_aid.excel import HEADER_ROW
from zaoyang_aid.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


def _names(ws: Any) -> list[str]:
    header = [c.value for c in ws[HEADER_ROW]]
    rows = [dict(zip(header, (c.value for c in r), strict=True)) for r in ws.iter_rows(min_row=HEADER_ROW + 1)]
    return [r["学生姓名"] for r in rows if r[header[0]] != "合计"]


def _reminders(world: Any) -> None:
    a1, b1 = world.student_a1.pairings.get(), world.student_b1.pairings.get()
    Reminder.objects.create(
        pairing=a1, kind="missed_talk", period=dt.date(2026, 11, 9), term=world.term, level=ReminderLevel.COUNTY
    )
    Reminder.objects.create(pairing=b1, kind="missed_talk", period=dt.date(2026, 11, 9), term=world.term)
    Reminder.objects.create(
        pairing=b1,
        kind="visit_due",
        period=dt.date(2026, 11, 9),
        term=world.term,
        level=ReminderLevel.COUNTY,
        resolved_at=dt.datetime(2026, 11, 10, tzinfo=dt.UTC),
    )


def test_the_reminder_records_kind_level_and_state_filters_are_reachable(world, tmp_path: Path, capsys):
    _reminders(world)
    target = tmp_path / "提醒.xlsx"
    call_command("export_report", "reminders", "--filter", "level=3", "--filter", "state=open", "-o", str(target))
    ws = openpyxl.load_workbook(target).active
    assert _names(ws) == ["张小明"]
    assert "级别:上报市资助中心" in ws["A3"].value and "处理情况:未处理" in ws["A3"].value
    assert "1行" in capsys.readouterr().out
    call_command("export_report", "reminders", "--filter", "kind=visit_due", "-o", str(target))
    assert _names(openpyxl.load_workbook(target).active) == ["王小刚"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--filter", "level=9"], "级别"),  # not a level: the FilterSet refuses it
        (["--filter", "state=lost"], "处理情况"),
        (["--filter", "colour=red"], "不提供这些筛选:colour"),  # not a filter of this report
        (["--filter", "level"], "KEY=VALUE"),  # no value
        (["--filter", "=3"], "KEY=VALUE"),
    ],
)
def test_a_bad_filter_is_refused_in_chinese_and_nothing_is_written(world, tmp_path: Path, args, message):
    target = tmp_path / "x.xlsx"
    with pytest.raises(CommandError, match=message):
        call_command("export_report", "reminders", *args, "-o", str(target))
    assert list(tmp_path.iterdir()) == []
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_the_list_names_every_filter_of_every_report(world, capsys):
    call_command("export_report", "--list")
    out = capsys.readouterr().out
    lines = out.splitlines()
    for report in REPORTS.values():
        listed = lines[next(i for i, line in enumerate(lines) if line.startswith(f"{report.name}\t")) + 1]
        assert all(f"{key} " in listed for key in report.filterset.base_filters), report.name
    assert "level 级别(1=提醒教师/2=告知学校资助专干/3=上报市资助中心)" in out


def _a_value(filterset: django_filters.FilterSet, key: str) -> str | None:
    spec = filterset.filters[key]
    if isinstance(spec, django_filters.ModelChoiceFilter):
        first = spec.queryset.first() if spec.queryset is not None else None
        return str(first.pk) if first is not None else None
    if isinstance(spec, django_filters.ChoiceFilter):
        return str(spec.extra["choices"][0][0])
    if isinstance(spec, django_filters.NumberFilter):
        return "1"
    return "张"


@pytest.mark.parametrize("name", list(REPORTS))
def test_every_filter_of_every_report_is_reachable_from_the_shell(world, tmp_path: Path, name):
    """A new report entry, or a new filter on a report's FilterSet, is covered without editing this test."""
    report = REPORTS[name]
    filterset = report.filter_of(world.county, {}, world.term)
    target = tmp_path / f"{name}.xlsx"
    for key in filterset.filters:
        value = _a_value(filterset, key)
        if value is None:  # a model choice with no rows in the world (e.g. no 认定 level configured)
            continue
        call_command("export_report", name, "--filter", f"{key}={value}", "-o", str(target))
        label = filterset.filters[key].label
        assert f"{label}:" in openpyxl.load_workbook(target).active["A3"].value, (name, key)
