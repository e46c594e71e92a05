"""Demo 心理健康档案 at the demo school (called by guidance/demo.py's seed), written through the
services of guidance/counselling.py so that every rule holds:

- files at each risk level (一般, 关注, 重点关注, 危机), with sessions of each kind and mode
  (个体/团体, 定单式 asked by a teacher, a parent or the student, 门诊式 walk-ins), assessments and the
  levels' history with reasons: all readable by demo_counsellor only (and designated county staff);
- demo_teacher's first student at 重点关注 with "心理老师建议跟进" (all demo_teacher sees of it), and
  an open request (待安排) from demo_teacher for her second student;
- one rise to 危机, whose in-app notice reaches demo_officer (not sent by email: a demo has no mail).

A few dozen rows; deterministic for a seed (the choices come from ctx.rng).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pairing.demo import GroundFloor
from pairing.models import Student
from zaoyang_aid.access import Role
from zaoyang_aid.demo import DemoContext, raw_delete

from . import counselling
from .models import (
    CounsellingRecord,
    CounsellingRequest,
    PsychAssessment,
    PsychFile,
    RiskLevel,
    RiskLevelChange,
    SessionKind,
    SessionMode,
)

# (level, reason, follow_up_wanted): the history each kind of file climbs through, oldest first.
HISTORIES: dict[RiskLevel, list[tuple[RiskLevel, str, bool]]] = {
    RiskLevel.NORMAL: [(RiskLevel.NORMAL, "新生心理普查结果正常,建档备查。", False)],
    RiskLevel.WATCH: [(RiskLevel.WATCH, "近期与室友关系紧张,情绪起伏较大,需定期关注。", False)],
    RiskLevel.CLOSE: [
        (RiskLevel.WATCH, "期中考试后成绩下滑明显,自述睡眠不好。", False),
        (RiskLevel.CLOSE, "SDS测评提示中度抑郁倾向,父母外出务工,缺少倾诉对象,请包保教师多关心。", True),
    ],
    RiskLevel.CRISIS: [
        (RiskLevel.WATCH, "班主任反映上课常走神,不愿与人交流。", False),
        (RiskLevel.CRISIS, "辅导中流露消极念头,已联系监护人并启动危机干预流程,每日跟进。", True),
    ],
}
# (topic, notes) of a session, by kind: the note tells what the topic was about.
SESSIONS = {
    SessionKind.INDIVIDUAL: [
        ("考试焦虑", "学生谈到对考试的担心,一起梳理了复习计划,练习了腹式呼吸放松。约定两周后再谈。"),
        ("人际交往困扰", "学生与同学发生矛盾后情绪低落。引导其换位思考,讨论了表达需求的方式,情绪有所缓和。"),
        ("亲子沟通", "学生思念外出务工的父母,常独自流泪。鼓励其每周与父母视频,并推荐加入学校合唱队。"),
        ("睡眠与作息", "学生近期入睡困难。讲解了睡眠卫生知识,建议睡前放下手机,记录一周睡眠日记。"),
    ],
    SessionKind.GROUP: [
        ("团体辅导:我的优点树", "团体活动中学生参与积极,能分享自己的优点,同伴反馈良好。"),
        ("团体辅导:压力与放松", "带领学生做了肌肉放松练习,讨论了各自缓解压力的办法,气氛轻松。"),
    ],
}
RESULTS = {
    "MHT": "总分处于正常范围,学习焦虑分量表略高,建议关注考前情绪。",
    "SDS": "标准分62分,提示中度抑郁倾向,建议进一步面谈评估。",
    "SCL-90": "总分偏高,抑郁、人际敏感因子分较高,建议持续跟踪。",
}


def seed_counselling(ctx: DemoContext, ground: GroundFloor) -> None:
    counsellor = next(
        (t.user for t in ground.teachers if t.school_id == ground.demo_school.pk and t.user.role == Role.COUNSELLOR),
        None,
    )
    term = ground.terms[-1]
    if counsellor is None or ctx.today - term.start_date < dt.timedelta(days=21):
        return  # no counsellor, or too early in the term for a history
    mine = [p.student for p in ground.pairings if p.teacher_id == ground.demo_teacher.pk and p.ended_on is None]
    others = [
        s
        for s in ground.students
        if s.school_id == ground.demo_school.pk and s.enrollment_status == "enrolled" and s not in mine
    ]
    if len(mine) < 2 or len(others) < 6:
        return
    rng = ctx.rng
    chosen = rng.sample(others, 6)
    files: list[tuple[Student, RiskLevel]] = [
        (mine[0], RiskLevel.CLOSE),
        (chosen[0], RiskLevel.NORMAL),
        (chosen[1], RiskLevel.NORMAL),
        (chosen[2], RiskLevel.WATCH),
        (chosen[3], RiskLevel.WATCH),
        (chosen[4], RiskLevel.CLOSE),
        (chosen[5], RiskLevel.CRISIS),
    ]
    day = _days(rng, term.start_date, ctx.today)
    for i, (student, level) in enumerate(files):
        kind_mode = [
            (SessionMode.WALK_IN, ""),
            (SessionMode.ORDERED, "student"),
            (SessionMode.ORDERED, "parent"),
            (SessionMode.ORDERED, "teacher"),
        ][i % 4]
        _session(counsellor, student, [student], SessionKind.INDIVIDUAL, kind_mode, next(day), rng)
        scale = ["MHT", "SDS", "SCL-90"][i % 3]
        counselling.psych_assessment_create(
            student=student,
            by=counsellor,
            scale=scale,
            taken_on=next(day),
            score=Decimal(rng.randint(40, 75) if scale != "SCL-90" else rng.randint(120, 220)),
            result=RESULTS[scale],
        )
        for history_level, reason, follow in HISTORIES[level]:
            version = PsychFile.objects.get(student=student).version
            counselling.risk_level_set(
                student=student,
                by=counsellor,
                level=history_level,
                reason=reason,
                follow_up_wanted=follow,
                version=version,
                deliver=False,
            )
    group = [s for s, _ in files[1:5]]
    _session(counsellor, group[0], group, SessionKind.GROUP, (SessionMode.WALK_IN, ""), next(day), rng)
    counselling.counselling_request_create(
        student=mine[1],
        by=ground.demo_teacher.user,
        reason="最近上课常走神,下课一个人待着,家访时奶奶说孩子晚上睡不好。",
    )
    ctx.log(f"心理健康档案: {len(files)} 份(一般、关注、重点关注、危机),1 条待安排的辅导申请")


def _days(rng: Any, first: dt.date, last: dt.date) -> Any:
    """Weekdays from three weeks into the term up to yesterday, in order (wrapping if they run out)."""
    start = max(first, last - dt.timedelta(days=60))
    days = [start + dt.timedelta(days=n) for n in range((last - start).days)]
    days = [d for d in days if d.weekday() < 5] or [last]
    n = 0
    while True:
        yield days[min(n, len(days) - 1)]
        n = n + rng.randint(1, 2)


def _session(
    counsellor: Any,
    first: Student,
    students: list[Student],
    kind: SessionKind,
    mode: tuple[SessionMode, str],
    day: dt.date,
    rng: Any,
) -> None:
    topic, notes = rng.choice(SESSIONS[kind])
    counselling.counselling_record_create(
        by=counsellor,
        school_id=first.school_id,
        values=counselling.SessionValues(
            kind=kind,
            mode=mode[0],
            requester_kind=mode[1],
            request_id=None,
            student_ids=tuple(s.pk for s in students),
            date=day,
            duration_minutes=rng.choice([30, 40, 45]) if kind == SessionKind.INDIVIDUAL else 60,
            topic=topic,
            notes=notes,
        ),
    )


def flush_counselling(ctx: DemoContext) -> None:
    """Sessions (with their students), assessments, levels, requests and files; the notices of the
    levels go with guidance's Notification rows (deleted before)."""
    raw_delete(ctx, CounsellingRecord.students.through.objects.all(), label="心理辅导记录的学生")
    for model in (CounsellingRecord, PsychAssessment, RiskLevelChange, CounsellingRequest, PsychFile):
        raw_delete(ctx, model.objects.all())
