from __future__ import annotations

from typing import Any, TypeAlias, cast

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseInlineFormSet, inlineformset_factory

from . import selectors
from .models import (
    AidExitReason,
    ConsentMethod,
    ConsentScope,
    EnrollmentStatus,
    Guardian,
    HardshipAssessment,
    HardshipLevel,
    Household,
    HouseholdMember,
    Pairing,
    PairingEndReason,
    School,
    SpecialCategory,
    Student,
    Teacher,
    Term,
    stage_grades,
)
from .validators import normalize_id_number, validate_username


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def _bare_helper() -> FormHelper:
    """Crispy helper for a form rendered inside a larger <form> (no tag of its own)."""
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    return helper


class StudentForm(forms.ModelForm):
    class Meta:
        model = Student
        fields = [
            "name",
            "gender",
            "birth_date",
            "id_number",
            "student_number",
            "school",
            "grade",
            "class_name",
            "hukou_type",
        ]
        widgets = {"birth_date": DateInput()}

    def __init__(self, *args: Any, schools: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        school = cast(forms.ModelChoiceField, self.fields["school"])
        school.queryset = schools
        if self.instance.pk:
            # A registered student changes school only by 转学 (student_transfer keeps the history).
            fixed = self.instance.school
            school.queryset = School.objects.filter(pk=fixed.pk)
            school.help_text = "转到本市其他学校请在学生页面办理“转学”。"
        else:
            fixed = schools.first() if schools.count() == 1 else None
        if fixed is not None:
            school.initial = fixed
            school.disabled = True
            # One school: offer its grades by the names the school uses (七年级, 高一, 大班 …).
            self.fields["grade"] = forms.TypedChoiceField(
                label="年级", coerce=int, choices=[("", "请选择"), *stage_grades(fixed.stage)]
            )
        else:
            self.fields["grade"].help_text = "学段内的年级序号:小学1-6,初中1-3(七至九年级),高中1-3"
        self.fields["id_number"].widget.attrs.update({"autocomplete": "off", "inputmode": "text"})
        self.helper = _bare_helper()

    def clean_id_number(self) -> str:
        return normalize_id_number(self.cleaned_data["id_number"])

    def clean_student_number(self) -> str:
        return (self.cleaned_data["student_number"] or "").strip().upper()

    def service_values(self) -> dict[str, Any]:
        """The student's own values for student_create (with the school) or student_update."""
        names = [name for name in self.Meta.fields if name != "school" or self.instance.pk is None]
        return {name: self.cleaned_data[name] for name in names}


class HouseholdForm(forms.ModelForm):
    class Meta:
        model = Household
        fields = ["town", "village", "address_detail"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _bare_helper()


# The formsets' types, for annotations: the factory's classes below are no types.
GuardianForms: TypeAlias = "BaseInlineFormSet[Guardian, Student, forms.ModelForm[Guardian]]"
MemberForms: TypeAlias = "BaseInlineFormSet[HouseholdMember, Household, forms.ModelForm[HouseholdMember]]"

GUARDIAN_FIELDS = ["name", "relation", "phone"]
MEMBER_FIELDS = ["name", "age", "relation", "occupation", "annual_income", "health"]


class _GuardianRows(BaseInlineFormSet):
    # Instead of Django's "请至少提交 1 个表单": what is missing, in the page's words.
    default_error_messages = {"too_few_forms": "请至少填写一位监护人的姓名、关系和联系电话。"}


# Rendered as one card per row (not a table) so the forms fit a phone screen.
GuardianFormSet: type[GuardianForms] = inlineformset_factory(
    Student,
    Guardian,
    formset=_GuardianRows,
    fields=GUARDIAN_FIELDS,
    extra=1,
    min_num=1,
    validate_min=True,
    can_delete=True,
)

# One blank row; the page's "添加一名家庭成员" button (static/js/formset_rows.js) adds more, so a
# household's members are entered in one save. Blank rows are no rows.
MemberFormSet: type[MemberForms] = inlineformset_factory(
    Household,
    HouseholdMember,
    fields=MEMBER_FIELDS,
    extra=1,
    can_delete=True,
)


def _kept_rows(formset: Any) -> list[forms.ModelForm]:
    """The rows a valid formset keeps, in order: stored rows not marked for deletion, and new rows
    filled in (the blank extra row is no row)."""
    deleted = formset.deleted_forms
    return [f for f in formset.forms if f not in deleted and (f.instance.pk is not None or f.has_changed())]


def _add_errors(form: forms.BaseForm, field: str, messages: list[str]) -> None:
    form.add_error(field if field in form.fields else None, messages)


class StudentForms:
    """The student page's forms: the student, the family's address, the guardians and the
    household's members. Valid together, they become student_create's or student_update's values;
    the service's errors, keyed as the page names its inputs ("household-village",
    "guardians-0-phone"), come back onto the form and the row they belong to."""

    def __init__(self, data: Any, *, student: Student | None, schools: Any) -> None:
        household = student.household if student else None
        self.student_form = StudentForm(data, instance=student, schools=schools)
        self.household_form = HouseholdForm(data, instance=household, prefix="household")
        self.guardians = GuardianFormSet(data, instance=student or Student(), prefix="guardians")
        self.members = MemberFormSet(data, instance=household, prefix="members")
        self._rows: dict[str, list[forms.ModelForm]] = {}

    def context(self) -> dict[str, Any]:
        return {
            "student_form": self.student_form,
            "household_form": self.household_form,
            "guardians": self.guardians,
            "members": self.members,
        }

    def is_valid(self) -> bool:
        valid = [form.is_valid() for form in self.context().values()]  # every form, so every message shows
        return all(valid)

    def service_values(self) -> dict[str, Any]:
        self._rows = {"guardians": _kept_rows(self.guardians), "members": _kept_rows(self.members)}
        fields = {"guardians": GUARDIAN_FIELDS, "members": MEMBER_FIELDS}
        rows = {
            key: [{"id": f.instance.pk, **{name: f.cleaned_data[name] for name in fields[key]}} for f in kept]
            for key, kept in self._rows.items()
        }
        household = {name: self.household_form.cleaned_data[name] for name in HouseholdForm.Meta.fields}
        return {**self.student_form.service_values(), "household": household, **rows}

    def add_service_errors(self, exc: ValidationError) -> None:
        for key, messages in exc.message_dict.items():
            prefix, _, rest = key.partition("-")
            if prefix == "household":
                _add_errors(self.household_form, rest, messages)
            elif prefix in self._rows and not rest:
                getattr(self, prefix).non_form_errors().extend(messages)
            elif prefix in self._rows:
                index, _, field = rest.partition("-")
                _add_errors(self._rows[prefix][int(index)], field, messages)
            else:
                _add_errors(self.student_form, key, messages)


class AssessmentForm(forms.ModelForm):
    class Meta:
        model = HardshipAssessment
        fields = ["level", "categories", "decided_on", "reason", "note"]
        widgets = {"decided_on": DateInput(), "categories": forms.CheckboxSelectMultiple}
        help_texts = {"reason": "新增、等级或类别调整、重新纳入的原因,写入学生的动态记录。"}

    def __init__(self, *args: Any, student: Student, term: Term, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.student, self.term = student, term
        level = cast(forms.ModelChoiceField, self.fields["level"])
        level.queryset = HardshipLevel.objects.for_stage(student.school.stage)
        categories = cast(forms.ModelMultipleChoiceField, self.fields["categories"])
        categories.queryset = SpecialCategory.objects.filter(is_active=True)
        self.helper = _bare_helper()

    def service_values(self) -> dict[str, Any]:
        """The plain values assessment_save takes (it checks the level, the categories and the date)."""
        data = self.cleaned_data
        return {
            "level": data["level"],
            "categories": list(data["categories"]),
            "decided_on": data["decided_on"],
            "note": data["note"],
            "reason": data["reason"],
        }


class TeacherForm(forms.ModelForm):
    """A member of staff with their account. School roles only; the officer's own school is fixed."""

    full_name = forms.CharField(label="姓名", max_length=50)
    username = forms.CharField(
        label="登录账号", max_length=150, validators=[validate_username], help_text="建议使用手机号"
    )
    role = forms.ChoiceField(label="角色")
    password = forms.CharField(
        label="初始密码", widget=forms.PasswordInput(render_value=False), help_text="至少8位,不能全是数字"
    )

    class Meta:
        model = Teacher
        fields = ["school", "phone", "title", "is_head_teacher"]

    def __init__(self, *args: Any, schools: Any, roles: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["school"]).queryset = schools
        if schools.count() == 1:
            self.fields["school"].initial = schools.first()
            self.fields["school"].disabled = True
        cast(forms.ChoiceField, self.fields["role"]).choices = roles
        self.order_fields(["full_name", "username", "role", "school", "phone", "title", "is_head_teacher"])
        if self.instance.pk:
            user = self.instance.user
            self.fields["full_name"].initial = user.full_name
            self.fields["username"].initial = user.username
            self.fields["username"].disabled = True
            self.fields["role"].initial = user.role
            del self.fields["password"]
        self.helper = _bare_helper()

    def service_values(self) -> dict[str, Any]:
        """teacher_create's values, or teacher_update's (no 登录账号 nor password): the service checks
        that the 登录账号 is free and the password strong enough."""
        values = dict(self.cleaned_data)
        if self.instance.pk:
            values.pop("username")
        return values


class AccountContactForm(forms.Form):
    """The account's email and phone (pairing.accounts.account_contact_update checks them)."""

    email = forms.CharField(
        label="邮箱", max_length=254, required=False, help_text="用于接收邮件提醒;不填则只在系统内提醒"
    )
    phone = forms.CharField(label="手机号", max_length=11)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update({"inputmode": "email", "autocomplete": "off"})
        self.fields["phone"].widget.attrs.update({"inputmode": "tel", "autocomplete": "off"})
        self.helper = _bare_helper()


# --- 结对 ------------------------------------------------------------------------------------------
# Plain forms whose fields are named as the services' arguments: a view passes cleaned_data to the
# service, and the service's ValidationError (keyed by those names) lands at the right field.


class TeacherChoiceField(forms.ModelChoiceField):
    """Staff by name with how many students they 包保 now (annotated by selectors.teachers_for_pairing)."""

    def label_from_instance(self, obj: Any) -> str:
        role = "" if obj.user.role == "teacher" else f"·{obj.user.get_role_display()}"
        return f"{obj.name}{role}(已结对{getattr(obj, 'active_count', 0)}名)"


def _students_by_class(students: Any) -> list[tuple[str, Any]]:
    """Choices grouped by class (an <optgroup> each), so a long list stays readable without JS."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for s in students:
        groups.setdefault(s.class_label, []).append((s.pk, s.name))
    return [("", "请选择学生"), *groups.items()]


def _confirm_field() -> forms.BooleanField:
    # Shown (by pairing_form.html) only once the service has answered with the over-limit warning.
    return forms.BooleanField(
        label="我已确认", required=False, widget=forms.CheckboxInput(attrs={"class": "form-check-input"})
    )


class PairingCreateForm(forms.Form):
    student = forms.ModelChoiceField(label="学生", queryset=Student.objects.none())
    teacher = TeacherChoiceField(label="帮扶教师", queryset=Teacher.objects.none(), empty_label="请选择教师")
    started_on = forms.DateField(label="结对日期", widget=DateInput())
    backdated_reason = forms.CharField(
        label="补录原因",
        max_length=200,
        required=False,
        help_text="仅当结对日期早于本学期开学日期(补录以前的结对)时填写。",
    )
    confirmed_over_limit = _confirm_field()

    def __init__(self, *args: Any, school: School, student: Student | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.school = school
        # Any student of the school is a valid answer, so that one paired meanwhile by a colleague
        # gets the service's own message; the list offers those still waiting (and the one chosen).
        field = cast(forms.ModelChoiceField, self.fields["student"])
        field.queryset = Student.objects.filter(school=school)
        offered = selectors.students_to_pair(school.pk, also=student.pk if student is not None else None)
        field.choices = _students_by_class(offered)
        cast(forms.ModelChoiceField, self.fields["teacher"]).queryset = selectors.teachers_for_pairing(school.pk)


class PairingEndForm(forms.Form):
    ended_on = forms.DateField(label="结束日期", widget=DateInput(), help_text="结束日期当天起不再结对")
    reason = forms.ChoiceField(label="结束原因", choices=[("", "请选择"), *PairingEndReason.choices])
    note = forms.CharField(label="说明", max_length=200, required=False)


REASSIGN_REASONS = [PairingEndReason.TRANSFER, PairingEndReason.OTHER]


class PairingReassignForm(forms.Form):
    new_teacher = TeacherChoiceField(label="新的帮扶教师", queryset=Teacher.objects.none(), empty_label="请选择教师")
    on = forms.DateField(
        label="交接日期",
        widget=DateInput(),
        help_text="新教师从这一天起包保(这一天起的谈话记在新教师名下);原教师帮扶到前一天为止。",
    )
    reason = forms.ChoiceField(label="更换原因", choices=[(r.value, r.label) for r in REASSIGN_REASONS])
    note = forms.CharField(label="说明", max_length=200, required=False)
    confirmed_over_limit = _confirm_field()

    def __init__(self, *args: Any, pairing: Pairing, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pairing = pairing
        teachers = selectors.teachers_for_pairing(pairing.student.school_id).exclude(pk=pairing.teacher_id)
        cast(forms.ModelChoiceField, self.fields["new_teacher"]).queryset = teachers


# --- 学籍变动 --------------------------------------------------------------------------------------


class StudentStatusForm(forms.Form):
    """休学, 辍学, 转出 (out of the county), 毕业, or back to 在校, from a date, with the reason."""

    status = forms.ChoiceField(label="新的学籍状态")
    on = forms.DateField(
        label="生效日期", widget=DateInput(), help_text="这一天起按新状态计算:离校期间不需要每周谈话。"
    )
    reason = forms.CharField(label="原因", max_length=200, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, student: Student, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["status"]).choices = [
            ("", "请选择"),
            *[(value, label) for value, label in EnrollmentStatus.choices if value != student.enrollment_status],
        ]
        self.helper = _bare_helper()


class AidListExitForm(forms.Form):
    """退出资助名单: the date, the reason and a note (aid_list_exit checks them)."""

    reason = forms.ChoiceField(label="退出原因", choices=[("", "请选择"), *AidExitReason.choices])
    on = forms.DateField(label="退出日期", widget=DateInput(), help_text="这一天所在的学期起不再列入资助名单。")
    note = forms.CharField(
        label="说明",
        max_length=200,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="原因为“其他”时必填",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _bare_helper()


class StudentTransferForm(forms.Form):
    """A move to another school of the county: the pairing ends with reason 转学."""

    to_school = forms.ModelChoiceField(label="转入学校", queryset=School.objects.none(), empty_label="请选择学校")
    on = forms.DateField(label="转学日期", widget=DateInput())
    reason = forms.CharField(label="原因", max_length=200, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, student: Student, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["to_school"]).queryset = (
            School.objects.exclude(pk=student.school_id).select_related("town").order_by("town__code", "name")
        )
        self.helper = _bare_helper()


# --- 知情同意 ------------------------------------------------------------------------------------


class ConsentRecordForm(forms.Form):
    scope = forms.ChoiceField(label="同意事项", choices=ConsentScope.choices)
    guardian = forms.ModelChoiceField(
        label="登记的监护人",
        queryset=Guardian.objects.none(),
        required=False,
        empty_label="(不在下列监护人中,在下面填写)",
        help_text="选择已登记的监护人时,姓名和关系可不填。",
    )
    given_by_name = forms.CharField(label="监护人姓名", max_length=50, required=False)
    relation = forms.CharField(label="与学生关系", max_length=20, required=False)
    given_on = forms.DateField(label="同意日期", widget=DateInput())
    method = forms.ChoiceField(label="取得方式", choices=[("", "请选择"), *ConsentMethod.choices])
    note = forms.CharField(
        label="凭证与说明",
        max_length=200,
        required=False,
        help_text="签字表存放处,或电话/微信确认的时间与经办人。",
    )

    def __init__(self, *args: Any, student: Student, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["guardian"]).queryset = student.guardians.all()


class ConsentWithdrawForm(forms.Form):
    on = forms.DateField(label="撤回日期", widget=DateInput())
    note = forms.CharField(label="撤回方式与说明", max_length=200, help_text="如:家长来电撤回,已告知班主任。")
    # The version the page was opened at (optimistic locking: consent_withdraw refuses another).
    version = forms.IntegerField(widget=forms.HiddenInput())
