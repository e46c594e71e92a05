"""factory_boy factories for the case file.

factory_boy factories for the casefiles app."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.core.files.base import ContentFile
from django.utils import timezone
from stdnum.cn import ric

from pairing.models import Term
from pairing.tests.factories import StudentFactory, TermFactory, TownFactory, UserFactory, make_id_number

from .. import models

# The smallest file the PDF check accepts: a header, a body and the end-of-file marker.
PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _term_of(day: dt.date) -> Term:
    term = Term.objects.containing(day).first()
    if term is None:
        raise ValueError(f"no term contains {day}: create one first (TermFactory)")
    return term


class TermResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.TermResult

    student = factory.SubFactory(StudentFactory)
    term = factory.LazyFunction(lambda: _term_of(dt.date(2026, 11, 16)))
    subject = factory.Sequence(lambda n: f"科目{n}")
    score = Decimal("78.5")
    full_marks = Decimal(100)
    entered_by = factory.SubFactory(UserFactory, role="officer")


class AttachmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Attachment

    student = factory.SubFactory(StudentFactory)
    kind = models.AttachmentKind.PROOF
    title = "低保证明"
    file = factory.LazyFunction(lambda: ContentFile(PDF_BYTES, name="proof.pdf"))
    content_type = "application/pdf"
    size = len(PDF_BYTES)
    uploaded_by = factory.SubFactory(UserFactory, role="officer")


class ReferralFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Referral

    reference = factory.Sequence(lambda n: f"ZY-2026-转-{n + 1:04d}")
    student = factory.SubFactory(StudentFactory)
    # Seeded by migration 0006; a transactional test's flush empties the table, so made again then.
    department = factory.LazyFunction(
        lambda: models.ReferralDepartment.objects.get_or_create(code="civil", defaults={"name": "民政"})[0]
    )
    referred_on = dt.date(2026, 10, 20)
    due_on = dt.date(2026, 11, 19)
    reason = "父亲重病住院,家庭收入骤降,申请临时救助。"
    referred_by = factory.SubFactory(UserFactory, role="officer")


class AidReceiptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.AidReceipt

    student = factory.SubFactory(StudentFactory)
    term = factory.LazyFunction(lambda: _term_of(dt.date(2026, 11, 16)))
    item = "义务教育家庭经济困难学生生活补助"
    amount = Decimal("625.00")
    paid_on = dt.date(2026, 11, 2)
    source = models.AidSource.NATIONAL


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


# --- 控辍保学 ledgers ------------------------------------------------------------------------------------


class SchoolAgeChildFactory(factory.django.DjangoModelFactory):
    """A child of a town's list, not in our rolls (another birth year than StudentFactory's numbers)."""

    class Meta:
        model = models.SchoolAgeChild

    id_number = factory.Sequence(lambda n: make_id_number(n, birth=dt.date(2016, 5, 6)))
    name = factory.Sequence(lambda n: f"儿童{n}")
    gender = "M"
    birth_date = factory.LazyAttribute(lambda o: ric.get_birth_date(o.id_number))
    town = factory.SubFactory(TownFactory)
    village = "清河村"
    guardian_name = "刘大山"
    guardian_phone = "13800001111"
    reference_year = 2026
    uploaded_by = factory.SubFactory(UserFactory, role="county")


class SuspectedDropoutFactory(factory.django.DjangoModelFactory):
    """A proposed entry (待确认), as a teacher's 缺勤登记 makes one."""

    class Meta:
        model = models.SuspectedDropout

    student = factory.SubFactory(StudentFactory)
    school = factory.LazyAttribute(lambda o: o.student.school)
    first_absent_on = dt.date(2026, 11, 16)
    week_monday = factory.LazyAttribute(lambda o: o.first_absent_on - dt.timedelta(days=o.first_absent_on.weekday()))
    days_absent = 3
    source = models.DropoutSource.ATTENDANCE
    status = models.SuspectedStatus.PROPOSED
    proposed_at = factory.LazyFunction(timezone.now)
