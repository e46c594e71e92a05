"""转介单: the one-page A4 slip a school sends with a referral (the departments have no account here),
as a ``Slip`` that the print view (HTML) and the PDF both render, so the two never disagree.

The student's ID number: the department has to identify the child (民政 and 残联 look families up by
it), so the slip carries it whole when the reader's field policy shows FULL_ID for this student (the
school's 资助专干 and county staff, zaoyang_aid/fields.py), masked otherwise; only those roles print.
Values are plain text, already masked; the renderers add nothing and hide nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fpdf.enums import Align, XPos, YPos

from zaoyang_aid.fields import FieldGroup, broad_access
from zaoyang_aid.masking import mask_id_number

from .document import Row
from .models import Referral
from .pdf import FONT, _CaseFilePDF, _rows, _shown

SLIP_TITLE = "学生资助帮扶转介单"
REPLY_TITLE = "转介回执"
SEAL_AREA = "学校(盖章)"
REPLY_SEAL_AREA = "部门(盖章)"
SIGNATURES = ("经办人(签字):", "联系电话:", "日期:        年    月    日")
REPLY_CHOICES = "□ 已受理    □ 已办结    □ 不予受理(请注明原因)"


@dataclass(frozen=True)
class Slip:
    reference: str
    issued_by: str  # the school
    department: str
    department_contact: str
    rows: list[Row]  # 转介日期, 学生, 性别, 学校, 年级班级, 身份证号, 联系教师, 联系电话, 答复期限
    need: str
    reply_rows: list[Row]  # what the department fills in, under the tear-off line
    return_to: str  # whom the reply goes back to, and by when
    full_id: bool

    @property
    def filename(self) -> str:
        return f"转介单-{self.reference}"


def slip_of(referral: Referral, *, reader: Any) -> Slip:
    """The slip of ``referral`` (read with referral_selectors.referral_page) for ``reader``."""
    student = referral.student
    access = broad_access(reader)  # the printing roles see every student of their scope alike
    full_id = FieldGroup.FULL_ID in access
    teacher = referral.contact_teacher
    rows = [
        Row("转介日期", f"{referral.referred_on:%Y年%m月%d日}"),
        Row("学生姓名", student.name),
        Row("性别", student.get_gender_display()),
        Row("身份证号", student.id_number if full_id else mask_id_number(student.id_number)),
        Row("学校", student.school.name),
        Row("年级班级", student.class_label),
        Row("联系教师", teacher.name if teacher is not None else "(未指定)"),
        Row("教师电话", teacher.phone if teacher is not None and FieldGroup.STAFF in access else ""),
        Row("请于此日前答复", f"{referral.due_on:%Y年%m月%d日}"),
    ]
    reply_rows = [
        Row("转介单编号", referral.reference),
        Row("学生", f"{student.name}({student.school.name} {student.class_label})"),
        Row("受理情况", REPLY_CHOICES),
        Row("办理结果", "\n\n"),
        Row("提供的帮扶", "(项目、金额或其他帮扶)\n\n"),
    ]
    return Slip(
        reference=referral.reference,
        issued_by=student.school.name,
        department=referral.department.name,
        department_contact=referral.department.contact,
        rows=rows,
        need=referral.reason,
        reply_rows=reply_rows,
        return_to=f"请于{referral.due_on:%Y年%m月%d日}前将回执交回{student.school.name}学生资助工作人员。",
        full_id=full_id,
    )


def slip_pdf(slip: Slip, *, printed_at: dt.datetime) -> bytes:
    """The slip on one A4 page: heading, the rows, the need, seal area and signatures, the tear-off
    line and the department's reply (回执) with its own seal area."""
    pdf = _CaseFilePDF(f"{slip.reference} · 打印于 {printed_at:%Y-%m-%d %H:%M}")
    pdf.set_auto_page_break(auto=False)
    pdf.set_title(slip.filename)
    pdf.add_page()
    pdf.set_font(FONT, size=17)
    pdf.cell(0, 10, _shown(SLIP_TITLE), align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=9.5)
    pdf.cell(0, 6, _shown(f"编号:{slip.reference}"), align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=11)
    to = f"{slip.department}:" + (f"({slip.department_contact})" if slip.department_contact else "")
    pdf.multi_cell(0, 6.5, _shown(to), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.multi_cell(
        0,
        6.5,
        _shown(f"    {slip.issued_by}现将以下学生转介贵单位,恳请协助解决。"),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_font(FONT, size=10)
    _rows(pdf, [Row(_shown(r.label), _shown(r.value)) for r in slip.rows], line=5.6)
    _rows(pdf, [Row("需要帮助解决的问题", _shown(slip.need))], line=5.6)
    pdf.ln(4)
    _seal(pdf, SEAL_AREA)
    pdf.ln(3)
    pdf.set_text_color(120, 120, 120)
    pdf.cell(0, 6, "- " * 20 + "沿此线剪下" + " -" * 20, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(FONT, size=13)
    pdf.cell(0, 8, REPLY_TITLE, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=10)
    _rows(pdf, [Row(r.label, _shown(r.value)) for r in slip.reply_rows], line=5.6)
    pdf.ln(3)
    _seal(pdf, REPLY_SEAL_AREA)
    pdf.set_font(FONT, size=9)
    pdf.multi_cell(0, 5, _shown(slip.return_to), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _seal(pdf: _CaseFilePDF, label: str) -> None:
    """The seal area (a box on the right) beside the signature lines."""
    top = pdf.get_y()
    box = 38.0
    pdf.rect(pdf.l_margin + pdf.epw - box, top, box, 30)
    pdf.set_xy(pdf.l_margin + pdf.epw - box, top + 12)
    pdf.set_text_color(150, 150, 150)
    pdf.cell(box, 6, label, align=Align.C)
    pdf.set_text_color(0, 0, 0)
    pdf.set_xy(pdf.l_margin, top + 2)
    for line in SIGNATURES:
        pdf.cell(pdf.epw - box - 4, 9, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(top + 32)
