"""A case file laid out as a Document (casefiles.document): the cover and the sections that the screen
page, the print view and the PDF all show. Everything here is plain text, already cut down to what
the reader may see (casefiles.selectors.case_file asks the field policy) and already masked."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from guidance.models import FiveThreeCard, HomeVisit, TalkRecord
from pairing.models import Student, Term

from .document import Block, Cover, Document, Row, Section, Table
from .selectors import CaseFile, case_file

WITHHELD = "无权查看"
FOOTER = "枣阳市学生资助管理中心 · 内部资料 注意保密"


def case_file_document(*, student_id: int, term_id: int | None, reader: Any) -> Document:
    """The case file of ``student_id`` for ``reader``: all terms (``term_id`` None) or one term's.

    Raises Student.DoesNotExist outside the reader's scope and Term.DoesNotExist for an unknown term
    (the zip export of a school calls this for each of its students)."""
    term = Term.objects.select_related("school_year").get(pk=term_id) if term_id is not None else None
    return document_of(case_file(student=student_id, reader=reader, term=term), reader=reader)


def document_of(file: CaseFile, *, reader: Any) -> Document:
    student = file.student
    term_name = file.term.name if file.term is not None else "全部学期"
    return Document(
        cover=_cover(file, reader, term_name),
        sections=[
            _profile_section(file),
            _family_section(file),
            _assessment_section(file),
            _history_section(file),
            _talks_section(file),
            _visits_section(file),
            _cards_section(file),
            _results_section(file),
            _referrals_section(file),
            *_recovery_sections(file),
            _aid_section(file),
            _attachments_section(file),
            _psych_section(file),
        ],
        footer=FOOTER,
        filename=f"帮扶档案-{student.school.name}-{student.name}-{term_name}",
    )


def _cover(file: CaseFile, reader: Any, term_name: str) -> Cover:
    student = file.student
    now = timezone.localtime()
    return Cover(
        title="学生资助帮扶档案",
        rows=[
            Row("学校", student.school.name),
            Row("学生", f"{student.name}({student.class_label})"),
            Row("身份证号", _id_number(file)),
            Row("包保教师", file.teacher_in(file.term)),
            Row("学期", term_name),
            Row("生成时间", f"{now:%Y-%m-%d %H:%M}"),
            Row("生成人", reader.get_full_name() or reader.get_username()),
        ],
    )


def _id_number(file: CaseFile) -> str:
    return file.student.id_number if file.access.full_id else file.student.masked_id_number


def _withheld(title: str, key: str = "") -> Section:
    # A withheld part is one line: it starts no page of its own.
    return Section(
        title=f"{title}({WITHHELD})",
        empty_text=f"{WITHHELD}:按信息查看权限,这部分内容不向您显示。",
        page_break_before=False,
        key=key,
    )


def _when(moment: Any) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


# --- Profile and family -------------------------------------------------------------------------


def _profile_section(file: CaseFile) -> Section:
    s = file.student
    rows = [
        Row("姓名", s.name),
        Row("性别", s.get_gender_display()),
        Row("出生日期", f"{s.birth_date:%Y-%m-%d}"),
        Row("学校", s.school.name),
        Row("年级班级", s.class_label),
        Row("身份证号", _id_number(file)),
        Row("户口类型", s.get_hukou_type_display()),
        Row("学籍状态", s.get_enrollment_status_display()),
    ]
    if file.access.full_id:
        rows.insert(6, Row("学籍号", s.student_number))
    return Section(title="基本信息", blocks=[Block(title=s.name, rows=rows)], page_break_before=False, key="profile")


def _family_section(file: CaseFile) -> Section:
    if file.guardians is None and file.members is None:
        return _withheld("家庭情况", "family")
    blocks = []
    if file.guardians is not None:
        rows = [Row("家庭住址", file.student.household.address)]
        rows += [Row(f"监护人({g.relation})", f"{g.name} {g.phone}") for g in file.guardians]
        blocks.append(Block(title="监护人与住址", rows=rows))
    if file.members is not None:
        health = "health" in file.access
        headers = ["姓名", "关系", "年龄", "职业", "年收入(元)"] + (["健康状况"] if health else [])
        table = [
            [m.name, m.relation, str(m.age), m.occupation, str(m.annual_income)]
            + ([m.get_health_display()] if health else [])
            for m in file.members
        ]
        blocks.append(Block(title="家庭成员", tables=[Table(headers, table)] if table else []))
    return Section(title="家庭情况", blocks=blocks, page_break_before=False, key="family")


def _assessment_section(file: CaseFile) -> Section:
    if file.assessments is None:
        return _withheld("困难认定", "assessments")
    blocks = [
        Block(
            title=f"{a.term.name} {a.level}",
            meta=f"认定日期 {a.decided_on:%Y-%m-%d}",
            rows=[Row("特殊群体类别", "、".join(str(c) for c in a.categories.all()) or "无")]
            + ([Row("说明", a.note)] if a.note else []),
        )
        for a in file.assessments
    ]
    return Section(
        title="困难认定", blocks=blocks, empty_text="暂无认定记录", page_break_before=False, key="assessments"
    )


def _history_section(file: CaseFile) -> Section:
    """学籍变动 and 结对 history: when and with whom; the reasons only with ENROLLMENT."""
    reasons = "enrollment" in file.access
    status_rows = [
        [f"{c.effective_on:%Y-%m-%d}", c.get_status_display(), _transfer(c)] + ([c.reason] if reasons else [])
        for c in file.status_changes
    ]
    pairing_rows = [
        [
            p.teacher.name,
            f"{p.started_on:%Y-%m-%d}",
            f"{p.ended_on:%Y-%m-%d}" if p.ended_on else "至今",
            p.get_end_reason_display() if p.ended_on else "",
        ]
        + ([p.end_note] if reasons else [])
        for p in file.pairings
    ]
    tables = [Table(["包保教师", "开始", "结束", "结束原因"] + (["说明"] if reasons else []), pairing_rows)]
    none = [Row("", "无")]
    blocks = [Block(title="结对历史", tables=tables if pairing_rows else [], rows=[] if pairing_rows else none)]
    status_headers = ["生效日期", "学籍状态", "转学"] + (["原因"] if reasons else [])
    blocks.append(
        Block(
            title="学籍变动",
            tables=[Table(status_headers, status_rows)] if status_rows else [],
            rows=[] if status_rows else [Row("", "无")],
        )
    )
    return Section(title="结对与学籍变动", blocks=blocks, page_break_before=False, key="history")


def _transfer(change: Any) -> str:
    if change.from_school is None and change.to_school is None:
        return ""
    return f"{change.from_school or ''}→{change.to_school or ''}"


# --- Help records -----------------------------------------------------------------------------------


def _written(record: TalkRecord | HomeVisit) -> str:
    late = " · 补录" if isinstance(record, TalkRecord) and record.entered_late else ""
    writer = record.recorded_by.get_full_name()
    return f"{record.pairing.teacher.name}包保 · 记录人 {writer} · {_when(record.created_at)}{late}"


def _talks_section(file: CaseFile) -> Section:
    if file.talks is None:
        return _withheld("谈心谈话与学业辅导记录", "talks")
    blocks = []
    for t in file.talks:
        rows = [
            Row("五导", "、".join(t.tracks)),
            Row("帮扶形式", "、".join(t.help_forms)),
            Row("谈心谈话与辅导内容", t.content),
            Row("学生状态", t.student_state),
        ]
        optional = (("发现的问题", t.problems), ("采取的措施", t.measures), ("下一步打算", t.next_steps))
        rows += [Row(label, value) for label, value in optional if value]
        title = f"{t.date:%Y-%m-%d} 谈心谈话({t.duration_minutes}分钟)"
        blocks.append(Block(title=title, meta=_written(t), rows=rows))
    title = f"谈心谈话与学业辅导记录(共{len(blocks)}次)"
    return Section(title=title, blocks=blocks, empty_text="暂无记录", key="talks")


def _visits_section(file: CaseFile) -> Section:
    if file.visits is None:
        return _withheld("家访记录", "visits")
    blocks = []
    for v in file.visits:
        rows = [
            Row("走访人员", v.visitors),
            Row("见到的家庭成员", v.members_met),
            Row("生活条件", v.living_conditions),
            Row("学习条件", v.study_conditions),
            Row("宣讲的资助政策", "、".join(p.name for p in v.policies.all()) or "无"),
        ]
        optional = (("发现的需求", v.needs_found), ("家庭反馈意见", v.family_feedback))
        rows += [Row(label, value) for label, value in optional if value]
        rows.append(Row("照片", f"{getattr(v, 'photo_count', 0)}张(见系统内家访记录)"))
        blocks.append(Block(title=f"{v.date:%Y-%m-%d} 家访", meta=_written(v), rows=rows))
    return Section(title=f"家访记录(共{len(blocks)}次)", blocks=blocks, empty_text="暂无记录", key="visits")


def _cards_section(file: CaseFile) -> Section:
    if file.cards is None:
        return _withheld("五三卡", "cards")
    return Section(title="五三卡", blocks=[_card_block(c) for c in file.cards], empty_text="暂无五三卡", key="cards")


def _card_block(card: FiveThreeCard) -> Block:
    rows = []
    for label, items, marks in card.sections():
        for i, item in enumerate(items):
            mark = f"【{marks[i]['label']}】{marks[i].get('note', '')}" if marks and i < len(marks) else ""
            rows.append(Row(f"{label}{i + 1}", f"{item} {mark}".strip()))
    reviewed = f" · 期末评定 {card.reviewed_by.get_full_name()} {_when(card.reviewed_at)}" if card.reviewed_by else ""
    meta = f"填写 {card.recorded_by.get_full_name()} {_when(card.filled_at)}{reviewed}"
    return Block(title=f"{card.term.name} 五三卡", meta=meta, rows=rows)


def _results_section(file: CaseFile) -> Section:
    if file.results is None:
        return _withheld("学业成绩", "results")
    blocks = []
    for group in file.results:
        rows = [
            [
                r.subject,
                _number(r.score),
                _number(r.full_marks),
                str(r.class_rank or ""),
                _change(group.change.get(r.subject)),
            ]
            for r in group.results
        ]
        # 升降: against the subject's last earlier result, both out of 100 (full marks may differ).
        meta = f"平均(折合百分制){group.average} · 升降按百分制计" if group.average is not None else ""
        table = Table(["科目", "成绩", "满分", "排名", "升降"], rows)
        blocks.append(Block(title=f"{group.term.name} 学业成绩", meta=meta, tables=[table]))
    if len(file.results) > 1:
        blocks.append(_trend_block(file))
    return Section(title="学业成绩", blocks=blocks, empty_text="暂无成绩", key="results")


def _trend_block(file: CaseFile) -> Block:
    """Each subject's score out of 100, term by term: what 学业辅导 changed."""
    groups = file.results or []
    subjects = list(dict.fromkeys(r.subject for g in groups for r in g.results))
    by = {(g.term.pk, r.subject): r.percent for g in groups for r in g.results}
    rows = [[s] + [str(by.get((g.term.pk, s), "")) for g in groups] for s in subjects]
    rows.append(["平均"] + [str(g.average or "") for g in groups])
    headers = ["科目"] + [g.term.name.replace("学年", " ") for g in groups]
    return Block(title="各学期成绩走势(折合百分制)", tables=[Table(headers, rows)])


def _number(value: Any) -> str:
    text = f"{value:f}"
    return text[:-2] if text.endswith(".0") else text


def _change(value: Any) -> str:
    if value is None:
        return ""
    return f"+{value}" if value > 0 else str(value)


def _referrals_section(file: CaseFile) -> Section:
    if file.referrals is None:
        return _withheld("转介", "referrals")
    blocks = [
        Block(
            title=f"{r.referred_on:%Y-%m-%d} 转介{r.department.name}",
            meta=f"{r.reference} · {r.get_status_display()} · 转介人 {r.referred_by.get_full_name()}",
            rows=[Row("转介事由", r.reason)]
            + ([Row("办理结果", r.outcome)] if r.outcome else [])
            + ([Row("获得的帮扶", r.help_text)] if r.help_text else []),
        )
        for r in file.referrals
    ]
    return Section(title="转介", blocks=blocks, empty_text="暂无转介", page_break_before=False, key="referrals")


def _recovery_sections(file: CaseFile) -> list[Section]:
    """劝返(控辍保学): shown only for a student with a case (the others' files stay as they were)."""
    if not file.recovery:
        return []
    blocks = [_recovery_block(case) for case in file.recovery]
    return [Section(title="劝返(控辍保学)", blocks=blocks, page_break_before=False, key="recovery")]


def _recovery_block(case: Any) -> Block:
    if case.status == "returned":
        ending = f" · {case.returned_on:%Y-%m-%d}返校({case.returned_class})"
    elif case.closed_on:
        ending = f" · {case.closed_on:%Y-%m-%d}销号"
    else:
        ending = ""
    rows = [
        Row("辍学原因", case.leave_reason),
        Row("帮扶教师", case.teacher.name if case.teacher else "未指定"),
        Row("班主任", case.head_teacher or "未填写"),
        Row("村(社区)干部", case.village_cadre or "未填写"),
        Row("负责资助专干", case.officer.get_full_name() if case.officer else "未指定"),
    ]
    if case.is_open and case.next_step:
        rows.append(Row("下一步措施", f"{case.next_step}(应于{case.next_step_due:%Y-%m-%d}前完成)"))
    if case.close_reason:
        rows.append(Row("销号说明", case.close_reason))
    attempts = [
        [f"{a.date:%Y-%m-%d}", a.get_method_display(), a.get_with_whom_display(), a.who, a.outcome]
        for a in case.attempts.all()
    ]
    tables = [Table(["日期", "方式", "对象", "劝返人员", "情况与结果"], attempts)] if attempts else []
    return Block(
        title=f"{case.opened_on:%Y-%m-%d} 建立劝返方案",
        meta=f"{case.get_status_display()}{ending} · 劝返{len(attempts)}次",
        rows=rows,
        tables=tables,
    )


def _aid_section(file: CaseFile) -> Section:
    if file.aid is None:
        return _withheld("资助发放", "aid")
    rows = [[a.term.name, a.item, f"{a.amount:.2f}", f"{a.paid_on:%Y-%m-%d}", _aid_source(a)] for a in file.aid]
    total = sum((a.amount for a in file.aid), start=0)
    headers = ["学期", "项目", "金额(元)", "发放日期", "来源"]
    blocks = [Block(title="资助发放明细", meta=f"合计 {total:.2f} 元", tables=[Table(headers, rows)])] if rows else []
    return Section(title="资助发放", blocks=blocks, empty_text="暂无发放记录", page_break_before=False, key="aid")


def _aid_source(aid: Any) -> str:
    """The source, and the referral it came by (部门联动: aid a department gave on a referral)."""
    source = aid.get_source_display()
    return f"{source}(转介{aid.referral.department.name})" if aid.referral_id else source


def _attachments_section(file: CaseFile) -> Section:
    if file.attachments is None:
        return _withheld("附件", "attachments")
    rows = [
        [a.get_kind_display(), a.title, a.term.name if a.term else "", _by(a), _when(a.uploaded_at)]
        for a in file.attachments
    ]
    headers = ["类别", "标题", "学期", "上传人", "上传时间"]
    blocks = [Block(title="附件目录", tables=[Table(headers, rows)])] if rows else []
    return Section(title="附件", blocks=blocks, empty_text="暂无附件", page_break_before=False, key="attachments")


def _by(attachment: Any) -> str:
    return attachment.uploaded_by.get_full_name()


def _psych_section(file: CaseFile) -> Section:
    """The 心理健康档案 as guidance.counselling.psych_summary lets the reader see it: the whole file
    for counsellors and designated county staff; for the 包保 teacher only whether a follow-up is
    wanted; for everyone else the section says it is withheld."""
    summary = file.psych
    if summary is None:
        return _withheld("心理健康档案", "psych")
    follow_up = "是,心理健康教师建议跟进" if summary.get("follow_up_wanted") else "否"
    if "sessions" not in summary:  # the 包保 teacher: the yes/no only
        blocks = [Block(title="跟进提示", rows=[Row("是否需要跟进", follow_up)])]
        return Section(title="心理健康档案", blocks=blocks, page_break_before=False, key="psych")
    blocks = [Block(title="风险等级", rows=[Row("当前等级", summary["level_label"]), Row("是否需要跟进", follow_up)])]
    if summary["changes"]:
        rows = [
            [_when(c.set_at), c.get_previous_level_display(), c.get_level_display(), c.set_by.get_full_name(), c.reason]
            for c in summary["changes"]
        ]
        blocks.append(Block(title="等级调整记录", tables=[Table(["时间", "原等级", "新等级", "调整人", "原因"], rows)]))
    for s in summary["sessions"]:
        blocks.append(
            Block(
                title=f"{s.date:%Y-%m-%d} {s.get_kind_display()}辅导({s.get_mode_display()})",
                meta=f"{s.counsellor.get_full_name()} · {s.duration_minutes}分钟",
                rows=[Row("主题", s.topic), Row("辅导记录", s.notes)],
            )
        )
    if summary["assessments"]:
        rows = [
            [f"{a.taken_on:%Y-%m-%d}", a.get_scale_display(), str(a.score), a.result] for a in summary["assessments"]
        ]
        blocks.append(Block(title="心理测评", tables=[Table(["日期", "量表", "得分", "结果"], rows)]))
    return Section(title="心理健康档案", blocks=blocks, empty_text="暂无心理健康档案", key="psych")


def student_label(student: Student) -> str:
    return f"{student.name}({student.school.name} {student.class_label})"
