"""The Django admin for the ground floor's reference data, used by the 系统管理员 (superuser).

Daily work happens on the app's own pages; the admin is where towns, schools, terms, closures and the
认定 lists are kept, and where a record can be corrected by hand. ID numbers stay masked here too:
the admin role does not see a full 身份证号, and sees no field the policy in zaoyang_aid/fields.py
keeps from it (FieldPolicyAdminMixin).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import SEARCH_VAR, ChangeList
from django.contrib.messages.storage.base import BaseStorage
from django.db.models import ForeignKey, QuerySet
from django.forms import ModelChoiceField
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from zaoyang_aid import calendar
from zaoyang_aid.admin import AuditedReadAdminMixin, FieldPolicyAdminMixin, ReadOnlyAdminMixin
from zaoyang_aid.fields import FieldGroup
from zaoyang_aid.masking import mask_id_number

from . import figures, services
from .filters import WHOLE_NUMBER_RE
from .forms import StudentForm
from .models import (
    Closure,
    ClosureKind,
    Guardian,
    GuardianConsent,
    HardshipAssessment,
    HardshipLevel,
    Household,
    HouseholdMember,
    Pairing,
    School,
    SchoolYear,
    SpecialCategory,
    Student,
    Teacher,
    Term,
    Town,
)

# --- Towns and schools ---------------------------------------------------------------------------


class TouchesCountyFiguresMixin:
    """An admin whose rows every school's compliance figures read (terms, closures, a school's town):
    a save or a delete changes the county's figure version (pairing.figures), so the dashboards
    recount rather than show what the engine no longer says."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # type: ignore[misc]
        figures.touch_county()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)  # type: ignore[misc]
        figures.touch_county()

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        super().delete_queryset(request, queryset)  # type: ignore[misc]
        figures.touch_county()


@admin.register(Town)
class TownAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the towns come from the statistical division codes (migration 0002)."""

    list_display = ["code", "name", "kind"]
    list_filter = ["kind"]
    search_fields = ["name", "code"]


@admin.register(School)
class SchoolAdmin(TouchesCountyFiguresMixin, admin.ModelAdmin):
    list_display = ["name", "code", "stage", "town"]
    list_filter = ["stage", "town"]
    search_fields = ["name", "code"]
    list_select_related = ["town"]
    autocomplete_fields = ["town"]


# --- School years, terms and closures --------------------------------------------------------------


def unknown_calendar_years(terms: Iterable[Term]) -> list[int]:
    """The years the terms touch whose statutory holidays neither chinese_calendar has nor the admin
    has entered as a county-wide 放假 (Term.years_without_holidays)."""
    holidays = list(Closure.objects.filter(school__isnull=True, kind=ClosureKind.HOLIDAY))
    return sorted({year for term in terms for year in term.years_without_holidays(holidays)})


def warn_unknown_years(request: HttpRequest, terms: Iterable[Term]) -> None:
    """A warning, never an error: the calendar falls back to weekdays until the year's holidays are in."""
    years = unknown_calendar_years(terms)
    if not years:
        return
    text = (
        f"{'、'.join(str(y) for y in years)}年的法定节假日尚未收录,上课日暂按周一至周五计算:"
        "请在“假期、停课与调休”中录入这些年的放假(类型“放假”)和调休上课的周末(类型“调休上课”)"
    )
    # Saving redirects to the changelist, which warns too: say it once.
    storage = messages.get_messages(request)
    pending = any(message.message == text for message in storage)
    if isinstance(storage, BaseStorage):  # always, with the messages middleware the admin requires
        storage.used = False  # keep the messages we just looked at for the page
    if not pending:
        messages.warning(request, text)


class TermChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        # The week counts need the county's closures: one query for the page, not one per term.
        county_rows = list(Closure.objects.filter(school__isnull=True))
        county_closures = [c.date_range for c in county_rows]
        for term in self.result_list:
            term.county_closures = county_closures
            term.county_closure_rows = county_rows


@admin.register(Term)
class TermAdmin(TouchesCountyFiguresMixin, admin.ModelAdmin):
    """Term.clean (run by the admin form) refuses overlapping terms and an end before the start."""

    list_display = ["name", "start_date", "end_date", "school_week_count", "holidays_known"]
    list_filter = ["school_year"]
    list_select_related = ["school_year"]
    date_hierarchy = "start_date"

    @admin.display(description="学期", ordering="start_date")
    def name(self, term: Term) -> str:
        return term.name

    @admin.display(description="教学周数")
    def school_week_count(self, term: Term) -> int:
        closures = getattr(term, "county_closures", None)
        if closures is None:
            closures = term.closures_for()
        return len(calendar.school_weeks(term.date_range, closures))

    @admin.display(description="法定节假日已收录或已录入", boolean=True)
    def holidays_known(self, term: Term) -> bool:
        rows = getattr(term, "county_closure_rows", None)
        if rows is None:
            rows = list(Closure.objects.filter(school__isnull=True, kind=ClosureKind.HOLIDAY))
        return not term.years_without_holidays(rows)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return TermChangeList

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        warn_unknown_years(request, Term.objects.only("start_date", "end_date"))
        return super().changelist_view(request, extra_context)

    def get_form(self, request: HttpRequest, obj: Term | None = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = TermAdminForm
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request: HttpRequest, obj: Term, form: Any, change: bool) -> None:
        if change and {"start_date", "end_date"} & set(form.changed_data):
            # Through the service: it re-derives what depends on the dates (the talk tallies).
            services.term_dates_change(term=obj, start_date=obj.start_date, end_date=obj.end_date)
            if set(form.changed_data) - {"start_date", "end_date"}:
                obj.save()
        else:
            super().save_model(request, obj, form, change)
        warn_unknown_years(request, [obj])


def _dates_problems(form: forms.ModelForm) -> None:
    """A saved term whose dates changed: the service's checks, at the fields (talks or visits that
    would be left outside every term refuse the change)."""
    data = form.cleaned_data
    if form.instance.pk is None or not ({"start_date", "end_date"} & set(form.changed_data)):
        return
    if data.get("start_date") and data.get("end_date"):
        saved = Term.objects.get(pk=form.instance.pk)
        for field, message in services.term_dates_problems(
            term=saved, start_date=data["start_date"], end_date=data["end_date"]
        ).items():
            if field not in form.errors:
                form.add_error(field, message)


class TermAdminForm(forms.ModelForm):
    class Meta:
        model = Term
        fields = ["school_year", "number", "start_date", "end_date"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        _dates_problems(self)
        return self.cleaned_data


class TermInlineFormSet(BaseInlineFormSet):
    """Each row's Term.clean compares it with the terms already saved; the rows of one submit are
    compared with each other here, so two new terms that overlap are refused too."""

    def clean(self) -> None:
        super().clean()
        for form in self.forms:
            if form.cleaned_data and not form.cleaned_data.get("DELETE"):
                _dates_problems(form)
        rows = [
            form
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("start_date")
            and form.cleaned_data.get("end_date")
        ]
        for i, form in enumerate(rows):
            for other in rows[:i]:
                a, b = form.cleaned_data, other.cleaned_data
                if a["start_date"] <= b["end_date"] and b["start_date"] <= a["end_date"]:
                    form.add_error(
                        "start_date", f"与同时填写的另一学期({b['start_date']}至{b['end_date']})的日期重叠。"
                    )


class TermInline(admin.TabularInline):
    model = Term
    formset = TermInlineFormSet
    extra = 0
    fields = ["number", "start_date", "end_date"]


@admin.register(SchoolYear)
class SchoolYearAdmin(TouchesCountyFiguresMixin, admin.ModelAdmin):
    list_display = ["name", "start_year"]
    inlines = [TermInline]

    @admin.display(description="学年", ordering="start_year")
    def name(self, school_year: SchoolYear) -> str:
        return school_year.name

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Saved terms whose dates changed go through term_dates_change (it re-derives the tallies);
        new terms and other fields are saved as usual."""
        moved = [
            f
            for f in formset.forms
            if f.instance.pk is not None
            and not f.cleaned_data.get("DELETE")
            and {"start_date", "end_date"} & set(f.changed_data)
        ]
        for f in moved:
            services.term_dates_change(
                term=f.instance, start_date=f.cleaned_data["start_date"], end_date=f.cleaned_data["end_date"]
            )
        super().save_formset(request, form, formset, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        warn_unknown_years(request, form.instance.terms.all())


@admin.register(Closure)
class ClosureAdmin(TouchesCountyFiguresMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "start_date", "end_date", "where"]
    list_filter = ["kind", "school__stage", "school"]
    search_fields = ["name", "school__name"]
    list_select_related = ["school"]
    autocomplete_fields = ["school"]
    date_hierarchy = "start_date"

    @admin.display(description="范围", ordering="school__name")
    def where(self, closure: Closure) -> str:
        return closure.school.name if closure.school is not None else "全市"


# --- 认定 lists ------------------------------------------------------------------------------------


@admin.register(SpecialCategory)
class SpecialCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "order", "is_active"]
    list_editable = ["order", "is_active"]
    search_fields = ["name"]


@admin.register(HardshipLevel)
class HardshipLevelAdmin(admin.ModelAdmin):
    list_display = ["name", "stage", "order", "is_active"]
    list_editable = ["order", "is_active"]
    list_filter = ["stage", "is_active"]
    search_fields = ["name"]


# --- Staff -----------------------------------------------------------------------------------------


@admin.register(Teacher)
class TeacherAdmin(FieldPolicyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "school", "phone", "title", "is_head_teacher", "role"]
    list_filter = ["user__role", "is_head_teacher", "school__stage", "school"]
    search_fields = ["user__full_name", "user__username", "phone"]
    list_select_related = ["user", "school"]
    autocomplete_fields = ["user", "school"]

    def get_readonly_fields(self, request: HttpRequest, obj: Teacher | None = None) -> Any:
        # A member of staff changes school on the pages (teacher_update), which refuses it while they
        # still 包保 students; the admin does not write around that rule.
        return ["user", "school"] if obj is not None else []

    @admin.display(description="姓名", ordering="user__full_name")
    def name(self, teacher: Teacher) -> str:
        return teacher.name

    @admin.display(description="角色", ordering="user__role")
    def role(self, teacher: Teacher) -> str:
        return teacher.user.get_role_display()


# --- Students and households -----------------------------------------------------------------------


def masked_student_number(value: str) -> str:
    """A G字头学籍号 is G plus the 身份证号, so it is masked like one; J and L numbers are not IDs."""
    return "G" + mask_id_number(value[1:]) if value.startswith("G") else value


class StudentAdminForm(forms.ModelForm):
    """On an existing student the 身份证号 (and a G字头学籍号, which contains it) is not sent to the
    browser: the field starts blank, shows the masked number, and a blank keeps the stored one."""

    class Meta:
        model = Student
        fields = [*StudentForm.Meta.fields, "household"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            return
        self._hide("id_number", mask_id_number(self.instance.id_number))
        if self.instance.student_number.startswith("G"):
            self._hide("student_number", masked_student_number(self.instance.student_number))

    def _hide(self, name: str, masked: str) -> None:
        field = self.fields[name]
        field.required = False
        field.help_text = f"当前为{masked}。留空则不修改;如需更正,请输入完整号码。"
        self.initial[name] = ""

    def clean_id_number(self) -> str:
        return self.cleaned_data["id_number"] or self.instance.id_number

    def clean_student_number(self) -> str:
        return self.cleaned_data["student_number"] or self.instance.student_number


class SearchByNumberTailMixin:
    """Students are found by name or the last digits of the 学籍号, as on the student list
    (pairing.filters). A search travels in the URL and the admin echoes it into the page and its
    links, so a whole ID number or 学籍号 is refused and dropped from the address."""

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if is_whole_number(request.GET.get(SEARCH_VAR, "")):
            messages.error(request, "为保护学生隐私,请勿输入完整的身份证号或学籍号,输入后4至6位即可。")
            params = request.GET.copy()
            del params[SEARCH_VAR]
            return HttpResponseRedirect(f"{request.path}?{params.urlencode()}" if params else request.path)
        return super().changelist_view(request, extra_context)  # type: ignore[misc]  # a mixin: admin.ModelAdmin comes after it in each admin's bases

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Any], search_term: str) -> Any:
        if is_whole_number(search_term):  # the autocomplete widgets search through here too
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)  # type: ignore[misc]  # a mixin: admin.ModelAdmin comes after it in each admin's bases


def is_whole_number(search_term: str) -> bool:
    return bool(WHOLE_NUMBER_RE.fullmatch(search_term.strip().upper()))


class GuardianInline(FieldPolicyAdminMixin, admin.TabularInline):
    model = Guardian
    extra = 0


@admin.register(Student)
class StudentAdmin(FieldPolicyAdminMixin, AuditedReadAdminMixin, SearchByNumberTailMixin, admin.ModelAdmin):
    form = StudentAdminForm
    # Shown masked (StudentAdminForm, the columns below) and searched by their tail: identity.
    policy_columns = {
        "id_number": FieldGroup.IDENTITY,
        "student_number": FieldGroup.IDENTITY,
        "masked_id": FieldGroup.IDENTITY,
        "masked_number": FieldGroup.IDENTITY,
    }
    audit_detail = "学生信息、监护人"
    list_display = ["name", "masked_id", "masked_number", "school", "grade_label", "class_name", "enrollment_status"]
    list_filter = ["school__stage", "enrollment_status", "school__town"]
    search_fields = ["name", "student_number__iendswith"]
    list_select_related = ["school"]
    autocomplete_fields = ["school", "household"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [GuardianInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Student | None = None) -> Any:
        # 学籍状态 and the school change only through the status and transfer services (dated
        # history the compliance engine reads): the student's page offers them.
        if obj is not None:
            return [*self.readonly_fields, "school", "enrollment_status"]
        return self.readonly_fields

    def audit_student_of(self, obj: Student) -> int | None:
        return obj.pk

    @admin.display(description="身份证号")
    def masked_id(self, student: Student) -> str:
        return student.masked_id_number

    @admin.display(description="学籍号")
    def masked_number(self, student: Student) -> str:
        return masked_student_number(student.student_number)

    @admin.display(description="年级", ordering="grade")
    def grade_label(self, student: Student) -> str:
        return student.grade_name


class HouseholdMemberInline(FieldPolicyAdminMixin, admin.TabularInline):
    model = HouseholdMember
    extra = 0


@admin.register(Household)
class HouseholdAdmin(FieldPolicyAdminMixin, AuditedReadAdminMixin, admin.ModelAdmin):
    policy_columns = {"address": FieldGroup.CONTACT}
    audit_detail = "家庭信息、家庭成员"
    list_display = ["address", "town", "village", "student_names"]
    list_filter = ["town"]
    search_fields = ["village", "address_detail", "town__name", "students__name"]
    list_select_related = ["town"]
    autocomplete_fields = ["town"]
    inlines = [HouseholdMemberInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Household]:
        return super().get_queryset(request).prefetch_related("students")

    def audit_student_of(self, obj: Household) -> int | None:
        # A line names one student: the household's first child (the label names the household).
        return min((s.pk for s in obj.students.all()), default=None)

    @admin.display(description="地址")
    def address(self, household: Household) -> str:
        return household.address

    @admin.display(description="在校子女")
    def student_names(self, household: Household) -> str:
        return "、".join(s.name for s in household.students.all())


class HardshipAssessmentAdminForm(forms.ModelForm):
    """assessment_save's checks (the stage's levels, active categories, the date within the term),
    shown at the fields before the save goes through the service."""

    class Meta:
        model = HardshipAssessment
        fields = ["student", "term", "level", "categories", "decided_on", "reason", "note"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        student = data.get("student") or getattr(self.instance, "student", None)
        term = data.get("term") or getattr(self.instance, "term", None)
        if student is None or term is None or "level" in self.errors:
            return data
        problems = services.assessment_problems(
            student=student,
            term=term,
            level=data.get("level"),
            categories=list(data.get("categories") or []),
            decided_on=data.get("decided_on"),
        )
        for field, message in problems.items():
            if field not in self.errors:
                self.add_error(field, message)
        return data


@admin.register(HardshipAssessment)
class HardshipAssessmentAdmin(FieldPolicyAdminMixin, AuditedReadAdminMixin, SearchByNumberTailMixin, admin.ModelAdmin):
    """Saved through assessment_save (one row a student and term); the student and term of a saved
    认定 stay as they are: another term's 认定 is a row of its own."""

    form = HardshipAssessmentAdminForm
    list_display = ["student", "school", "term", "level", "decided_on"]
    list_filter = ["term", "level", "student__school__stage"]
    search_fields = ["student__name", "student__student_number__iendswith"]
    list_select_related = ["student__school", "term__school_year", "level"]
    autocomplete_fields = ["student", "level"]
    filter_horizontal = ["categories"]
    audit_detail = "家庭经济困难认定"

    def audit_student_of(self, obj: HardshipAssessment) -> int | None:
        return obj.student_id

    @admin.display(description="学校", ordering="student__school__name")
    def school(self, assessment: HardshipAssessment) -> School:
        return assessment.student.school

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.name == "term":  # a term's name needs its school year: one query for the list
            kwargs["queryset"] = Term.objects.select_related("school_year")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: HardshipAssessment | None = None) -> Any:
        return ["student", "term"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: HardshipAssessment, form: Any, change: bool) -> None:
        saved = services.assessment_save(
            student=obj.student,
            term=obj.term,
            level=obj.level,
            categories=list(form.cleaned_data["categories"]),
            decided_on=obj.decided_on,
            note=obj.note,
            reason=obj.reason,
            by=request.user,
        )
        obj.pk = saved.pk  # the admin's save_related then writes the same categories


# --- 结对 ------------------------------------------------------------------------------------------


class ActivePairingFilter(admin.SimpleListFilter):
    title = "状态"
    parameter_name = "active"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "进行中"), ("no", "已结束")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Pairing]) -> QuerySet[Pairing]:
        if self.value() == "yes":
            return queryset.filter(ended_on__isnull=True)
        if self.value() == "no":
            return queryset.filter(ended_on__isnull=False)
        return queryset


@admin.register(Pairing)
class PairingAdmin(
    FieldPolicyAdminMixin, AuditedReadAdminMixin, ReadOnlyAdminMixin, SearchByNumberTailMixin, admin.ModelAdmin
):
    """Read-only: pairings start, end and change teacher only on the pages, through the services
    (pairing_create, pairing_end, pairing_reassign), which hold the rules the admin would skip."""

    list_display = ["teacher", "student", "school", "started_on", "ended_on", "end_reason"]
    list_filter = [ActivePairingFilter, "end_reason", "teacher__school__stage", "teacher__school"]
    search_fields = ["teacher__user__full_name", "student__name", "student__student_number__iendswith"]
    list_select_related = ["teacher__user", "teacher__school", "student"]
    autocomplete_fields = ["teacher", "student"]
    readonly_fields = ["created_at"]
    date_hierarchy = "started_on"
    audit_detail = "结对记录"

    def audit_student_of(self, obj: Pairing) -> int | None:
        return obj.student_id

    @admin.display(description="学校", ordering="teacher__school__name")
    def school(self, pairing: Pairing) -> School:
        return pairing.teacher.school


@admin.register(GuardianConsent)
class GuardianConsentAdmin(
    FieldPolicyAdminMixin, AuditedReadAdminMixin, ReadOnlyAdminMixin, SearchByNumberTailMixin, admin.ModelAdmin
):
    """Read-only: consents are recorded and withdrawn on the student's page, through consent_record
    and consent_withdraw, which check the dates, the one active consent and the version."""

    list_display = ["student", "scope", "given_on", "given_by_name", "relation", "method", "withdrawn_on"]
    list_filter = ["scope", "method", "student__school"]
    search_fields = ["student__name", "student__student_number__iendswith", "given_by_name"]
    list_select_related = ["student"]
    date_hierarchy = "given_on"
    audit_detail = "知情同意"

    def audit_student_of(self, obj: GuardianConsent) -> int | None:
        return obj.student_id
