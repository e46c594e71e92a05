"""factory_boy factories for the guidance app."""

from __future__ import annotations

import datetime as dt

import factory

from pairing.models import Term
from pairing.tests.factories import PairingFactory

from .. import models
from ..tallies import tally_refresh


def _term_of(day: dt.date) -> Term:
    term = Term.objects.containing(day).first()
    if term is None:
        raise ValueError(f"no term contains {day}: create one first (TermFactory)")
    return term


class TalkRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.TalkRecord

    pairing = factory.SubFactory(PairingFactory)
    date = dt.date(2026, 11, 16)
    term = factory.LazyAttribute(lambda o: _term_of(o.date))
    duration_minutes = 30
    track_study = True
    form_talk = True
    content = "交流本周学习情况,辅导数学错题。"
    student_state = "情绪稳定,学习积极。"
    recorded_by = factory.LazyAttribute(lambda o: o.pairing.teacher.user)

    @classmethod
    def _create(cls, model_class: type, *args: object, **kwargs: object) -> models.TalkRecord:
        """Saved as a row (tests date talks freely, past the services' date rules), then the tally
        recounted as the services do: the engine reads tallies, not the rows."""
        record = super()._create(model_class, *args, **kwargs)
        tally_refresh(pairing_id=record.pairing_id, term_id=record.term_id)
        return record


class HomeVisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.HomeVisit

    pairing = factory.SubFactory(PairingFactory)
    date = dt.date(2026, 10, 17)
    term = factory.LazyAttribute(lambda o: _term_of(o.date))
    visitors = "班主任、帮扶教师"
    members_met = "父亲、祖母"
    living_conditions = "住房为砖混平房,生活用品齐全。"
    study_conditions = "有独立书桌,光线良好。"
    form_parent = True
    track_policy = True
    recorded_by = factory.LazyAttribute(lambda o: o.pairing.teacher.user)


class ExcusedWeekFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ExcusedWeek

    pairing = factory.SubFactory(PairingFactory)
    week_monday = dt.date(2026, 11, 9)
    reason = models.ExcuseReason.ILLNESS
    excused_by = factory.SubFactory("pairing.tests.factories.UserFactory", role="officer")


def card_items(prefix: str = "") -> dict[str, list[str]]:
    """A whole 五三卡's fifteen items, each part's three numbered."""
    words = {
        "highlights": "乐于助人",
        "breakthroughs": "数学计算",
        "mottos": "少壮不努力,老大徒伤悲",
        "role_models": "同桌王同学",
        "promises": "每天读书半小时",
    }
    return {section: [f"{prefix}{word}{i}" for i in (1, 2, 3)] for section, word in words.items()}


class FiveThreeCardFactory(factory.django.DjangoModelFactory):
    """A filled 五三卡 of a pairing's student for the term containing 2026-11-16, not yet reviewed."""

    class Meta:
        model = models.FiveThreeCard
        exclude = ("pairing",)

    pairing = factory.SubFactory(PairingFactory)
    student = factory.LazyAttribute(lambda o: o.pairing.student)
    term = factory.LazyAttribute(lambda o: _term_of(dt.date(2026, 11, 16)))
    recorded_by = factory.LazyAttribute(lambda o: o.pairing.teacher.user)
    highlights = factory.LazyFunction(lambda: card_items()["highlights"])
    breakthroughs = factory.LazyFunction(lambda: card_items()["breakthroughs"])
    mottos = factory.LazyFunction(lambda: card_items()["mottos"])
    role_models = factory.LazyFunction(lambda: card_items()["role_models"])
    promises = factory.LazyFunction(lambda: card_items()["promises"])


# --- 心理健康档案 --------------------------------------------------------------------------------


class CounsellingRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.CounsellingRequest

    student = factory.SubFactory("pairing.tests.factories.StudentFactory")
    requested_by = factory.SubFactory("pairing.tests.factories.UserFactory", role="teacher")
    reason = "最近上课走神,常一个人发呆。"


class CounsellingRecordFactory(factory.django.DjangoModelFactory):
    """A session of one student (``students`` given as a list after creation)."""

    class Meta:
        model = models.CounsellingRecord
        skip_postgeneration_save = True

    school = factory.SubFactory("pairing.tests.factories.SchoolFactory")
    kind = models.SessionKind.INDIVIDUAL
    mode = models.SessionMode.WALK_IN
    requester_kind = ""
    counsellor = factory.SubFactory("pairing.tests.factories.UserFactory", role="counsellor")
    date = dt.date(2026, 11, 12)
    term = factory.LazyAttribute(lambda o: _term_of(o.date))
    duration_minutes = 40
    topic = "考试焦虑"
    notes = "学生谈到考前失眠,练习了呼吸放松。"

    @factory.post_generation
    def students(self, create: bool, extracted: list | None, **kwargs: object) -> None:
        if create and extracted:
            self.students.set(extracted)


class PsychAssessmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.PsychAssessment

    student = factory.SubFactory("pairing.tests.factories.StudentFactory")
    scale = models.AssessmentScale.MHT
    taken_on = dt.date(2026, 10, 20)
    score = 62
    result = "学习焦虑分偏高,其余在常模范围内。"
    entered_by = factory.SubFactory("pairing.tests.factories.UserFactory", role="counsellor")


def talk_values(**changes: object) -> dict[str, object]:
    """talk_record_create's values for a valid 谈心谈话 (the service's tests add pairing, recorded_by, date)."""
    return {
        "duration_minutes": 30,
        "content": "交流本周学习情况。",
        "student_state": "情绪稳定。",
        "tracks": ["track_study"],
        "help_forms": ["form_talk"],
        **changes,
    }
