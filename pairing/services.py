"""Writes that touch several rows, each inside one transaction: all of it is saved, or none."""

from __future__ import annotations

from django.db import transaction

from .forms import AssessmentForm, GuardianFormSet, HouseholdForm, MemberFormSet, StudentForm
from .models import HardshipAssessment, Student


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
