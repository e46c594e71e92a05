"""报表导出: the REPORTS registry, read alike by the page, the ``export_report`` command and the tests.

A report is an entry: its name (in URLs and on the command line), its label, its web list's FilterSet
and selector (the same function that feeds the page, so page and file cannot disagree), a function
turning the filtered rows into dicts, and its columns. Adding a report is adding an entry.

Every column names the field group it shows (zaoyang_aid.fields): a column whose group the reader
does not see for every row of their scope (``broad_access``) is left out of the file; ID numbers
are written whole only to a reader who sees FULL_ID, masked (420683********1234) otherwise. Every
file written is one audit line (AuditAction.EXPORT: who, which report, the filter, the row count).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, cast

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F, QuerySet
from django.utils import timezone

from guidance.dashboards import (
    SchoolComplianceLine,
    TeacherComplianceLine,
    TownComplianceLine,
    compliance_by_school,
    compliance_by_teacher,
    compliance_by_town,
    school_compliance_filter,
)
from guidance.filters import PairingRecordReportFilter, ReminderReportFilter, SchoolComplianceFilter
from guidance.models import HELP_FORMS, TRACKS, ExcusedWeek, HomeVisit, Reminder, TalkRecord
from pairing.dynamics import (
    ChangeLine,
    assessment_change_filter,
    assessment_changes,
    previous_term,
    school_change_filter,
    school_changes,
)
from pairing.dynamics import (
    SchoolChanges as SchoolChangeCounts,
)
from pairing.filters import AssessmentChangeFilter, PairingFilter, SchoolChangeFilter, StudentFilter
from pairing.models import Pairing, Student, Term, grade_name
from pairing.selectors import pairings_for_list, students_for_list, term_today
from zaoyang_aid import audit, calendar, excel
from zaoyang_aid.access import Role, scope_of
from zaoyang_aid.excel import CellKind, Total
from zaoyang_aid.fields import FieldGroup, broad_access
from zaoyang_aid.masking import mask_id_number
from zaoyang_aid.models import AuditAction

from . import dropout_selectors, dropouts, early_warning
from .filters import (
    DropoutSchoolFilter,
    RecoveryLedgerFilter,
    ReferralFilter,
    ReviewProgressFilter,
    SchoolAgeChildFilter,
    SuspectedDropoutFilter,
    WarningFlagFilter,
)
from .models import Referral, SchoolAgeChild, SuspectedDropout, WarningFlag, WarningSign
from .recovery_selectors import ledger_line, recovery_ledger_filter
from .referral_selectors import referral_rows, referrals_for_list
from .selectors import Progress, progress_of, review_progress_filter

# Who may export: the school's 资助专干 (her school's rows) and the county centre's staff. Teachers
# and counsellors read single records; the 系统管理员 keeps accounts and sees no family's data.
REPORT_ROLES = (Role.OFFICER, Role.COUNTY)
COUNTY_UNIT = "枣阳市学生资助管理中心"
# Rows fetched per round trip while streaming (the prefetches run once per chunk).
CHUNK_SIZE = 2000
MAX_TEXT_WIDTH = 40  # characters: a long text column wraps in Excel rather than widening the sheet


@dataclass(frozen=True)
class ReportColumn:
    key: str
    label: str
    group: FieldGroup | None  # None: nothing personal (a school's name, a count)
    kind: CellKind = CellKind.TEXT
    width: int = 0
    total: Total = Total.NONE
    ratio_of: tuple[str, str] | None = None
    masked_without: FieldGroup | None = None  # shown masked to a reader without this group

    def excel(self) -> excel.Column:
        return excel.Column(self.key, self.label, self.kind, self.width, self.total, self.ratio_of)


@dataclass(frozen=True)
class Report:
    name: str
    label: str
    description: str
    # (user, filter data, term) -> the web list's bound FilterSet; reads nothing (the page renders its form).
    filter_of: Callable[[Any, Any, Term], django_filters.FilterSet]
    # (FilterSet, term) -> what the list's selector selects: its queryset, or the figures computed from it.
    selector: Callable[[Any, Term], Any]
    # (what the selector selected, term) -> one dict per row, keyed by the columns' keys.
    rows: Callable[[Any, Term], Iterable[dict[str, Any]]]
    columns: tuple[ReportColumn, ...]
    filterset: type[django_filters.FilterSet]
    chart: excel.Chart | None = None  # a native bar chart beside the table


# --- 结对帮扶台账 ------------------------------------------------------------------------------------


def _pairing_filter(user: Any, data: Any, term: Term) -> PairingFilter:
    return pairings_for_list(user, data, term=term)  # the pairing list page's own selector


def _pairing_rows(pairings: QuerySet[Pairing], term: Term) -> Iterator[dict[str, Any]]:
    """The pairing list's rows, streamed (a server-side cursor on PostgreSQL; the 认定 prefetches run
    per chunk: 1 + 2 queries per CHUNK_SIZE pairings)."""
    pairing: Pairing
    for pairing in pairings.iterator(chunk_size=CHUNK_SIZE):
        student = pairing.student
        assessments = getattr(student, "term_assessments", [])
        assessment = assessments[0] if assessments else None
        yield {
            "town": student.school.town.name,
            "school": student.school.name,
            "student": student.name,
            "gender": student.get_gender_display(),
            "id_number": student.id_number,
            "student_number": student.student_number,
            "class": student.class_label,
            "level": assessment.level.name if assessment else "未认定",
            "categories": "、".join(c.name for c in assessment.categories.all()) if assessment else "",
            "teacher": pairing.teacher.name,
            "teacher_phone": pairing.teacher.phone,
            "started_on": pairing.started_on,
            "ended_on": pairing.ended_on,
            "status": "已结束" if pairing.ended_on else "进行中",
            "end_reason": pairing.get_end_reason_display(),
        }


G = FieldGroup
PAIRINGS = Report(
    name="pairings",
    label="结对帮扶台账",
    description="每一个结对:学生、学校、帮扶教师、结对与结束日期、状态,与“结对帮扶”列表的筛选相同。",
    filter_of=_pairing_filter,
    selector=lambda filterset, term: filterset.qs,
    rows=_pairing_rows,
    filterset=PairingFilter,
    columns=(
        ReportColumn("town", "乡镇", None),
        ReportColumn("school", "学校", None),
        ReportColumn("student", "学生姓名", G.IDENTITY, total=Total.COUNT),
        ReportColumn("gender", "性别", G.IDENTITY),
        ReportColumn("id_number", "身份证号", G.IDENTITY, width=22, masked_without=G.FULL_ID),
        ReportColumn("student_number", "学籍号", G.IDENTITY, width=23, masked_without=G.FULL_ID),
        ReportColumn("class", "年级班级", G.IDENTITY),
        ReportColumn("level", "本学期困难等级", G.ASSESSMENT),
        ReportColumn("categories", "特殊群体类别", G.ASSESSMENT),
        ReportColumn("teacher", "帮扶教师", G.IDENTITY),
        ReportColumn("teacher_phone", "教师手机号", G.STAFF, width=14),
        ReportColumn("started_on", "结对日期", G.IDENTITY, CellKind.DATE, width=12),
        ReportColumn("ended_on", "结束日期", G.IDENTITY, CellKind.DATE, width=12),
        ReportColumn("status", "结对状态", G.IDENTITY),
        ReportColumn("end_reason", "结束原因", G.IDENTITY),
    ),
)


# --- 五导落实情况(按学校) -----------------------------------------------------------------------


def _as_of(term: Term) -> dt.date:
    return min(timezone.localdate(), term.end_date)


def _compliance_filter(user: Any, data: Any, term: Term) -> SchoolComplianceFilter:
    return school_compliance_filter(user, data, term=term, as_of=_as_of(term))


def _compliance_selector(filterset: SchoolComplianceFilter, term: Term) -> list[SchoolComplianceLine]:
    return compliance_by_school(filterset, term=term, as_of=_as_of(term))


def _compliance_rows(lines: list[SchoolComplianceLine], term: Term) -> Iterator[dict[str, Any]]:
    for line in lines:
        t = line.totals
        yield {
            "town": line.town,
            "school": line.school,
            "pairings": t.pairings,
            "expected_weeks": t.expected_weeks,
            "done_weeks": t.done_weeks,
            "missed_weeks": t.missed_weeks,
            "late_talks": line.late_talks,
            "rate": t.term_rate,
            "visited": t.visited,
            "visit_rate": t.visit_rate,
        }


SCHOOL_COMPLIANCE = Report(
    name="compliance_by_school",
    label="五导落实情况(按学校)",
    description="每所学校本学期截至今日(往学期至学期末):应记周次、已记周次、漏记周次、补录条数、完成率、已家访学生数与家访率。",
    filter_of=_compliance_filter,
    selector=_compliance_selector,
    rows=_compliance_rows,
    filterset=SchoolComplianceFilter,
    columns=(
        ReportColumn("town", "乡镇", None),
        ReportColumn("school", "学校", None),
        ReportColumn("pairings", "结对数", None, CellKind.INTEGER, total=Total.SUM),
        ReportColumn("expected_weeks", "应记周次", None, CellKind.INTEGER, total=Total.SUM),
        ReportColumn("done_weeks", "已记周次", None, CellKind.INTEGER, total=Total.SUM),
        ReportColumn("missed_weeks", "漏记周次", None, CellKind.INTEGER, total=Total.SUM),
        ReportColumn("late_talks", "补录条数", None, CellKind.INTEGER, total=Total.SUM),
        ReportColumn("rate", "完成率", None, CellKind.PERCENT, ratio_of=("done_weeks", "expected_weeks")),
        ReportColumn("visited", "已家访学生数", None, CellKind.INTEGER, total=Total.SUM),
        ReportColumn("visit_rate", "家访率", None, CellKind.PERCENT, ratio_of=("visited", "pairings")),
    ),
)

# --- 五导落实情况(按乡镇、按教师) ----------------------------------------------------------------


def _town_selector(filterset: SchoolComplianceFilter, term: Term) -> list[TownComplianceLine]:
    return compliance_by_town(filterset, term=term, as_of=_as_of(term))


def _totals_row(t: Any) -> dict[str, Any]:
    return {
        "pairings": t.pairings,
        "expected_weeks": t.expected_weeks,
        "done_weeks": t.done_weeks,
        "missed_weeks": t.missed_weeks,
        "rate": t.term_rate,
        "behind_this_week": t.behind_this_week,
        "behind_this_term": t.behind_this_term,
        "visited": t.visited,
        "visit_rate": t.visit_rate,
    }


def _town_rows(lines: list[TownComplianceLine], term: Term) -> Iterator[dict[str, Any]]:
    for line in lines:
        yield {"town": line.town, "schools": line.schools} | _totals_row(line.totals)


_FIGURES = (
    ReportColumn("pairings", "结对数", None, CellKind.INTEGER, total=Total.SUM),
    ReportColumn("expected_weeks", "应记周次", None, CellKind.INTEGER, total=Total.SUM),
    ReportColumn("done_weeks", "已记周次", None, CellKind.INTEGER, total=Total.SUM),
    ReportColumn("missed_weeks", "漏记周次", None, CellKind.INTEGER, total=Total.SUM),
    ReportColumn("rate", "完成率", None, CellKind.PERCENT, ratio_of=("done_weeks", "expected_weeks")),
    ReportColumn("behind_this_week", "本周未记录结对数", None, CellKind.INTEGER, total=Total.SUM),
    ReportColumn("behind_this_term", "本学期有漏记的结对数", None, CellKind.INTEGER, total=Total.SUM),
    ReportColumn("visited", "已家访学生数", None, CellKind.INTEGER, total=Total.SUM),
    ReportColumn("visit_rate", "家访率", None, CellKind.PERCENT, ratio_of=("visited", "pairings")),
)

TOWN_COMPLIANCE = Report(
    name="compliance_by_town",
    label="五导落实情况(按乡镇)",
    description="每个乡镇本学期截至今日(往学期至学期末):学校数、结对数、应记/已记/漏记周次、完成率、"
    "本周未记录与本学期有漏记的结对数、家访;附各乡镇完成率柱状图。与县级看板的乡镇页相同。",
    filter_of=_compliance_filter,
    selector=_town_selector,
    rows=_town_rows,
    filterset=SchoolComplianceFilter,
    columns=(
        ReportColumn("town", "乡镇", None),
        ReportColumn("schools", "学校数", None, CellKind.INTEGER, total=Total.SUM),
        *_FIGURES,
    ),
    chart=excel.Chart(title="各乡镇五导落实完成率", category="town", value="rate"),
)


def _teacher_selector(filterset: SchoolComplianceFilter, term: Term) -> list[TeacherComplianceLine]:
    return compliance_by_teacher(filterset, term=term, as_of=_as_of(term))


def _teacher_rows(lines: list[TeacherComplianceLine], term: Term) -> Iterator[dict[str, Any]]:
    for line in lines:
        yield {"town": line.town, "school": line.school, "teacher": line.teacher} | _totals_row(line.totals)


TEACHER_COMPLIANCE = Report(
    name="compliance_by_teacher",
    label="五导落实情况(按教师)",
    description="每位帮扶教师本学期截至今日(往学期至学期末)所包保结对的应记/已记/漏记周次、完成率、"
    "本周未记录与本学期有漏记的结对数、家访;与县级看板学校页的教师数字相同。",
    filter_of=_compliance_filter,
    selector=_teacher_selector,
    rows=_teacher_rows,
    filterset=SchoolComplianceFilter,
    columns=(
        ReportColumn("town", "乡镇", None),
        ReportColumn("school", "学校", None),
        ReportColumn("teacher", "帮扶教师", G.IDENTITY, total=Total.COUNT),
        *_FIGURES,
    ),
)

# --- 认定名册 -----------------------------------------------------------------------------------------


def _student_filter(user: Any, data: Any, term: Term) -> StudentFilter:
    return students_for_list(user, data, term=term)  # the student list page's own selector


def _roster_rows(students: QuerySet[Student], term: Term) -> Iterator[dict[str, Any]]:
    """The student list's rows with this term's 认定, streamed (the prefetches of the active pairing
    and of the 认定 with its categories run per chunk: 1 + 3 queries per CHUNK_SIZE students)."""
    student: Student
    for student in students.iterator(chunk_size=CHUNK_SIZE):
        assessments = getattr(student, "term_assessments", [])
        assessment = assessments[0] if assessments else None
        pairings = getattr(student, "active_pairings", [])
        yield {
            "town": student.school.town.name,
            "school": student.school.name,
            "student": student.name,
            "gender": student.get_gender_display(),
            "id_number": student.id_number,
            "student_number": student.student_number,
            "class": student.class_label,
            "hukou": student.get_hukou_type_display(),
            "status": student.get_enrollment_status_display(),
            "level": assessment.level.name if assessment else "未认定",
            "categories": "、".join(c.name for c in assessment.categories.all()) if assessment else "",
            "decided_on": assessment.decided_on if assessment else None,
            "teacher": pairings[0].teacher.name if pairings else "",
        }


ROSTER = Report(
    name="assessment_roster",
    label="家庭经济困难学生认定名册",
    description="所选学期每名学生的认定:困难等级、特殊群体类别、认定日期,及在校状态与帮扶教师;"
    "与“学生”列表的筛选相同(按困难等级或类别筛选即得该类学生名册)。",
    filter_of=_student_filter,
    selector=lambda filterset, term: filterset.qs,
    rows=_roster_rows,
    filterset=StudentFilter,
    columns=(
        ReportColumn("town", "乡镇", None),
        ReportColumn("school", "学校", None),
        ReportColumn("student", "学生姓名", G.IDENTITY, total=Total.COUNT),
        ReportColumn("gender", "性别", G.IDENTITY),
        ReportColumn("id_number", "身份证号", G.IDENTITY, width=22, masked_without=G.FULL_ID),
        ReportColumn("student_number", "学籍号", G.IDENTITY, width=23, masked_without=G.FULL_ID),
        ReportColumn("class", "年级班级", G.IDENTITY),
        ReportColumn("hukou", "户口性质", G.IDENTITY),
        ReportColumn("status", "学籍状态", G.IDENTITY),
        ReportColumn("level", "困难等级", G.ASSESSMENT),
        ReportColumn("categories", "特殊群体类别", G.ASSESSMENT),
        ReportColumn("decided_on", "认定日期", G.ASSESSMENT, CellKind.DATE, width=12),
        ReportColumn("teacher", "帮扶教师", G.IDENTITY),
    ),
)

# --- 谈心谈话记录明细 ---------------------------------------------------------------------------------

# Rows fetched per round trip for the county's 600,000 talks: plain tuples (values_list), no model
# objects, so memory stays flat however many rows stream through.
TALK_CHUNK_SIZE = 5000
_TALK_FIELDS = (
    "date",
    "week_monday",
    "pairing__student__school__town__name",
    "pairing__student__school__name",
    "pairing__student__school__stage",
    "pairing__student__grade",
    "pairing__student__class_name",
    "pairing__student__name",
    "pairing__teacher__user__full_name",
    *(t.field for t in TRACKS),
    *(f.field for f in HELP_FORMS),
    "duration_minutes",
    "late_permission_id",
    "created_at",
    "content",
    "student_state",
    "problems",
    "measures",
    "next_steps",
)


def _talk_filter(user: Any, data: Any, term: Term) -> PairingRecordReportFilter:
    talks = TalkRecord.objects.visible_to(user).filter(term=term)
    return PairingRecordReportFilter(data, queryset=talks, request_user=user)


def _talk_selector(filterset: PairingRecordReportFilter, term: Term) -> QuerySet[TalkRecord]:
    # Town, school, then the talks in date order: as an office reads a school's ledger.
    return cast(QuerySet[TalkRecord], filterset.qs).order_by(
        "pairing__student__school__town__code", "pairing__student__school__name", "date", "pk"
    )


def _talk_rows(talks: QuerySet[TalkRecord], term: Term) -> Iterator[dict[str, Any]]:
    """One dict per talk from plain tuples: one query (a server-side cursor on PostgreSQL), read
    TALK_CHUNK_SIZE rows at a time."""
    first_monday = calendar.monday_of(term.start_date)
    tracks = len(TRACKS)
    forms_at = 9 + tracks
    after = forms_at + len(HELP_FORMS)
    for row in talks.values_list(*_TALK_FIELDS).iterator(chunk_size=TALK_CHUNK_SIZE):
        yield {
            "date": row[0],
            "week": row[1],
            "week_number": (row[1] - first_monday).days // 7 + 1,  # 第N周, counted from the term's first week
            "town": row[2],
            "school": row[3],
            "class": f"{grade_name(row[4], row[5])}{row[6]}",
            "student": row[7],
            "teacher": row[8],
            "tracks": "、".join(t.label for t, on in zip(TRACKS, row[9:forms_at], strict=True) if on),
            "forms": "、".join(f.label for f, on in zip(HELP_FORMS, row[forms_at:after], strict=True) if on),
            "duration": row[after],
            "late": "补录" if row[after + 1] is not None else "",
            "created_at": row[after + 2],
            "content": row[after + 3],
            "student_state": row[after + 4],
            "problems": row[after + 5],
            "measures": row[after + 6],
            "next_steps": row[after + 7],
        }


TALK_DETAIL = Report(
    name="talk_detail",
    label="谈心谈话记录明细",
    description="所选学期每一条谈心谈话与学业辅导记录:日期、所在周、学校、班级、学生、帮扶教师、"
    "“五导”内容、帮扶形式、时长、是否补录、记录时间及谈话内容;可按乡镇、学校筛选。",
    filter_of=_talk_filter,
    selector=_talk_selector,
    rows=_talk_rows,
    filterset=PairingRecordReportFilter,
    columns=(
        ReportColumn("date", "日期", G.RECORDS, CellKind.DATE, width=12),
        ReportColumn("week_number", "周次", G.RECORDS, CellKind.INTEGER, width=6),
        ReportColumn("week", "所在周(周一)", G.RECORDS, CellKind.DATE, width=14),
        ReportColumn("town", "乡镇", None),
        ReportColumn("school", "学校", None),
        ReportColumn("class", "年级班级", G.IDENTITY),
        ReportColumn("student", "学生姓名", G.IDENTITY, total=Total.COUNT),
        ReportColumn("teacher", "帮扶教师", G.IDENTITY),
        ReportColumn("tracks", "五导内容", G.RECORDS),
        ReportColumn("forms", "帮扶形式", G.RECORDS),
        ReportColumn("duration", "时长(分钟)", G.RECORDS, CellKind.INTEGER, total=Total.SUM),
        ReportColumn("late", "补录", G.RECORDS, width=6),
        ReportColumn("created_at", "记录时间", G.RECORDS, CellKind.DATETIME, width=17),
        ReportColumn("content", "谈心谈话与辅导内容", G.RECORDS, width=MAX_TEXT_WIDTH),
        ReportColumn("student_state", "学生状态", G.RECORDS, width=MAX_TEXT_WIDTH),
        ReportColumn("problems", "发现的问题", G.RECORDS, width=MAX_TEXT_WIDTH),
        ReportColumn("measures", "采取的措施", G.RECORDS, width=MAX_TEXT_WIDTH),
        ReportColumn("next_steps", "下一步打算", G.RECORDS, width=MAX_TEXT_WIDTH),
    ),
)

# --- 家访记录明细, 免记周明细, 提醒与上报记录 ---------------------------------------------------------

# Who and where, as named columns of a values() query over a record hanging off a pairing.
_WHO = {
    "town": F("pairing__student__school__town__name"),
    "school": F("pairing__student__school__name"),
    "stage": F("pairing__student__school__stage"),
    "grade": F("pairing__student__grade"),
    "class_name": F("pairing__student__class_name"),
    "student": F("pairing__student__name"),
    "teacher": F("pairing__teacher__user__full_name"),
}
_WHERE_ORDER = ("pairing__student__school__town__code", "pairing__student__school__name")
_WHO_COLUMNS = (
    ReportColumn("town", "乡镇", None),
    ReportColumn("school", "学校", None),
    ReportColumn("class", "年级班级", G.IDENTITY),
    ReportColumn("student", "学生姓名", G.IDENTITY, total=Total.COUNT),
    ReportColumn("teacher", "帮扶教师", G.IDENTITY),
)


def _with_class(row: dict[str, Any]) -> dict[str, Any]:
    row["class"] = f"{grade_name(row['stage'], row['grade'])}{row['class_name']}"
    return row


def _record_filter(model: type[Any], in_term: Callable[[Term], dict[str, Any]], filterset: type[Any]) -> Any:
    def filter_of(user: Any, data: Any, term: Term) -> Any:
        return filterset(data, queryset=model.objects.visible_to(user).filter(**in_term(term)), request_user=user)

    return filter_of


def _visit_selector(filterset: PairingRecordReportFilter, term: Term) -> QuerySet[HomeVisit]:
    visits = cast(QuerySet[HomeVisit], filterset.qs)
    return visits.order_by(*_WHERE_ORDER, "date", "pk")


def _visit_rows(visits: QuerySet[HomeVisit], term: Term) -> Iterator[dict[str, Any]]:
    """One dict per visit: one query for the visits (plain values) and one for their policies'
    names (a term's visits are about one per pairing: some 20,000 in the county)."""
    fields: tuple[str, ...] = ("pk", "date", "visitors", "members_met", "living_conditions", "study_conditions")
    fields += ("needs_found", "family_feedback", "created_at", *(t.field for t in TRACKS))
    policies: dict[int, list[str]] = {}
    through = HomeVisit.policies.through.objects.filter(homevisit__in=visits.order_by().values("pk"))
    for visit_id, name in through.order_by("aidpolicy__name").values_list("homevisit_id", "aidpolicy__name"):
        policies.setdefault(visit_id, []).append(name)
    for row in visits.values(*fields, **_WHO).iterator(chunk_size=TALK_CHUNK_SIZE):
        row["tracks"] = "、".join(t.label for t in TRACKS if row[t.field])
        row["policies"] = "、".join(policies.get(row["pk"], ()))
        yield _with_class(row)


VISIT_DETAIL = Report(
    name="visit_detail",
    label="家访记录明细",
    description="所选学期每一次家访:日期、学校、班级、学生、帮扶教师、走访人员、见到的家庭成员、"
    "“五导”内容、宣讲的资助政策、生活与学习条件、发现的需求、家庭反馈;可按乡镇、学校筛选。",
    filter_of=_record_filter(HomeVisit, lambda term: {"term": term}, PairingRecordReportFilter),
    selector=_visit_selector,
    rows=_visit_rows,
    filterset=PairingRecordReportFilter,
    columns=(
        ReportColumn("date", "家访日期", G.RECORDS, CellKind.DATE, width=12),
        *_WHO_COLUMNS,
        ReportColumn("visitors", "走访人员", G.RECORDS),
        ReportColumn("members_met", "见到的家庭成员", G.RECORDS),
        ReportColumn("tracks", "五导内容", G.RECORDS),
        ReportColumn("policies", "宣讲的资助政策", G.RECORDS, width=MAX_TEXT_WIDTH),
        ReportColumn("living_conditions", "生活条件", G.RECORDS, width=MAX_TEXT_WIDTH),
        ReportColumn("study_conditions", "学习条件", G.RECORDS, width=MAX_TEXT_WIDTH),
        ReportColumn("needs_found", "发现的需求", G.RECORDS, width=MAX_TEXT_WIDTH),
        ReportColumn("family_feedback", "家庭反馈意见", G.RECORDS, width=MAX_TEXT_WIDTH),
        ReportColumn("created_at", "记录时间", G.RECORDS, CellKind.DATETIME, width=17),
    ),
)


def _excused_selector(filterset: PairingRecordReportFilter, term: Term) -> QuerySet[ExcusedWeek]:
    return cast(QuerySet[ExcusedWeek], filterset.qs).order_by(*_WHERE_ORDER, "week_monday", "pk")


def _excused_rows(weeks: QuerySet[ExcusedWeek], term: Term) -> Iterator[dict[str, Any]]:
    reasons = dict(ExcusedWeek._meta.get_field("reason").choices or ())
    fields = ("week_monday", "reason", "note", "created_at")
    for row in weeks.values(*fields, excused_by_name=F("excused_by__full_name"), **_WHO).iterator(
        chunk_size=TALK_CHUNK_SIZE
    ):
        row["reason"] = reasons.get(row["reason"], row["reason"])
        yield _with_class(row)


EXCUSED_WEEKS = Report(
    name="excused_weeks",
    label="免记周明细",
    description="所选学期学校资助专干批准免记的每一个结对周次:周一日期、学生、帮扶教师、原因、说明、批准人与时间。",
    filter_of=_record_filter(
        ExcusedWeek,
        lambda term: {"week_monday__gte": calendar.monday_of(term.start_date), "week_monday__lte": term.end_date},
        PairingRecordReportFilter,
    ),
    selector=_excused_selector,
    rows=_excused_rows,
    filterset=PairingRecordReportFilter,
    columns=(
        ReportColumn("week_monday", "周一日期", G.RECORDS, CellKind.DATE, width=12),
        *_WHO_COLUMNS,
        ReportColumn("reason", "原因", G.RECORDS),
        ReportColumn("note", "说明", G.RECORDS, width=MAX_TEXT_WIDTH),
        ReportColumn("excused_by_name", "批准人", G.STAFF),
        ReportColumn("created_at", "批准时间", G.RECORDS, CellKind.DATETIME, width=17),
    ),
)


def _reminder_selector(filterset: ReminderReportFilter, term: Term) -> QuerySet[Reminder]:
    return cast(QuerySet[Reminder], filterset.qs).order_by(*_WHERE_ORDER, "period", "kind", "pk")


def _reminder_rows(reminders: QuerySet[Reminder], term: Term) -> Iterator[dict[str, Any]]:
    kinds = dict(Reminder._meta.get_field("kind").choices or ())
    levels = dict(Reminder._meta.get_field("level").choices or ())
    fields = ("period", "kind", "level", "streak", "created_at", "acknowledged_at", "acknowledgement", "resolved_at")
    for row in reminders.values(*fields, acknowledged_by_name=F("acknowledged_by__full_name"), **_WHO).iterator(
        chunk_size=TALK_CHUNK_SIZE
    ):
        row["kind"] = kinds.get(row["kind"], row["kind"])
        row["level"] = levels.get(row["level"], row["level"])
        row["state"] = "已补记" if row["resolved_at"] else "已确认" if row["acknowledged_at"] else "未处理"
        yield _with_class(row)


REMINDERS = Report(
    name="reminders",
    label="提醒与上报记录",
    description="所选学期系统发出的每一条提醒(上周未记录谈心谈话、本学期尚未家访):所属周、学生、帮扶教师、"
    "升级到的级别(提醒教师、告知学校资助专干、上报市资助中心)、连续周数、确认与补记情况;"
    "可按乡镇、学校、类型、级别、处理情况筛选。",
    filter_of=_record_filter(Reminder, lambda term: {"term": term}, ReminderReportFilter),
    selector=_reminder_selector,
    rows=_reminder_rows,
    filterset=ReminderReportFilter,
    columns=(
        ReportColumn("period", "所属周(周一)", None, CellKind.DATE, width=14),
        ReportColumn("kind", "类型", None),
        *_WHO_COLUMNS,
        ReportColumn("level", "级别", None),
        ReportColumn("streak", "连续周数", None, CellKind.INTEGER),
        ReportColumn("state", "处理情况", None),
        ReportColumn("created_at", "生成时间", None, CellKind.DATETIME, width=17),
        ReportColumn("acknowledged_at", "确认时间", None, CellKind.DATETIME, width=17),
        ReportColumn("acknowledged_by_name", "确认人", G.STAFF),
        ReportColumn("acknowledgement", "确认说明", G.RECORDS, width=MAX_TEXT_WIDTH),
        ReportColumn("resolved_at", "补记时间", None, CellKind.DATETIME, width=17),
    ),
)

# --- 帮扶档案审核进度 ---------------------------------------------------------------------------------


def _review_filter(user: Any, data: Any, term: Term) -> ReviewProgressFilter:
    return review_progress_filter(user, data, term=term, as_of=_as_of(term))  # the progress page's own


def _review_selector(filterset: ReviewProgressFilter, term: Term) -> list[Progress]:
    _total, towns = progress_of(filterset.qs, term=term)
    return [school for town in towns for school in town.schools]


def _review_rows(schools: list[Progress], term: Term) -> Iterator[dict[str, Any]]:
    for school in schools:
        yield {
            "town": school.town,
            "school": school.name,
            "students": school.students,
            "not_started": school.not_started,
            "in_progress": school.in_progress,
            "signed_off": school.signed_off,
            "rate": school.rate,
        }


REVIEW_PROGRESS = Report(
    name="review_progress",
    label="帮扶档案审核进度",
    description="每所学校本学期有结对的学生中,档案审核未开始、审核中、已签结的人数与签结率;与“档案审核进度”页的筛选相同。",
    filter_of=_review_filter,
    selector=_review_selector,
    rows=_review_rows,
    filterset=ReviewProgressFilter,
    columns=(
        ReportColumn("town", "乡镇", None),
        ReportColumn("school", "学校", None),
        ReportColumn("students", "结对学生数", None, CellKind.INTEGER, total=Total.SUM),
        ReportColumn("not_started", "未开始", None, CellKind.INTEGER, total=Total.SUM),
        ReportColumn("in_progress", "审核中", None, CellKind.INTEGER, total=Total.SUM),
        ReportColumn("signed_off", "已签结", None, CellKind.INTEGER, total=Total.SUM),
        ReportColumn("rate", "签结率", None, CellKind.PERCENT, ratio_of=("signed_off", "students")),
    ),
)

# --- 辍学学生台账 (issue 11, points 2, 3 and 6) -----------------------------------------------------------


def _dropout_filter(user: Any, data: Any, term: Term) -> RecoveryLedgerFilter:
    return recovery_ledger_filter(user, data, today=timezone.localdate())  # the ledger page's own


def _dropout_rows(students: QuerySet[Student], term: Term) -> Iterator[dict[str, Any]]:
    """The ledger's rows, streamed (the cases' prefetch runs once per chunk)."""
    today = timezone.localdate()
    for student in students.iterator(chunk_size=CHUNK_SIZE):
        line = ledger_line(student, today=today)
        case = line.case
        yield {
            "town": student.school.town.name,
            "school": student.school.name,
            "student": student.name,
            "gender": student.get_gender_display(),
            "id_number": student.id_number,
            "student_number": student.student_number,
            "class": student.class_label,
            "state": line.state_label,
            "overdue": "是" if line.overdue else "",
            "dropped_on": line.dropped_on,
            "leave_reason": case.leave_reason if case else "",
            "opened_on": case.opened_on if case else None,
            "days_open": line.days_open,
            "teacher": case.teacher.name if case and case.teacher else "",
            "head_teacher": case.head_teacher if case else "",
            "village_cadre": case.village_cadre if case else "",
            "officer": case.officer.get_full_name() if case and case.officer else "",
            "attempts": getattr(case, "attempt_count", None) or 0 if case else None,
            "last_attempt_on": getattr(case, "last_attempt_on", None),
            "last_method": line.last_method_label,
            "last_outcome": getattr(case, "last_outcome", None) or "",
            "next_step": case.next_step if case else "",
            "next_step_due": case.next_step_due if case else None,
            "returned_on": case.returned_on if case else None,
            "returned_class": case.returned_class if case else "",
            "closed_on": case.closed_on if case else None,
            "close_reason": case.close_reason if case else "",
        }


DROPOUTS = Report(
    name="dropouts",
    label="辍学学生台账",
    description="每一名辍学学生(及有劝返方案的学生):劝返状态(待建方案、劝返中、学籍已复学待销号、已返校销号、"
    "其他销号)、是否逾期、辍学与建案日期、建案天数、责任人、劝返次数、最近一次劝返、下一步措施、返校情况;"
    "与“辍学与劝返”台账的筛选相同。",
    filter_of=_dropout_filter,
    selector=lambda filterset, term: filterset.qs,
    rows=_dropout_rows,
    filterset=RecoveryLedgerFilter,
    columns=(
        ReportColumn("town", "乡镇", None),
        ReportColumn("school", "学校", None),
        ReportColumn("student", "学生姓名", G.IDENTITY, total=Total.COUNT),
        ReportColumn("gender", "性别", G.IDENTITY),
        ReportColumn("id_number", "身份证号", G.IDENTITY, width=22, masked_without=G.FULL_ID),
        ReportColumn("student_number", "学籍号", G.IDENTITY, width=23, masked_without=G.FULL_ID),
        ReportColumn("class", "年级班级", G.IDENTITY),
        ReportColumn("state", "劝返状态", G.IDENTITY, width=18),
        ReportColumn("overdue", "是否逾期", G.RECORDS),
        ReportColumn("dropped_on", "辍学日期", G.IDENTITY, CellKind.DATE, width=12),
        ReportColumn("leave_reason", "辍学原因", G.ENROLLMENT, width=MAX_TEXT_WIDTH),
        ReportColumn("opened_on", "建案日期", G.RECORDS, CellKind.DATE, width=12),
        ReportColumn("days_open", "建案天数", G.RECORDS, CellKind.INTEGER),
        ReportColumn("teacher", "帮扶教师", G.RECORDS),
        ReportColumn("head_teacher", "班主任", G.RECORDS),
        ReportColumn("village_cadre", "村(社区)干部", G.RECORDS, width=20),
        ReportColumn("officer", "负责资助专干", G.RECORDS),
        ReportColumn("attempts", "劝返次数", G.RECORDS, CellKind.INTEGER, total=Total.SUM),
        ReportColumn("last_attempt_on", "最近劝返日期", G.RECORDS, CellKind.DATE, width=12),
        ReportColumn("last_method", "最近劝返方式", G.RECORDS),
        ReportColumn("last_outcome", "最近劝返结果", G.RECORDS, width=MAX_TEXT_WIDTH),
        ReportColumn("next_step", "下一步措施", G.RECORDS, width=MAX_TEXT_WIDTH),
        ReportColumn("next_step_due", "下一步完成日期", G.RECORDS, CellKind.DATE, width=12),
        ReportColumn("returned_on", "返校日期", G.RECORDS, CellKind.DATE, width=12),
        ReportColumn("returned_class", "返回班级", G.RECORDS),
        ReportColumn("closed_on", "销号日期", G.RECORDS, CellKind.DATE, width=12),
        ReportColumn("close_reason", "销号说明", G.RECORDS, width=MAX_TEXT_WIDTH),
    ),
)

# --- 预警学生 (issue 11, point 5) ----------------------------------------------------------------------


def _warning_filter(user: Any, data: Any, term: Term) -> WarningFlagFilter:
    return early_warning.warning_flags_filter(user, data)  # the 预警学生 page's own selector


def _warning_selector(filterset: WarningFlagFilter, term: Term) -> QuerySet[WarningFlag]:
    return cast(QuerySet[WarningFlag], filterset.qs)


def _warning_rows(flags: QuerySet[WarningFlag], term: Term) -> Iterator[dict[str, Any]]:
    signs = dict(WarningSign.choices)
    for row in flags.values(
        "raised_on",
        "ended_on",
        "value",
        "sign",
        "handled_at",
        "action",
        student_name=F("student__name"),
        id_number=F("student__id_number"),
        school=F("student__school__name"),
        town=F("student__school__town__name"),
        handled_by_name=F("handled_by__full_name"),
    ).iterator(chunk_size=CHUNK_SIZE):
        state = "信号已消失" if row["ended_on"] else "已处理" if row["handled_at"] else "待处理"
        yield {**row, "sign": signs.get(row["sign"], row["sign"]), "state": state}


WARNINGS = Report(
    name="warnings",
    label="预警学生名单",
    description="导出时的辍学预警(默认为当前预警,可按状态选往期):学生、学校、预警信号及其数值与阈值、预警日期、"
    "处理状态、处理人与措施。",
    filter_of=_warning_filter,
    selector=_warning_selector,
    rows=_warning_rows,
    filterset=WarningFlagFilter,
    columns=(
        ReportColumn("town", "乡镇", None),
        ReportColumn("school", "学校", None),
        ReportColumn("student_name", "学生", G.IDENTITY, total=Total.COUNT),
        ReportColumn("id_number", "身份证号", G.IDENTITY, width=22, masked_without=G.FULL_ID),
        ReportColumn("sign", "预警信号", G.RECORDS),
        ReportColumn("value", "数值与阈值", G.RECORDS, width=MAX_TEXT_WIDTH),
        ReportColumn("raised_on", "预警日期", G.RECORDS, CellKind.DATE, width=12),
        ReportColumn("ended_on", "信号消失日期", G.RECORDS, CellKind.DATE, width=12),
        ReportColumn("state", "状态", G.RECORDS),
        ReportColumn("handled_by_name", "处理人", G.STAFF),
        ReportColumn("handled_at", "处理时间", G.RECORDS, CellKind.DATETIME, width=17),
        ReportColumn("action", "采取的措施", G.RECORDS, width=MAX_TEXT_WIDTH),
    ),
)


# --- 转介台账 (部门联动, issue 11 point 4) -----------------------------------------------------------


def _referral_filter(user: Any, data: Any, term: Term) -> ReferralFilter:
    return referrals_for_list(user, data)  # the referral list page's own selector


def _referral_rows(referrals: QuerySet[Referral], term: Term) -> Iterator[dict[str, Any]]:
    today = timezone.localdate()
    referral: Referral
    for referral in referrals.iterator(chunk_size=CHUNK_SIZE):
        student = referral.student
        aid_total = getattr(referral, "aid_total", None) or None
        yield {
            "reference": referral.reference,
            "referred_on": referral.referred_on,
            "department": referral.department.name,
            "town": student.school.town.name,
            "school": student.school.name,
            "student": student.name,
            "id_number": student.id_number,
            "class": student.class_label,
            "reason": referral.reason,
            "status": referral.get_status_display(),
            "due_on": referral.due_on,
            "accepted_on": referral.accepted_on,
            "closed_on": referral.closed_on,
            "outcome": referral.outcome,
            "aid_total": aid_total,
            "help_text": referral.help_text,
            "overdue": "逾期" if referral.is_overdue(today) else "",
        }


REFERRALS = Report(
    name="referrals",
    label="转介台账",
    description="每一条部门联动转介(不分学期):编号、转介日期、部门、学生、学校、需要帮助解决的问题、办理状态与各环节日期、"
    "办理结果、获得的资助与其他帮扶、是否逾期;与“部门联动”列表的筛选相同。",
    filter_of=_referral_filter,
    selector=lambda filterset, term: referral_rows(filterset),
    rows=_referral_rows,
    filterset=ReferralFilter,
    columns=(
        ReportColumn("reference", "转介单编号", None, width=18),
        ReportColumn("referred_on", "转介日期", G.RECORDS, CellKind.DATE, width=12),
        ReportColumn("department", "转介部门", G.RECORDS),
        ReportColumn("town", "乡镇", None),
        ReportColumn("school", "学校", None),
        ReportColumn("student", "学生姓名", G.IDENTITY, total=Total.COUNT),
        ReportColumn("id_number", "身份证号", G.IDENTITY, width=22, masked_without=G.FULL_ID),
        ReportColumn("class", "年级班级", G.IDENTITY),
        ReportColumn("reason", "需要帮助解决的问题", G.RECORDS, width=MAX_TEXT_WIDTH),
        ReportColumn("status", "办理状态", G.RECORDS),
        ReportColumn("due_on", "答复期限", G.RECORDS, CellKind.DATE, width=12),
        ReportColumn("accepted_on", "受理日期", G.RECORDS, CellKind.DATE, width=12),
        ReportColumn("closed_on", "办结日期", G.RECORDS, CellKind.DATE, width=12),
        ReportColumn("outcome", "办理结果", G.RECORDS, width=MAX_TEXT_WIDTH),
        ReportColumn("aid_total", "获得资助(元)", G.ASSESSMENT, CellKind.DECIMAL, total=Total.SUM),
        ReportColumn("help_text", "其他帮扶", G.RECORDS, width=MAX_TEXT_WIDTH),
        ReportColumn("overdue", "逾期", G.RECORDS),
    ),
)

# --- 控辍保学 ledgers (issue 11, point 2): the pages' own selectors and filters ------------------------------


def _children_filter(user: Any, data: Any, term: Term) -> SchoolAgeChildFilter:
    return dropout_selectors.children_for_list(user, data)


def _children_rows(children: QuerySet[SchoolAgeChild], term: Term) -> Iterator[dict[str, Any]]:
    for child in children.iterator(chunk_size=CHUNK_SIZE):
        matched = child.student_status is not None  # type: ignore[attr-defined]
        yield {
            "town": child.town.name,
            "village": child.village,
            "name": child.name,
            "gender": child.get_gender_display(),
            "birth_date": child.birth_date,
            "id_number": child.id_number,
            "guardian": child.guardian_name,
            "guardian_phone": child.guardian_phone,
            "match": dropout_selectors.match_label(child),
            "school": child.student_school or "",  # type: ignore[attr-defined]
            "grade": grade_name(child.student_stage, child.student_grade) if matched else "",  # type: ignore[attr-defined]
            "verification": "" if matched else child.get_verification_display(),
            "verification_note": child.verification_note,
            "verified_on": child.verified_on,
        }


SCHOOL_AGE_CHILDREN = Report(
    name="school_age_children",
    label="适龄儿童台账",
    description="乡镇提供的义务教育适龄儿童名单与全市学籍的比对:在校学校与年级、休学、辍学或未匹配,未匹配儿童的核实情况;与“适龄儿童台账”页的筛选相同。",
    filter_of=_children_filter,
    selector=lambda filterset, term: filterset.qs,
    rows=_children_rows,
    filterset=SchoolAgeChildFilter,
    columns=(
        ReportColumn("town", "乡镇", G.CONTACT),
        ReportColumn("village", "村(社区)", G.CONTACT),
        ReportColumn("name", "姓名", G.IDENTITY, total=Total.COUNT),
        ReportColumn("gender", "性别", G.IDENTITY),
        ReportColumn("birth_date", "出生日期", G.IDENTITY, CellKind.DATE, width=12),
        ReportColumn("id_number", "身份证号", G.IDENTITY, width=22, masked_without=G.FULL_ID),
        ReportColumn("guardian", "监护人", G.CONTACT),
        ReportColumn("guardian_phone", "联系电话", G.CONTACT, width=14),
        ReportColumn("match", "学籍比对", G.IDENTITY),
        ReportColumn("school", "就读学校", G.IDENTITY),
        ReportColumn("grade", "年级", G.IDENTITY),
        ReportColumn("verification", "核实情况", G.ENROLLMENT),
        ReportColumn("verification_note", "核实说明", G.ENROLLMENT, width=MAX_TEXT_WIDTH),
        ReportColumn("verified_on", "核实日期", G.ENROLLMENT, CellKind.DATE, width=12),
    ),
)


def _suspected_filter(user: Any, data: Any, term: Term) -> SuspectedDropoutFilter:
    return dropout_selectors.suspected_for_list(user, data)


def _suspected_rows(entries: QuerySet[SuspectedDropout], term: Term) -> Iterator[dict[str, Any]]:
    for entry in entries.iterator(chunk_size=CHUNK_SIZE):
        student = entry.student
        yield {
            "town": entry.school.town.name,
            "school": entry.school.name,
            "student": student.name,
            "id_number": student.id_number,
            "class": student.class_label,
            "first_absent_on": entry.first_absent_on,
            "days_absent": entry.days_absent,
            "source": entry.get_source_display(),
            "entered_on": entry.entered_on,
            "in_week": "" if entry.entered_in_week is None else ("是" if entry.entered_in_week else "否"),
            "status": entry.get_status_display(),
            "resolved_on": entry.resolved_on,
            "note": entry.note,
            "resolution_note": entry.resolution_note,
        }


SUSPECTED_DROPOUTS = Report(
    name="suspected_dropouts",
    label="疑似辍学学生台账",
    description="每条疑似辍学登记:首次缺勤日期、无故缺勤天数、来源、登记日期与是否当周登记、状态与处理日期;与“疑似辍学学生台账”页的筛选相同。",
    filter_of=_suspected_filter,
    selector=lambda filterset, term: filterset.qs,
    rows=_suspected_rows,
    filterset=SuspectedDropoutFilter,
    columns=(
        ReportColumn("town", "乡镇", None),
        ReportColumn("school", "学校", None),
        ReportColumn("student", "学生姓名", G.IDENTITY, total=Total.COUNT),
        ReportColumn("id_number", "身份证号", G.IDENTITY, width=22, masked_without=G.FULL_ID),
        ReportColumn("class", "年级班级", G.IDENTITY),
        ReportColumn("first_absent_on", "首次缺勤日期", G.ENROLLMENT, CellKind.DATE, width=12),
        ReportColumn("days_absent", "无故缺勤天数", G.ENROLLMENT, CellKind.INTEGER),
        ReportColumn("source", "来源", G.ENROLLMENT),
        ReportColumn("entered_on", "登记日期", None, CellKind.DATE, width=12),
        ReportColumn("in_week", "是否当周登记", None),
        ReportColumn("status", "状态", G.ENROLLMENT),
        ReportColumn("resolved_on", "处理日期", G.ENROLLMENT, CellKind.DATE, width=12),
        ReportColumn("note", "情况说明", G.ENROLLMENT, width=MAX_TEXT_WIDTH),
        ReportColumn("resolution_note", "处理说明", G.ENROLLMENT, width=MAX_TEXT_WIDTH),
    ),
)


def _monthly_filter(user: Any, data: Any, term: Term) -> DropoutSchoolFilter:
    return dropout_selectors.dropout_schools(user, data)


def _monthly_rows(lines: list[dropout_selectors.MonthLine], term: Term) -> Iterator[dict[str, Any]]:
    for line in lines:
        cell, report = line.cell, line.cell.report
        yield {
            "town": line.school.town.name,
            "school": line.school.name,
            "month": f"{cell.month:%Y年%m月}",
            "due_on": dropouts.monthly_due_on(cell.month),
            "status": cell.label,
            "submitted_on": report.submitted_on if report else None,
            "enrolled": report.enrolled if report else None,
            "suspected_open": report.suspected_open if report else None,
            "dropouts_open": report.dropouts_open if report else None,
            "returned": report.returned if report else None,
            "note": report.note if report else "",
        }


DROPOUT_MONTHLY = Report(
    name="dropout_monthly",
    label="控辍保学月报",
    description="每所小学、初中近六个月(截至所选月份)的月报状态:未到期、待报、已报、逾期未报、逾期补报,报送日期与报送时的人数。",
    filter_of=_monthly_filter,
    selector=lambda filterset, term: dropout_selectors.monthly_lines(filterset),
    rows=_monthly_rows,
    filterset=DropoutSchoolFilter,
    columns=(
        ReportColumn("town", "乡镇", None),
        ReportColumn("school", "学校", None),
        ReportColumn("month", "月份", None),
        ReportColumn("due_on", "应报日期", None, CellKind.DATE, width=12),
        ReportColumn("status", "状态", None),
        ReportColumn("submitted_on", "报送日期", None, CellKind.DATE, width=12),
        ReportColumn("enrolled", "在校资助学生数", None, CellKind.INTEGER),
        ReportColumn("suspected_open", "疑似辍学在册", None, CellKind.INTEGER),
        ReportColumn("dropouts_open", "辍学在册", None, CellKind.INTEGER),
        ReportColumn("returned", "本月返校", None, CellKind.INTEGER),
        ReportColumn("note", "说明", None, width=MAX_TEXT_WIDTH),
    ),
)

# --- 认定变动 (动态管理) ---------------------------------------------------------------------------------


def _change_filter(user: Any, data: Any, term: Term) -> AssessmentChangeFilter:
    return assessment_change_filter(user, data)  # the 认定变动 page's own


def _change_rows(lines: list[ChangeLine], term: Term) -> Iterator[dict[str, Any]]:
    for line in lines:
        student = line.student
        confirmation = line.confirmation if line.confirmed else None
        yield {
            "town": student.school.town.name,
            "school": student.school.name,
            "student": student.name,
            "id_number": student.id_number,
            "class": student.class_label,
            "kind": line.kind_label,
            "before": line.before_words,
            "after": line.after_words,
            "date": line.date,
            "reason": line.reason,
            "recorded_by": line.recorded_by_name,
            "confirmed": "已确认" if confirmation else "待确认",
            "confirmed_by": confirmation.confirmed_by.get_full_name() if confirmation else "",
            "confirmed_at": confirmation.confirmed_at if confirmation else None,
        }


ASSESSMENT_CHANGES = Report(
    name="assessment_changes",
    label="认定变动明细",
    description="所选学期与上一学期相比,每名学生的困难认定变动(新增、退出、等级变化、类别变化):变动前后、日期、原因、"
    "记录人与确认情况;与“认定变动”页的筛选相同。",
    filter_of=_change_filter,
    selector=lambda filterset, term: assessment_changes(filterset, term=term, previous=previous_term(term)),
    rows=_change_rows,
    filterset=AssessmentChangeFilter,
    columns=(
        ReportColumn("town", "乡镇", None),
        ReportColumn("school", "学校", None),
        ReportColumn("student", "学生姓名", G.IDENTITY, total=Total.COUNT),
        ReportColumn("id_number", "身份证号", G.IDENTITY, width=22, masked_without=G.FULL_ID),
        ReportColumn("class", "年级班级", G.IDENTITY),
        ReportColumn("kind", "变动类型", G.ASSESSMENT),
        ReportColumn("before", "变动前", G.ASSESSMENT, width=24),
        ReportColumn("after", "变动后", G.ASSESSMENT, width=24),
        ReportColumn("date", "变动日期", G.ASSESSMENT, CellKind.DATE, width=12),
        ReportColumn("reason", "原因", G.ASSESSMENT, width=MAX_TEXT_WIDTH),
        ReportColumn("recorded_by", "记录人", G.IDENTITY),
        ReportColumn("confirmed", "确认状态", G.ASSESSMENT),
        ReportColumn("confirmed_by", "确认人", G.IDENTITY),
        ReportColumn("confirmed_at", "确认时间", None, CellKind.DATETIME, width=17),
    ),
)


def _school_change_filter(user: Any, data: Any, term: Term) -> SchoolChangeFilter:
    return school_change_filter(user, data)  # the county's 认定变动统计 page's own


def _school_change_rows(schools: list[SchoolChangeCounts], term: Term) -> Iterator[dict[str, Any]]:
    for school in schools:
        yield {
            "town": school.town,
            "school": school.name,
            "added": school.added,
            "exited": school.exited,
            "level": school.level,
            "category": school.category,
            "confirmed": school.confirmed,
            "pending": school.pending,
        }


ASSESSMENT_CHANGES_BY_SCHOOL = Report(
    name="assessment_changes_by_school",
    label="认定变动统计(按学校)",
    description="每所学校所选学期与上一学期相比的认定新增、退出、等级变化、类别变化人数,及已确认、待确认数;"
    "与“认定变动(按学校)”页的筛选相同。",
    filter_of=_school_change_filter,
    selector=lambda filterset, term: school_changes(filterset, term=term, previous=previous_term(term)).schools,
    rows=_school_change_rows,
    filterset=SchoolChangeFilter,
    columns=(
        ReportColumn("town", "乡镇", None),
        ReportColumn("school", "学校", None),
        ReportColumn("added", "新增", None, CellKind.INTEGER, total=Total.SUM),
        ReportColumn("exited", "退出", None, CellKind.INTEGER, total=Total.SUM),
        ReportColumn("level", "等级变化", None, CellKind.INTEGER, total=Total.SUM),
        ReportColumn("category", "类别变化", None, CellKind.INTEGER, total=Total.SUM),
        ReportColumn("confirmed", "已确认", None, CellKind.INTEGER, total=Total.SUM),
        ReportColumn("pending", "待确认", None, CellKind.INTEGER, total=Total.SUM),
    ),
)

REPORTS: dict[str, Report] = {
    r.name: r
    for r in (
        PAIRINGS,
        SCHOOL_COMPLIANCE,
        TOWN_COMPLIANCE,
        TEACHER_COMPLIANCE,
        ROSTER,
        TALK_DETAIL,
        VISIT_DETAIL,
        EXCUSED_WEEKS,
        REMINDERS,
        REVIEW_PROGRESS,
        DROPOUTS,
        WARNINGS,
        REFERRALS,
        SCHOOL_AGE_CHILDREN,
        SUSPECTED_DROPOUTS,
        DROPOUT_MONTHLY,
        ASSESSMENT_CHANGES,
        ASSESSMENT_CHANGES_BY_SCHOOL,
    )
}


# --- Columns per reader, the filter in words, the file ----------------------------------------------


def columns_for(report: Report, user: Any) -> list[ReportColumn]:
    """The report's columns this reader may see for every row of their scope (fields.py)."""
    shown = broad_access(user).groups
    return [c for c in report.columns if c.group is None or c.group in shown]


def _cell_values(columns: list[ReportColumn], user: Any) -> Callable[[dict[str, Any]], list[Any]]:
    shown = broad_access(user).groups
    masked = {c.key for c in columns if c.masked_without is not None and c.masked_without not in shown}

    keys = [c.key for c in columns]
    if not masked:  # the common case, asked once per file rather than per cell
        return lambda row: [row[key] for key in keys]

    def values(row: dict[str, Any]) -> list[Any]:
        return [mask_id_number(row[key]) if key in masked else row[key] for key in keys]

    return values


def filter_words(filterset: django_filters.FilterSet, term: Term) -> str:
    """The filter applied, as the file's 筛选条件 row says it: 学期, then each field set (a choice the
    list ignored as invalid is not named, since it filtered nothing)."""
    cleaned = getattr(filterset.form, "cleaned_data", {})
    parts = [f"学期:{term.name}"]
    for name, field in filterset.form.fields.items():
        value = cleaned.get(name)
        if value in (None, "", [], ()):
            continue
        if isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
            value = dict(field.choices).get(value, value)  # type: ignore[arg-type]
        parts.append(f"{field.label}:{value}")
    return ";".join(parts) if len(parts) > 1 else f"{parts[0]};其他:全部"


def unit_of(user: Any) -> str:
    """填报单位: the officer's school, or the county centre."""
    scope = scope_of(user)
    if scope.school_id is not None:
        return str(user.teacher.school.name)
    return COUNTY_UNIT


def report_term(user: Any, term_id: Any) -> Term:
    """The term asked for (an id), or the current one."""
    if term_id not in (None, ""):
        term = (
            Term.objects.select_related("school_year").filter(pk=int(term_id)).first()
            if str(term_id).isdigit()
            else None
        )
        if term is None:
            raise ValidationError("所选学期不存在。", code="invalid")
        return term
    term = term_today(school_id=scope_of(user).school_id).term
    if term is None:
        raise ValidationError("尚未设置学期,暂无可导出的报表。", code="invalid")
    return term


@dataclass(frozen=True)
class ExportResult:
    report: Report
    term: Term
    rows: int
    filename: str
    filters: str


@dataclass(frozen=True)
class PreparedReport:
    """A report, its term and its bound filter for a reader: what both writing and counting start from."""

    report: Report
    term: Term
    filterset: django_filters.FilterSet

    @property
    def filters(self) -> str:
        return filter_words(self.filterset, self.term)


def report_prepare(*, name: str, user: Any, data: Mapping[str, Any], strict: bool = False) -> PreparedReport:
    """The checks every export makes before reading a row: the report exists, the reader may export,
    the term has begun; ``strict``: a filter value the list would ignore is refused."""
    report = REPORTS.get(name)
    if report is None:
        raise ValidationError(f"没有名为“{name}”的报表。", code="invalid")
    if scope_of(user).role not in REPORT_ROLES:
        raise ValidationError("您的角色无权导出报表。", code="forbidden")
    term = report_term(user, data.get("term"))
    if term.start_date > timezone.localdate():
        raise ValidationError("该学期尚未开始,暂无可导出的数据。", code="invalid")
    filterset = report.filter_of(user, data, term)
    if not filterset.is_valid() and strict:
        raise ValidationError(_errors_in_words(filterset), code="invalid")
    if strict and (not_offered := [key for key in data if key != "term" and key not in filterset.filters]):
        # An officer's compliance report has no town filter: saying so beats a file that looks filtered.
        raise ValidationError(f"此报表对您不提供这些筛选:{'、'.join(not_offered)}。", code="invalid")
    return PreparedReport(report=report, term=term, filterset=filterset)


def report_row_count(prepared: PreparedReport) -> int | None:
    """The rows the file will hold, counted by the list's own selector (one COUNT query); None for a
    report whose selector computes figures rather than selecting rows (one row per school: always small)."""
    selected = prepared.report.selector(prepared.filterset, prepared.term)
    return selected.count() if isinstance(selected, QuerySet) else None


# Rows between two calls of report_export's on_progress (a background export's progress update).
PROGRESS_EVERY = 500


def report_export(
    *,
    name: str,
    user: Any,
    data: Mapping[str, Any],
    target: str | IO[bytes],
    strict: bool = False,
    on_progress: Callable[[int], None] | None = None,
    audited: bool = True,
    prepared: PreparedReport | None = None,
) -> ExportResult:
    """Write report ``name`` for ``user`` filtered by ``data`` (the web list's query parameters,
    plus ``term``, an id) to ``target``, and audit it. ``strict``: refuse a filter value the list
    would ignore (the command wants to know; the page filters as its list does).

    ``on_progress(rows written)`` is called every PROGRESS_EVERY rows (a background export's progress
    bar; it may raise to stop the write). ``audited=False``: the caller wrote the audit line already
    (a background export is audited when it is requested, casefiles/report_exports.py).
    ``prepared``: report_prepare's result for the same name, user and data (the view has it already)."""
    if prepared is None:
        prepared = report_prepare(name=name, user=user, data=data, strict=strict)
    report, term, filterset = prepared.report, prepared.term, prepared.filterset
    columns = columns_for(report, user)
    values = _cell_values(columns, user)
    now = timezone.now()
    filters = filter_words(filterset, term)
    heading = excel.Heading(
        title=f"{report.label}({term.name})",
        unit=unit_of(user),
        filters=filters,
        exported_at=now,
        exported_by=f"{user.get_full_name() or user.get_username()}({_role_label(user)})",
    )
    rows: Iterable[list[Any]] = (values(row) for row in report.rows(report.selector(filterset, term), term))
    if on_progress is not None:
        rows = _reporting(rows, on_progress)
    count = excel.write_sheet(
        target,
        heading=heading,
        columns=[c.excel() for c in columns],
        rows=rows,
        sheet_title=report.label,
        chart=report.chart
        if report.chart and all(k in {c.key for c in columns} for k in _chart_keys(report))
        else None,
    )
    if on_progress is not None:
        on_progress(count)
    if audited:
        report_audit(prepared, user=user, rows=count)
    return ExportResult(report=report, term=term, rows=count, filename=report_filename(prepared, now), filters=filters)


def report_filename(prepared: PreparedReport, now: dt.datetime) -> str:
    return f"{prepared.report.label}-{prepared.term.name}-{timezone.localtime(now):%Y%m%d-%H%M}.xlsx"


def report_audit(prepared: PreparedReport, *, user: Any, rows: int) -> None:
    """The EXPORT line of a report: who, which report, the filter in words, the row count."""
    report, term = prepared.report, prepared.term
    audit.record(
        AuditAction.EXPORT,
        context=_context_of(user),
        object_type="报表",
        object_id=report.name,
        object_label=f"{report.label}({term.name})",
        changes={"报表": [None, report.label], "筛选条件": [None, prepared.filters], "行数": [None, rows]},
    )


def _reporting(rows: Iterable[list[Any]], on_progress: Callable[[int], None]) -> Iterator[list[Any]]:
    for n, row in enumerate(rows, start=1):
        yield row
        if n % PROGRESS_EVERY == 0:
            on_progress(n)


def _chart_keys(report: Report) -> tuple[str, ...]:
    return (report.chart.category, report.chart.value) if report.chart else ()


def _role_label(user: Any) -> str:
    role = scope_of(user).role
    return Role(role).label if role else ""


def _context_of(user: Any) -> audit.AuditContext:
    """The audit context of the request or command at hand, naming ``user``: a line written for a
    Celery task or a test names the reader the file was written for, never "系统"."""
    context = audit.current_context()
    if context.actor_id == user.pk:
        return context
    return dataclasses.replace(
        context,
        actor_id=user.pk,
        actor_name=user.get_full_name(),
        actor_role=scope_of(user).role or "",
        actor_username=user.get_username(),
    )


def _errors_in_words(filterset: django_filters.FilterSet) -> str:
    fields = filterset.form.fields
    return ";".join(
        f"{fields[name].label if name in fields else name}:{'、'.join(str(m) for m in messages)}"
        for name, messages in filterset.form.errors.items()
    )
