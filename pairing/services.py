"""Writes that touch several rows, each inside one transaction: all of it is saved, or none."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from .forms import AssessmentForm, GuardianFormSet, HouseholdForm, MemberFormSet, StudentForm, TeacherForm
from .models import HardshipAssessment, Student, Teacher


@transaction.atomic
def student_save(
    *, student_form: StudentForm, household_form: HouseholdForm, guardians: GuardianFormSet, members: MemberFormSet
) -> Student:
    """Save a student with their household, guardians and household members (forms already valid)."""
    household = household_form.save()
    student = student_form.save(commit=False)
    student.household = household
    student.save()
    guardians.instance = student
    guardians.save()
    members.instance = household
    members.save()
    return student


@transaction.atomic
def assessment_save(*, form: AssessmentForm) -> HardshipAssessment:
    assessment = form.save(commit=False)
    assessment.student = form.student
    assessment.term = form.term
    assessment.save()
    form.save_m2m()
    return assessment


@transaction.atomic
def teacher_save(*, form: TeacherForm) -> Teacher:
    """Create or update a member of staff and their account together."""
    teacher = form.save(commit=False)
    if teacher.pk:
        user = teacher.user
    else:
        user = get_user_model()(username=form.cleaned_data["username"])
        user.set_password(form.cleaned_data["password"])
    user.full_name = form.cleaned_data["full_name"]
    user.role = form.cleaned_data["role"]
    user.phone = teacher.phone
    user.save()
    teacher.user = user
    teacher.save()
    return teacher
