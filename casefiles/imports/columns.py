"""The roster columns we read, and the header names they go by.

Column names follow the student roster of the 全国学生资助管理信息系统 (the national student-aid
system) where one fits, because that is the file schools already have: 全国学籍号 and 身份证件号
(its spelling, with 身份证件类型 beside it), 学校名称 and 学校标识码, 户口性质, 监护人姓名 and
监护人联系电话, and the 是/否 columns of its 家庭经济信息 template (是否脱贫家庭学生, 是否最低生活保障
家庭, 是否特困供养, 是否孤儿, 是否残疾). They were written from that system's published templates,
not checked against a file exported this term: the aliases below also take the shorter names other
systems and hand-made sheets use (姓名, 身份证号, 学籍号, 学校 …), so an unchecked spelling costs an
alias, not a refused file.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Headers naming another person's number or name ("监护人身份证号", "父亲姓名"): such a header only
# matches a column whose own aliases carry the same word, never the student's 身份证号 or 姓名.
OTHER_PERSON_MARKERS = ("监护人", "父亲", "母亲", "家长", "联系人", "教师", "老师", "户主")


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # how errors and the template name it
    aliases: tuple[str, ...]
    required: bool = False
    note: str = ""  # what the cell takes, on the template's note row (above the header: no column's name in it)


FLAG_NOTE = "是/否;不清楚请留空(留空不是“否”)"

STUDENT_COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", ("姓名", "学生姓名"), required=True, note="必填"),
    Column("gender", "性别", ("性别", "学生性别"), note="男/女;可空,由证号推算"),
    Column("birth_date", "出生日期", ("出生日期", "出生年月日", "生日"), note="如20121014;可空,由证号推算"),
    Column(
        "id_number",
        "身份证件号",
        ("身份证件号", "身份证件号码", "身份证号", "身份证号码", "公民身份号码", "证件号码", "学生身份证号"),
        required=True,
        note="必填,18位,末位可为X",
    ),
    Column(
        "student_number",
        "全国学籍号",
        ("全国学籍号", "学籍号", "学生学籍号", "全国学籍号码"),
        required=True,
        note="必填,G加18位或J/L开头共19位",
    ),
    Column("school", "学校名称", ("学校名称", "学校", "就读学校", "所在学校"), note="与标识码二选一,须为系统中的名称"),
    Column("school_code", "学校标识码", ("学校标识码", "学校代码"), note="与名称二选一"),
    Column("grade", "年级", ("年级", "所在年级", "就读年级"), required=True, note="必填,如七年级、初一、高二"),
    Column("class_name", "班级", ("班级", "班级名称", "班号", "所在班级"), required=True, note="必填,如3班或3"),
    Column("hukou_type", "户口性质", ("户口性质", "户口类型", "户籍性质"), note="城镇/农村(新学生必填)"),
    Column("town", "乡镇(街道)", ("乡镇", "乡镇街道", "所在乡镇", "乡镇(街道)"), note="如琚湾镇(新学生必填)"),
    Column("village", "村(社区)", ("村", "村社区", "所在村", "村(社区)"), note="新学生必填"),
    Column("guardian_name", "监护人姓名", ("监护人姓名", "监护人"), note="新学生必填"),
    Column(
        "guardian_relation", "监护人关系", ("监护人关系", "与监护人关系", "监护人与学生关系"), note="如父亲、母亲、祖父"
    ),
    Column(
        "guardian_phone",
        "监护人联系电话",
        ("监护人联系电话", "监护人电话", "监护人手机号", "联系电话"),
        note="11位手机号",
    ),
    Column("lifted_household", "是否脱贫家庭学生", ("是否脱贫家庭学生", "是否脱贫户", "是否建档立卡"), note=FLAG_NOTE),
    Column("subsistence", "是否最低生活保障家庭", ("是否最低生活保障家庭", "是否低保", "是否低保家庭"), note=FLAG_NOTE),
    Column("destitute", "是否特困供养", ("是否特困供养", "是否特困", "是否特困供养人员"), note=FLAG_NOTE),
    Column("orphan", "是否孤儿", ("是否孤儿",), note=FLAG_NOTE),
    Column("disabled", "是否残疾", ("是否残疾", "是否残疾学生", "是否持证残疾"), note=FLAG_NOTE),
)

DATE_KEYS = frozenset({"birth_date"})
FLAG_KEYS = frozenset({"lifted_household", "subsistence", "destitute", "orphan", "disabled"})
# 学校名称 or 学校标识码: one of the two is required (checked on the header, see headers.py).
SCHOOL_KEYS = ("school", "school_code")

_NOTE_RE = re.compile(r"[(\[【<《].*?[)\]】>》]")
_NOISE_RE = re.compile(r"[\s*:#※]")


def normalize_header(text: str) -> str:
    """A header cell compared as a name: half-width, without spaces, stars, colons and bracketed notes
    ("身份证件号(必填)", "* 姓名", "出生日期\\n(格式:20261014)")."""
    text = unicodedata.normalize("NFKC", text)
    return _NOISE_RE.sub("", _NOTE_RE.sub("", text))


def match_column(header: str, columns: tuple[Column, ...]) -> Column | None:
    """The column a header names: an exact alias first (before and after removing notes), else the
    column with the longest alias contained in the header, within the same person (OTHER_PERSON_MARKERS)."""
    if not header.strip():
        return None
    plain = _NOISE_RE.sub("", unicodedata.normalize("NFKC", header))
    bare = normalize_header(header)
    for column in columns:
        if plain in column.aliases or bare in column.aliases:
            return column
    markers = {m for m in OTHER_PERSON_MARKERS if m in bare}
    best: tuple[int, Column] | None = None
    for column in columns:
        for alias in column.aliases:
            if (
                alias not in OTHER_PERSON_MARKERS
                and alias in bare
                and {m for m in OTHER_PERSON_MARKERS if m in alias} == markers
                and (best is None or len(alias) > best[0])
            ):
                best = (len(alias), column)
    return best[1] if best else None
