"""factory_boy factories for the casefiles app."""

from __future__ import annotations

import factory

from pairing.tests.factories import StudentFactory, TermFactory

from .. import models


class CaseFileReviewFactory(factory.django.DjangoModelFactory):
    """A review 审核中 of a student's case file for the default term (2026-2027学年第一学期)."""

    class Meta:
        model = models.CaseFileReview
        django_get_or_create = ("student", "term")

    student = factory.SubFactory(StudentFactory)
    term = factory.SubFactory(TermFactory)
    status = models.ReviewStatus.IN_PROGRESS


class ReviewCommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ReviewComment

    review = factory.SubFactory(CaseFileReviewFactory)
    author = factory.SubFactory("pairing.tests.factories.UserFactory", role="officer")
    body = "第10周没有谈话记录,请补充说明。"
