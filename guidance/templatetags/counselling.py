"""The 心理健康档案's corner of pages other apps render (the student page of pairing): what the
reader may see of it, through guidance.counselling's rules."""

from __future__ import annotations

from typing import Any

from django import template

from guidance import counselling
from zaoyang_aid.access import scope_of

register = template.Library()


@register.inclusion_tag("guidance/includes/psych_panel.html", takes_context=True)
def psych_panel(context: Any, student: Any) -> dict[str, Any]:
    """For a counsellor of the school or designated county staff: the way to the file. For the
    teacher who 包保 the student now: "心理老师建议跟进" when wanted, her request's status and the
    申请心理辅导 button. For anyone else: nothing."""
    user = context["request"].user
    reader = counselling.may_read(user, student)
    # The student page knows the active pairing (prefetched): no query unless the reader 包保 the student.
    pairing = context.get("active_pairing")
    teacher_id = scope_of(user).teacher_id
    paired = pairing is not None and teacher_id is not None and pairing.teacher_id == teacher_id
    states = counselling.teacher_psych_states(user, [student.pk], paired=True) if paired else {}
    state = states.get(student.pk)
    return {"student": student, "reader": reader, "state": state}
