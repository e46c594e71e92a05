"""The ground floor: towns, schools, school years and terms, staff, students, households, pairings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from zaoyang_aid import calendar
from zaoyang_aid.access import Scope, ScopedQuerySet
from zaoyang_aid.fields import FieldGroup, broad_access, paired_access
from zaoyang_aid.masking import mask_id_number

from .validators import normalize_id_number, validate_id_number, validate_phone, validate_student_number


class Stage(models.TextChoices):
    PRESCHOOL = "preschool", "学前"
    PRIMARY = "primary", "小学"
    JUNIOR = "junior", "初中"
    SENIOR = "senior", "高中"
    VOCATIONAL = "vocational", "中职"


# Grades are stored as numbers within a stage and shown as schools say them.
GRADE_NAMES: dict[str, dict[int, str]] = {
    Stage.PRESCHOOL: {1: "小班", 2: "中班", 3: "大班"},
    Stage.PRIMARY: {1: "一年级", 2: "二年级", 3: "三年级", 4: "四年级", 5: "五年级", 6: "六年级"},
    Stage.JUNIOR: {1: "七年级", 2: "八年级", 3: "九年级"},
    Stage.SENIOR: {1: "高一", 2: "高二", 3: "高三"},
    Stage.VOCATIONAL: {1: "一年级", 2: "二年级", 3: "三年级"},
}


def grade_name(stage: str, grade: int) -> str:
    return GRADE_NAMES.get(stage, {}).get(grade, f"{grade}年级")


class TownKind(models.TextChoices):
    STREET = "street", "街道"
    TOWN = "town", "镇"
    ZONE = "zone", "开发区"
    FARM = "farm", "农场"


class Town(models.Model):
    """A town-level division of 枣阳市 (loaded from the statistical division codes)."""

    code = models.CharField("区划代码", max_length=12, unique=True)
    name = models.CharField("名称", max_length=30, unique=True)
    kind = models.CharField("类型", max_length=10, choices=TownKind.choices)

    class Meta:
        verbose_name = "乡镇(街道)"
        verbose_name_plural = "乡镇(街道)"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class SchoolQuerySet(ScopedQuerySet):
    def scope_filter(self, scope: Scope) -> Q | None:
        if scope.is_county_wide:
            return Q()
        return Q(pk=scope.school_id) if scope.school_id else None


class School(models.Model):
    name = models.CharField("学校名称", max_length=100, unique=True)
    code = models.CharField("学校标识码", max_length=20, unique=True)
    stage = models.CharField("学段", max_length=12, choices=Stage.choices)
    town = models.ForeignKey(Town, verbose_name="所在乡镇", on_delete=models.PROTECT, related_name="schools")
    address = models.CharField("地址", max_length=200, blank=True)
    phone = models.CharField("联系电话", max_length=20, blank=True)

    objects = SchoolQuerySet.as_manager()

    class Meta:
        verbose_name = "学校"
        verbose_name_plural = "学校"
        ordering = ["town__code", "stage", "name"]

    def __str__(self) -> str:
        return self.name


class CalendarRow(models.Model):
    """A row of the county's term calendar (school year, term, closure): saving or deleting one
    changes the county's figure token (pairing.figures), which puts the cached calendar
    (pairing.calendars) and every school's dashboard figures out of date at once. In the model, not
    in a service, because the admin, the demo and the tests all write these rows through ``save``;
    a queryset ``update`` does not pass here and must call ``figures.touch_county`` itself."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        _calendar_changed()

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        deleted = super().delete(*args, **kwargs)
        _calendar_changed()
        return deleted


def _calendar_changed() -> None:
    from . import figures  # figures reads Pairing and Student from this module

    figures.touch_county()


class SchoolYear(CalendarRow):
    """学年: from September to the next summer, named 2025-2026学年."""

    start_year = models.PositiveSmallIntegerField("起始年份", unique=True)

    class Meta:
        verbose_name = "学年"
        verbose_name_plural = "学年"
        ordering = ["-start_year"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_year__gte=2000) & Q(start_year__lte=2100),
                name="school_year_plausible",
                violation_error_message="起始年份应在2000至2100之间。",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return calendar.school_year_name(self.start_year)


class TermNumber(models.IntegerChoices):
    FIRST = 1, "第一学期"
    SECOND = 2, "第二学期"


class TermQuerySet(models.QuerySet["Term"]):
    def containing(self, day: dt.date) -> TermQuerySet:
        return self.filter(start_date__lte=day, end_date__gte=day)

    def current(self, day: dt.date | None = None) -> Term | None:
        """The term that ``day`` (today by default) falls in; None in a vacation between terms."""
        day = day or timezone.localdate()
        return self.select_related("school_year").containing(day).first()

    def latest_started(self, day: dt.date | None = None) -> Term | None:
        """The term in progress, else the last one that ended (for pages shown in a vacation)."""
        day = day or timezone.localdate()
        return self.select_related("school_year").filter(start_date__lte=day).order_by("-start_date").first()


class Term(CalendarRow):
    """学期, with dates set by an admin. Named like 2025-2026学年第一学期."""

    school_year = models.ForeignKey(SchoolYear, verbose_name="学年", on_delete=models.PROTECT, related_name="terms")
    number = models.PositiveSmallIntegerField("学期", choices=TermNumber.choices)
    start_date = models.DateField("开学日期")
    end_date = models.DateField("结束日期")

    objects = TermQuerySet.as_manager()

    class Meta:
        verbose_name = "学期"
        verbose_name_plural = "学期"
        ordering = ["-start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["school_year", "number"],
                name="term_unique_in_school_year",
                violation_error_message="该学年已有这个学期。",
            ),
            models.CheckConstraint(
                condition=Q(end_date__gt=models.F("start_date")),
                name="term_ends_after_start",
                violation_error_message="结束日期必须晚于开学日期。",
            ),
        ]
        indexes = [
            # Term.objects.current(): every page asks which term today is in.
            models.Index(fields=["start_date", "end_date"], name="term_dates"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return calendar.term_name(self.school_year.start_year, self.number)

    @property
    def date_range(self) -> calendar.DateRange:
        return calendar.DateRange(self.start_date, self.end_date)

    def clean(self) -> None:
        if self.start_date and self.end_date:
            if self.end_date <= self.start_date:
                raise ValidationError({"end_date": "结束日期必须晚于开学日期。"})
            overlapping = Term.objects.filter(start_date__lte=self.end_date, end_date__gte=self.start_date)
            if self.pk:
                overlapping = overlapping.exclude(pk=self.pk)
            other = overlapping.select_related("school_year").first()
            if other is not None:
                raise ValidationError(f"与{other.name}({other.start_date}至{other.end_date})的日期重叠。")
            if self.school_year_id and (self.end_date - self.start_date).days > 200:
                raise ValidationError({"end_date": "一个学期不应超过200天,请检查日期。"})

    def closures_for(self, school_id: int | None = None) -> list[calendar.DateRange]:
        from .calendars import snapshot  # the cached calendar (it reads this module)

        return [c.date_range for c in snapshot().closures_touching(self.start_date, self.end_date, school_id)]

    def school_weeks(self, school_id: int | None = None) -> list[calendar.SchoolWeek]:
        """This term's school weeks, for the whole county or with one school's closures too (from
        the cached calendar: pairing.calendars)."""
        from .calendars import snapshot

        return snapshot().school_weeks(self, school_id)

    @property
    def calendar_years_known(self) -> bool:
        return all(calendar.year_is_known(y) for y in range(self.start_date.year, self.end_date.year + 1))

    def years_without_holidays(self, closures: Iterable[Closure]) -> list[int]:
        """The years this term touches whose statutory holidays chinese_calendar does not know and an
        admin has not entered either: no county-wide 放假 among ``closures`` touches the term in that
        year. The admin and county staff are told about these until the admin enters them."""
        entered = {
            day.year
            for c in closures
            if c.school_id is None
            and c.kind == ClosureKind.HOLIDAY
            and c.start_date <= self.end_date
            and c.end_date >= self.start_date
            for day in (max(c.start_date, self.start_date), min(c.end_date, self.end_date))
        }
        years = range(self.start_date.year, self.end_date.year + 1)
        return [y for y in years if not calendar.year_is_known(y) and y not in entered]


class ClosureKind(models.TextChoices):
    WINTER = "winter", "寒假"
    SUMMER = "summer", "暑假"
    HOLIDAY = "holiday", "放假"
    CLOSURE = "closure", "停课"
    OTHER = "other", "其他"
    # Not a closure: days that are school days although the national calendar rests.
    MAKEUP = "makeup", "调休上课"


class ClosureQuerySet(models.QuerySet["Closure"]):
    def overlapping(self, start: dt.date, end: dt.date, school_id: int | None = None) -> ClosureQuerySet:
        """County-wide closures, and the given school's own, that touch [start, end]."""
        scope = Q(school__isnull=True)
        if school_id is not None:
            scope |= Q(school_id=school_id)
        return self.filter(scope, start_date__lte=end, end_date__gte=start)


class Closure(CalendarRow):
    """Days without school that the national calendar does not know: vacations inside a term's
    dates, and closures of one school (a blank school means the whole county). Of kind MAKEUP, the
    opposite: 调休 days with school on a weekend (for a year chinese_calendar does not know yet, the
    admin enters its holidays as 放假 and its make-up Saturdays and Sundays as 调休上课)."""

    name = models.CharField("名称", max_length=50)
    kind = models.CharField(
        "类型",
        max_length=10,
        choices=ClosureKind.choices,
        default=ClosureKind.HOLIDAY,
        help_text="“调休上课”表示这些日子照常上课(如补上班的周六、周日),其余类型表示不上课。",
    )
    start_date = models.DateField("开始日期")
    end_date = models.DateField("结束日期")
    school = models.ForeignKey(
        School,
        verbose_name="学校",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="closures",
        help_text="留空表示全市统一安排。",
    )

    objects = ClosureQuerySet.as_manager()

    class Meta:
        verbose_name = "假期、停课与调休"
        verbose_name_plural = "假期、停课与调休"
        ordering = ["-start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")),
                name="closure_ends_after_start",
                violation_error_message="结束日期不能早于开始日期。",
            ),
        ]

    def __str__(self) -> str:
        where = self.school.name if self.school is not None else "全市"
        return f"{self.name}({where} {self.start_date}至{self.end_date})"

    @property
    def date_range(self) -> calendar.DateRange:
        return calendar.DateRange(self.start_date, self.end_date, makes_up=self.kind == ClosureKind.MAKEUP)

    def clean(self) -> None:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "结束日期不能早于开始日期。"})


# --- Staff ---------------------------------------------------------------------------------------


class TeacherQuerySet(ScopedQuerySet):
    def scope_filter(self, scope: Scope) -> Q | None:
        if scope.is_county_wide:
            return Q()
        if scope.role in {"officer", "counsellor"}:
            return Q(school_id=scope.school_id)
        if scope.role == "teacher":
            return Q(pk=scope.teacher_id)
        return None

    def with_user(self) -> TeacherQuerySet:
        return self.select_related("user", "school", "school__town")


class Teacher(models.Model):
    """A member of a school's staff with an account: a teacher who 包保 students, and also the
    school's 资助专干 and 心理健康教师 (their role is on the account)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name="账号", on_delete=models.PROTECT, related_name="teacher"
    )
    school = models.ForeignKey(School, verbose_name="学校", on_delete=models.PROTECT, related_name="teachers")
    phone = models.CharField("手机号", max_length=11, validators=[validate_phone])
    title = models.CharField("职称", max_length=30, blank=True)
    is_head_teacher = models.BooleanField("班主任", default=False)

    objects = TeacherQuerySet.as_manager()

    class Meta:
        verbose_name = "教师"
        verbose_name_plural = "教师"
        ordering = ["school", "user__full_name"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.user.get_full_name()


# --- Students and households -----------------------------------------------------------------------


class Gender(models.TextChoices):
    MALE = "M", "男"
    FEMALE = "F", "女"


class HukouType(models.TextChoices):
    URBAN = "urban", "城镇"
    RURAL = "rural", "农村"


class EnrollmentStatus(models.TextChoices):
    ENROLLED = "enrolled", "在校"
    SUSPENDED = "suspended", "休学"
    DROPPED_OUT = "dropped_out", "辍学"
    TRANSFERRED = "transferred", "转出"
    GRADUATED = "graduated", "毕业"


class Household(models.Model):
    """A student's family home: the address down to the village, and who lives there.
    Siblings at school share one household."""

    town = models.ForeignKey(Town, verbose_name="乡镇(街道)", on_delete=models.PROTECT, related_name="households")
    village = models.CharField("村(社区)", max_length=50)
    address_detail = models.CharField("详细地址", max_length=100, blank=True, help_text="组、门牌号等")

    class Meta:
        verbose_name = "家庭"
        verbose_name_plural = "家庭"

    def __str__(self) -> str:
        # Not the address: a household is named in the admin's widgets and the audit log, where the
        # reader may not be one who sees contact details (zaoyang_aid.fields).
        return f"{self.town.name}的家庭(编号{self.pk})"

    @property
    def address(self) -> str:
        return f"枣阳市{self.town.name}{self.village}{self.address_detail}"


def _actively_paired_with(teacher_id: int | None) -> models.QuerySet[Any]:
    """The ids of the students a teacher 包保 now (a subquery, so scoped lists never repeat rows)."""
    if teacher_id is None:  # a scope without a staff row 包保 no one
        return Pairing.objects.none().values("student_id")
    return Pairing.objects.filter(teacher_id=teacher_id, ended_on__isnull=True).values("student_id")


class StudentQuerySet(ScopedQuerySet):
    def scope_filter(self, scope: Scope) -> Q | None:
        if scope.is_county_wide:
            return Q()
        if scope.role in {"officer", "counsellor"}:
            return Q(school_id=scope.school_id)
        if scope.role == "teacher":
            # Only the students they 包保 now; a past pairing gives no access.
            return Q(pk__in=_actively_paired_with(scope.teacher_id))
        return None

    def for_list(self) -> StudentQuerySet:
        return self.select_related("school", "school__town", "household__town")


class Student(models.Model):
    name = models.CharField("姓名", max_length=50)
    gender = models.CharField("性别", max_length=1, choices=Gender.choices)
    birth_date = models.DateField("出生日期")
    id_number = models.CharField("身份证号", max_length=18, unique=True, validators=[validate_id_number])
    student_number = models.CharField(
        "学籍号",
        max_length=19,
        unique=True,
        validators=[validate_student_number],
        help_text="G+身份证号、J或L开头,共19位",
    )
    school = models.ForeignKey(School, verbose_name="学校", on_delete=models.PROTECT, related_name="students")
    grade = models.PositiveSmallIntegerField("年级")
    class_name = models.CharField("班级", max_length=20, help_text="如:3班")
    hukou_type = models.CharField("户口性质", max_length=10, choices=HukouType.choices)
    household = models.ForeignKey(Household, verbose_name="家庭", on_delete=models.PROTECT, related_name="students")
    enrollment_status = models.CharField(
        "学籍状态", max_length=12, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ENROLLED
    )
    created_at = models.DateTimeField("录入时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    objects = StudentQuerySet.as_manager()

    class Meta:
        verbose_name = "学生"
        verbose_name_plural = "学生"
        ordering = ["school", "grade", "class_name", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(grade__gte=1) & Q(grade__lte=6),
                name="student_grade_in_range",
                violation_error_message="年级应在1至6之间。",
            ),
        ]
        indexes = [
            # The student list: a school's students in grade/class order.
            models.Index(fields=["school", "grade", "class_name", "name"], name="student_school_order"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # One spelling per number, so that "…x" and "…X" cannot both pass the unique constraint.
        self.id_number = normalize_id_number(self.id_number)
        self.student_number = (self.student_number or "").strip().upper()
        super().save(*args, **kwargs)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def grade_name(self) -> str:
        return grade_name(self.school.stage, self.grade)

    @property
    def class_label(self) -> str:
        return f"{self.grade_name}{self.class_name}"

    def clean(self) -> None:
        self.id_number = normalize_id_number(self.id_number)
        self.student_number = (self.student_number or "").strip().upper()
        errors: dict[str, str] = {}
        if self.id_number and self.birth_date:
            from stdnum.cn import ric

            try:
                born = ric.get_birth_date(self.id_number)
            except Exception:
                born = None
            if born is not None and born != self.birth_date:
                errors["birth_date"] = f"出生日期与身份证号不一致(身份证号为{born:%Y年%m月%d日})。"
        if self.id_number and self.gender and len(self.id_number) == 18 and self.id_number[16].isdigit():
            expected = Gender.MALE if int(self.id_number[16]) % 2 else Gender.FEMALE
            if expected != self.gender:
                errors["gender"] = f"性别与身份证号不一致(身份证号为{expected.label}性)。"
        if (
            self.student_number
            and self.student_number.startswith("G")
            and self.id_number
            and self.student_number[1:] != self.id_number
        ):
            errors["student_number"] = "G字头学籍号应为G加上本人身份证号,与所填身份证号不一致。"
        if self.school_id and self.grade:
            names = GRADE_NAMES.get(self.school.stage, {})
            if names and self.grade not in names:
                errors["grade"] = f"{self.school.get_stage_display()}没有这个年级。"
        if errors:
            raise ValidationError(errors)


class EnrollmentChangeQuerySet(ScopedQuerySet):
    def scope_filter(self, scope: Scope) -> Q | None:
        if scope.is_county_wide:
            return Q()
        if scope.role in {"officer", "counsellor"}:
            return Q(student__school_id=scope.school_id) | Q(from_school_id=scope.school_id)
        if scope.role == "teacher":
            return Q(student_id__in=_actively_paired_with(scope.teacher_id))
        return None


class EnrollmentChange(models.Model):
    """One dated change of a student's 学籍状态 (休学, 辍学, 转学, 毕业, back to 在校), or a move
    to another school of the county: who recorded it, when and why. The history is the truth the
    compliance engine reads ("was the student at school on that day?"); Student.enrollment_status
    is its latest value, kept by pairing.services.student_status_change, the only writer."""

    student = models.ForeignKey(Student, verbose_name="学生", on_delete=models.CASCADE, related_name="status_changes")
    status = models.CharField("学籍状态", max_length=12, choices=EnrollmentStatus.choices)
    effective_on = models.DateField("生效日期")
    reason = models.CharField("原因", max_length=200)
    from_school = models.ForeignKey(
        School, verbose_name="原学校", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_school = models.ForeignKey(
        School, verbose_name="转入学校", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="记录人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField("记录时间", auto_now_add=True)

    objects = EnrollmentChangeQuerySet.as_manager()

    class Meta:
        verbose_name = "学籍变动"
        verbose_name_plural = "学籍变动"
        ordering = ["effective_on", "pk"]
        indexes = [
            # PairingQuerySet.owing and the compliance engine: a student's status on a day.
            models.Index(fields=["student", "effective_on"], name="enrollment_change_student_day"),
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.effective_on} {self.get_status_display()}"

    @property
    def is_transfer(self) -> bool:
        return self.to_school_id is not None


def away_on(student: Any, on: dt.date) -> models.QuerySet[EnrollmentChange]:
    """The student's latest change on or before ``on``, if it left 在校 (休学, 辍学 …): empty when
    the student was 在校 that day (no change at all means 在校: a student is created 在校)."""
    changes = EnrollmentChange.objects.filter(student_id=student, effective_on__lte=on)
    later = changes.filter(
        Q(effective_on__gt=OuterRef("effective_on")) | Q(effective_on=OuterRef("effective_on"), pk__gt=OuterRef("pk"))
    )
    return changes.exclude(status=EnrollmentStatus.ENROLLED).filter(~Exists(later))


class Guardian(models.Model):
    student = models.ForeignKey(Student, verbose_name="学生", on_delete=models.CASCADE, related_name="guardians")
    name = models.CharField("姓名", max_length=50)
    relation = models.CharField("与学生关系", max_length=20)
    phone = models.CharField("联系电话", max_length=11, validators=[validate_phone])

    class Meta:
        verbose_name = "监护人"
        verbose_name_plural = "监护人"
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.name}({self.relation})"


class HealthStatus(models.TextChoices):
    HEALTHY = "healthy", "健康"
    CHRONIC = "chronic", "慢性病"
    SERIOUS = "serious", "大病"
    DISABLED = "disabled", "残疾"
    OTHER = "other", "其他"


class HouseholdMember(models.Model):
    household = models.ForeignKey(Household, verbose_name="家庭", on_delete=models.CASCADE, related_name="members")
    name = models.CharField("姓名", max_length=50)
    age = models.PositiveSmallIntegerField("年龄")
    relation = models.CharField("与学生关系", max_length=20)
    occupation = models.CharField("职业", max_length=50, blank=True)
    annual_income = models.DecimalField("年收入(元)", max_digits=10, decimal_places=2, default=0)
    health = models.CharField("健康状况", max_length=10, choices=HealthStatus.choices, default=HealthStatus.HEALTHY)

    class Meta:
        verbose_name = "家庭成员"
        verbose_name_plural = "家庭成员"
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(age__lte=120), name="member_age_plausible", violation_error_message="年龄不应超过120岁。"
            ),
            models.CheckConstraint(
                condition=Q(annual_income__gte=0),
                name="member_income_not_negative",
                violation_error_message="年收入不能为负数。",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}({self.relation})"


# --- 家庭经济困难认定 ------------------------------------------------------------------------------


class SpecialCategory(models.Model):
    """A special group in the 认定 (脱贫家庭学生, 最低生活保障家庭, …); the list is configurable."""

    name = models.CharField("名称", max_length=50, unique=True)
    order = models.PositiveSmallIntegerField("排序", default=100)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "特殊群体类别"
        verbose_name_plural = "特殊群体类别"
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.name


class HardshipLevelQuerySet(models.QuerySet["HardshipLevel"]):
    def for_stage(self, stage: str) -> HardshipLevelQuerySet:
        """A stage's own levels when it has any, else the default ones (blank stage)."""
        own = self.filter(stage=stage, is_active=True)
        return own if own.exists() else self.filter(stage="", is_active=True)


class HardshipLevel(models.Model):
    """A 困难等级. The default 特别困难/困难/一般困难 apply to every stage without levels of its own."""

    name = models.CharField("名称", max_length=20)
    stage = models.CharField("适用学段", max_length=12, choices=Stage.choices, blank=True, help_text="留空表示默认")
    order = models.PositiveSmallIntegerField("排序", default=100)
    is_active = models.BooleanField("启用", default=True)

    objects = HardshipLevelQuerySet.as_manager()

    class Meta:
        verbose_name = "困难等级"
        verbose_name_plural = "困难等级"
        ordering = ["stage", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "name"],
                name="hardship_level_unique_per_stage",
                violation_error_message="该学段已有同名的困难等级。",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}({self.get_stage_display()})" if self.stage else self.name


class HardshipAssessmentQuerySet(ScopedQuerySet):
    def scope_filter(self, scope: Scope) -> Q | None:
        """As far as the field policy shows 认定 (fields.FieldGroup.ASSESSMENT): to the whole scope
        (officer, county), or only for the students the reader 包保 (teacher, counsellor)."""
        if FieldGroup.ASSESSMENT in broad_access(scope):
            return Q() if scope.is_county_wide else Q(student__school_id=scope.school_id)
        if FieldGroup.ASSESSMENT in paired_access(scope) and scope.teacher_id is not None:
            return Q(student_id__in=_actively_paired_with(scope.teacher_id))
        return None


class HardshipAssessment(models.Model):
    """家庭经济困难认定: decided each school year and adjusted term by term (one row a term)."""

    student = models.ForeignKey(Student, verbose_name="学生", on_delete=models.CASCADE, related_name="assessments")
    term = models.ForeignKey(Term, verbose_name="学期", on_delete=models.PROTECT, related_name="assessments")
    level = models.ForeignKey(HardshipLevel, verbose_name="困难等级", on_delete=models.PROTECT, related_name="+")
    categories = models.ManyToManyField(SpecialCategory, verbose_name="特殊群体类别", blank=True, related_name="+")
    decided_on = models.DateField("认定日期")
    note = models.CharField("备注", max_length=200, blank=True)
    # 动态管理: why the 认定 was made or changed and who wrote it last (assessment_save keeps them);
    # the student's history and the term's 认定变动 read them (pairing/dynamics.py).
    reason = models.CharField("变动原因", max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="记录人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField("记录时间", null=True, blank=True)

    objects = HardshipAssessmentQuerySet.as_manager()

    class Meta:
        verbose_name = "家庭经济困难认定"
        verbose_name_plural = "家庭经济困难认定"
        ordering = ["-term__start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "term"],
                name="one_assessment_per_student_term",
                violation_error_message="该学生在这个学期已有认定记录,请修改原记录。",
            )
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.term} {self.level}"


# --- 结对 ------------------------------------------------------------------------------------------


class PairingEndReason(models.TextChoices):
    TRANSFER = "transfer", "调动"
    GRADUATION = "graduation", "毕业"
    SCHOOL_TRANSFER = "school_transfer", "转学"
    LIFTED = "lifted", "脱贫退出"
    OTHER = "other", "其他"


class PairingQuerySet(ScopedQuerySet):
    def scope_filter(self, scope: Scope) -> Q | None:
        if scope.is_county_wide:
            return Q()
        if scope.role in {"officer", "counsellor"}:
            return Q(student__school_id=scope.school_id)
        if scope.role == "teacher":
            return Q(teacher_id=scope.teacher_id)
        return None

    def active(self, on: dt.date | None = None) -> PairingQuerySet:
        if on is None:
            return self.filter(ended_on__isnull=True)
        return self.filter(Q(ended_on__isnull=True) | Q(ended_on__gt=on), started_on__lte=on)

    def owing(self, on: dt.date) -> PairingQuerySet:
        """THE rule of who owes a talk: the pairings active on ``on`` whose student is 在校 on that
        day (by the dated enrollment history, not today's status).

        A pairing owes a talk for a school week when it is in ``owing(d)`` for at least one school
        day ``d`` of that week. The compliance engine (guidance.compliance) applies exactly this rule
        week by week for a whole term at once, and a test holds the two to agreement. Written as NOT
        EXISTS (an anti-join) rather than a scalar subquery, so that PostgreSQL plans it well inside
        the engine's other queries.
        """
        return self.active(on).filter(~Exists(away_on(OuterRef("student_id"), on)))

    def in_term(self, term: Term, as_of: dt.date) -> PairingQuerySet:
        """The pairings active at some time between the term's start and ``as_of``: those the
        compliance engine has anything to say about."""
        end = min(as_of, term.end_date)
        return self.filter(started_on__lte=end).filter(Q(ended_on__isnull=True) | Q(ended_on__gt=term.start_date))
        # Its twin in Python, for rows already read: Pairing.was_active_in (a test holds them together).


class Pairing(models.Model):
    """结对: one teacher 包保 one student from a family in economic difficulty.

    Ending or reassigning keeps the row with its end date and reason, so history is never lost.
    """

    teacher = models.ForeignKey(Teacher, verbose_name="帮扶教师", on_delete=models.PROTECT, related_name="pairings")
    student = models.ForeignKey(Student, verbose_name="学生", on_delete=models.PROTECT, related_name="pairings")
    started_on = models.DateField("结对日期")
    ended_on = models.DateField("结束日期", null=True, blank=True)
    end_reason = models.CharField("结束原因", max_length=20, choices=PairingEndReason.choices, blank=True)
    end_note = models.CharField("结束说明", max_length=200, blank=True)
    # Why an officer let the pairing start before the term it was created in (补录 of an old pairing).
    backdated_reason = models.CharField("补录原因", max_length=200, blank=True, default="")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    objects = PairingQuerySet.as_manager()

    class Meta:
        verbose_name = "结对"
        verbose_name_plural = "结对"
        ordering = ["-started_on"]
        constraints = [
            # A student has at most one active pairing, held by the database.
            models.UniqueConstraint(
                fields=["student"],
                condition=Q(ended_on__isnull=True),
                name="one_active_pairing_per_student",
                violation_error_message="该学生已有进行中的结对,请先结束原结对。",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="pairing_ends_after_start",
                violation_error_message="结束日期不能早于结对日期。",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True, end_reason="") | (Q(ended_on__isnull=False) & ~Q(end_reason="")),
                name="pairing_end_has_reason",
                violation_error_message="结束结对时必须填写结束原因;未结束的结对不能有结束原因。",
            ),
        ]
        indexes = [
            # The teacher's own list and the teacher scope of Student/Pairing: active pairings by teacher.
            models.Index(fields=["teacher", "ended_on"], name="pairing_teacher_active"),
        ]

    def __str__(self) -> str:
        return f"{self.teacher} — {self.student}"

    @property
    def is_active(self) -> bool:
        return self.ended_on is None

    def active_on(self, day: dt.date) -> bool:
        return self.started_on <= day and (self.ended_on is None or day < self.ended_on)

    @staticmethod
    def was_active_in(started_on: dt.date, ended_on: dt.date | None, *, term: Term, as_of: dt.date) -> bool:
        """PairingQuerySet.in_term for a pairing already read: active at some time between the term's
        start and ``as_of``."""
        return started_on <= min(as_of, term.end_date) and (ended_on is None or ended_on > term.start_date)


def stage_grades(stage: str) -> list[tuple[int, str]]:
    return list(GRADE_NAMES.get(stage, {}).items())


def absences(changes: list[tuple[dt.date, str]]) -> list[tuple[dt.date, dt.date | None]]:
    """The spans [start, end) in which a student was not 在校, from their history as (effective_on,
    status) pairs in order (end None: still away). Before the first change the student was 在校."""
    spans: list[tuple[dt.date, dt.date | None]] = []
    away_since: dt.date | None = None
    for day, status in changes:
        if status == EnrollmentStatus.ENROLLED:
            if away_since is not None:
                if day > away_since:
                    spans.append((away_since, day))
                away_since = None
        elif away_since is None:
            away_since = day
    if away_since is not None:
        spans.append((away_since, None))
    return spans


def present_spans(
    started_on: dt.date, ended_on: dt.date | None, away: list[tuple[dt.date, dt.date | None]]
) -> list[tuple[dt.date, dt.date | None]]:
    """A pairing's span [started_on, ended_on) with the student's absences cut out: the days on
    which it owes its school week's talk."""
    spans: list[tuple[dt.date, dt.date | None]] = []
    cursor: dt.date | None = started_on
    for start, end in away:
        if cursor is None:
            break
        if end is not None and end <= cursor:
            continue
        if ended_on is not None and start >= ended_on:
            break
        if start > cursor:
            spans.append((cursor, start))
        cursor = end
    if cursor is not None and (ended_on is None or cursor < ended_on):
        spans.append((cursor, ended_on))
    return spans


# --- 知情同意 (PIPL) ----------------------------------------------------------------------------


def fourteenth_birthday(birth_date: dt.date) -> dt.date:
    """The day a child turns 14; one born on 29 February turns 14 on 1 March (14 years on is never
    a leap year before 2100)."""
    try:
        return birth_date.replace(year=birth_date.year + 14)
    except ValueError:
        return dt.date(birth_date.year + 14, 3, 1)


def is_under_14(birth_date: dt.date, on: dt.date) -> bool:
    """PIPL art. 28/31: a child under 14's data is sensitive personal information, processed only
    with the guardian's consent. 周岁 as Chinese courts count it: a child is 已满14周岁 from the day
    AFTER the 14th birthday, so on the birthday itself the consent is still required."""
    return on <= fourteenth_birthday(birth_date)


def born_under_14_since(on: dt.date) -> dt.date:
    """The earliest birth date of a child under 14 on ``on`` (a filter ``birth_date__gte`` that
    agrees with is_under_14, as a test checks day by day)."""
    try:
        earliest = on.replace(year=on.year - 14)
    except ValueError:  # on is 29 February
        earliest = dt.date(on.year - 14, 3, 1)
    while is_under_14(earliest - dt.timedelta(days=1), on):
        earliest -= dt.timedelta(days=1)
    return earliest


class ConsentScope(models.TextChoices):
    PROCESSING = "processing", "个人信息处理(结对帮扶)"
    PUBLICATION = "publication", "典型案例宣传"


class ConsentMethod(models.TextChoices):
    SIGNED = "signed", "书面签字"
    PARENT_MEETING = "parent_meeting", "家长会现场签字"
    HOME_VISIT = "home_visit", "家访当面确认"
    REMOTE = "remote", "电话/微信确认"


class GuardianConsentQuerySet(ScopedQuerySet):
    def scope_filter(self, scope: Scope) -> Q | None:
        """Whoever sees the student's guardians (fields.FieldGroup.CONTACT) sees the consents."""
        if FieldGroup.CONTACT in broad_access(scope):
            return Q() if scope.is_county_wide else Q(student__school_id=scope.school_id)
        if FieldGroup.CONTACT in paired_access(scope) and scope.teacher_id is not None:
            return Q(student_id__in=_actively_paired_with(scope.teacher_id))
        return None

    def active(self) -> GuardianConsentQuerySet:
        return self.filter(withdrawn_on__isnull=True)


class GuardianConsent(models.Model):
    """知情同意: the guardian's informed consent to one use of the child's data (PIPL art. 14, 31).

    Withdrawing keeps the row with the date, the note and who recorded it: the history of what the
    school was allowed to do when. Campaigns read the 典型案例宣传 scope before publishing a story.
    """

    student = models.ForeignKey(Student, verbose_name="学生", on_delete=models.CASCADE, related_name="consents")
    scope = models.CharField("同意事项", max_length=20, choices=ConsentScope.choices)
    given_on = models.DateField("同意日期")
    given_by_name = models.CharField("监护人姓名", max_length=50)
    relation = models.CharField("与学生关系", max_length=20)
    guardian = models.ForeignKey(
        Guardian, verbose_name="登记的监护人", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    method = models.CharField("取得方式", max_length=20, choices=ConsentMethod.choices)
    note = models.CharField("凭证与说明", max_length=200, blank=True, help_text="如:签字表存档于资助档案第3盒")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="登记人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    withdrawn_on = models.DateField("撤回日期", null=True, blank=True)
    withdrawal_note = models.CharField("撤回说明", max_length=200, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="撤回登记人",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Optimistic locking: a form carries the version it was opened at; a save at another is refused.
    version = models.PositiveIntegerField("版本", default=1)

    objects = GuardianConsentQuerySet.as_manager()

    class Meta:
        verbose_name = "知情同意"
        verbose_name_plural = "知情同意"
        ordering = ["-given_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "scope"],
                condition=Q(withdrawn_on__isnull=True),
                name="one_active_consent_per_student_scope",
                violation_error_message="该学生这一事项已有有效的知情同意,如需重新登记请先撤回原同意。",
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gte=models.F("given_on")),
                name="consent_withdrawn_after_given",
                violation_error_message="撤回日期不能早于同意日期。",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.get_scope_display()}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_on is None


# --- 动态管理: leaving the aid list, and the officer's confirmation of a term's 认定 changes --------


class AidExitReason(models.TextChoices):
    POVERTY_EXIT = "poverty_exit", "脱贫退出"
    BETTER_OFF = "better_off", "家庭经济好转"
    GRADUATED = "graduated", "毕业离校"
    LEFT_COUNTY = "left_county", "转出本县"
    OTHER = "other", "其他"


class SeenAsAssessmentQuerySet(HardshipAssessmentQuerySet):
    """Seen as the 认定 are (fields.FieldGroup.ASSESSMENT, HardshipAssessmentQuerySet.scope_filter):
    why a family left the list, or that its change was confirmed, is part of the 认定."""


class AidListExit(models.Model):
    """A student leaving the list of 家庭经济困难学生 from ``term`` on (脱贫退出, 家庭经济好转 …): the
    date, the reason, who recorded it. The student is off the list in that term (the term's 认定, if
    any, stays as the history of what was decided before); a later 认定 of the same term records the
    re-entry on this row (assessment_save), one of a later term is a new 认定 (重新纳入)."""

    student = models.ForeignKey(Student, verbose_name="学生", on_delete=models.CASCADE, related_name="aid_exits")
    term = models.ForeignKey(Term, verbose_name="学期", on_delete=models.PROTECT, related_name="+")
    exited_on = models.DateField("退出日期")
    reason = models.CharField("退出原因", max_length=20, choices=AidExitReason.choices)
    note = models.CharField("说明", max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="记录人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField("记录时间", auto_now_add=True)
    reentered_on = models.DateField("重新纳入日期", null=True, blank=True)
    reentry_reason = models.CharField("重新纳入原因", max_length=200, blank=True)
    reentered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="重新纳入记录人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    objects = SeenAsAssessmentQuerySet.as_manager()

    class Meta:
        verbose_name = "退出资助名单"
        verbose_name_plural = "退出资助名单"
        ordering = ["exited_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "term"],
                name="one_aid_exit_per_student_term",
                violation_error_message="该学生本学期已登记退出资助名单。",
            ),
            models.CheckConstraint(
                condition=Q(reentered_on__isnull=True) | Q(reentered_on__gte=models.F("exited_on")),
                name="aid_reentry_after_exit",
                violation_error_message="重新纳入日期不能早于退出日期。",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.get_reason_display()}"

    @property
    def is_open(self) -> bool:
        return self.reentered_on is None


class AssessmentChangeConfirmation(models.Model):
    """The school officer's 确认 of a student's 认定 change in a term (against the term before): who
    and when, and the change as it stood (``fingerprint``): a change edited afterwards no longer
    matches and is pending again (pairing/dynamics.py)."""

    student = models.ForeignKey(
        Student, verbose_name="学生", on_delete=models.CASCADE, related_name="assessment_confirmations"
    )
    term = models.ForeignKey(Term, verbose_name="学期", on_delete=models.PROTECT, related_name="+")
    fingerprint = models.CharField("变动标识", max_length=200)
    summary = models.CharField("确认的变动", max_length=300)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="确认人", on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField("确认时间")

    objects = SeenAsAssessmentQuerySet.as_manager()

    class Meta:
        verbose_name = "认定变动确认"
        verbose_name_plural = "认定变动确认"
        constraints = [
            models.UniqueConstraint(fields=["student", "term"], name="one_assessment_confirmation_per_student_term")
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.summary}"
