"""Validators for Chinese identity numbers, 学籍号 and phone numbers; messages in Chinese."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils import timezone
from stdnum.cn import ric

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
# 学籍号: G + 18-character ID number for students with a 身份证号; J + 18 for those without one
# (temporary numbers issued by the system); L + 18 for students from outside the mainland.
STUDENT_NUMBER_RE = re.compile(r"^[GJL][0-9A-Z]{17}[0-9X]$")


def validate_id_number(value: str) -> None:
    """居民身份证号码 per GB 11643: 18 characters, a real birth date not in the future, the check digit."""
    value = (value or "").strip().upper()
    if len(value) != 18:
        raise ValidationError("身份证号应为18位,当前为%(n)s位。", code="length", params={"n": len(value)})
    if not re.fullmatch(r"\d{17}[\dX]", value):
        raise ValidationError("身份证号前17位必须是数字,最后一位是数字或X。", code="characters")
    try:
        born = ric.get_birth_date(value)
    except Exception as exc:  # stdnum raises InvalidComponent for an impossible date
        raise ValidationError("身份证号中的出生日期不存在。", code="birth_date") from exc
    if born > timezone.localdate():
        raise ValidationError("身份证号中的出生日期晚于今天。", code="birth_date_future")
    if value[-1] != ric.calc_check_digit(value):
        raise ValidationError("身份证号校验位不正确,请核对是否输错。", code="checksum")
    if not _region_is_known(value):
        raise ValidationError("身份证号前6位的地区代码不存在,请核对。", code="region")


# stdnum's region table lookup is the slow part of the check (a 15,000-row roster asked it for every
# number four times: 0.7 ms each); a county's numbers share a few hundred 6-digit region codes.
_REGIONS: dict[str, bool] = {}


def _region_is_known(value: str) -> bool:
    """stdnum's is_valid for a number whose date and check digit are already right: its region."""
    prefix = value[:6]
    if prefix not in _REGIONS:
        if len(_REGIONS) > 10_000:
            _REGIONS.clear()
        _REGIONS[prefix] = ric.is_valid(value)
    return _REGIONS[prefix]


def normalize_id_number(value: str) -> str:
    return (value or "").strip().upper()


def validate_student_number(value: str) -> None:
    value = (value or "").strip().upper()
    if len(value) != 19:
        raise ValidationError("学籍号应为19位,当前为%(n)s位。", code="length", params={"n": len(value)})
    if not STUDENT_NUMBER_RE.fullmatch(value):
        raise ValidationError("学籍号应以G、J或L开头,后接18位数字(最后一位可为X)。", code="format")
    if value[0] == "G":
        try:
            validate_id_number(value[1:])
        except ValidationError as exc:
            raise ValidationError("G字头学籍号应为G加上学生的身份证号:" + exc.messages[0], code="g_id") from exc


def validate_phone(value: str) -> None:
    if not PHONE_RE.fullmatch((value or "").strip()):
        raise ValidationError("请输入11位手机号码。", code="phone")


USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@+-]+$")


def validate_username(value: str) -> None:
    """登录账号: letters, digits and _ . @ + - (a phone number is the usual choice)."""
    if not USERNAME_RE.fullmatch(value or ""):
        raise ValidationError("登录账号只能包含字母、数字和 _ . @ + -", code="username")
