from __future__ import annotations

from typing import Any

from django import template

from zaoyang_aid.masking import mask_id_number

register = template.Library()


@register.filter
def masked(value: str | None) -> str:
    """420683********1234: the only way an ID number reaches a template for most roles."""
    return mask_id_number(value)


@register.filter
def percent(part: Any, whole: Any) -> str:
    try:
        return f"{(float(part) / float(whole)) * 100:.0f}%" if whole else "—"
    except (TypeError, ValueError):
        return "—"


@register.filter
def bar_width(part: Any, whole: Any) -> str:
    """``pct-37``: a progress bar's width as a class of static/css/app.css, whole percents from 0 to
    100. The Content-Security-Policy refuses style="width: 37%" attributes."""
    try:
        share = float(part) / float(whole) if whole else 0.0
    except (TypeError, ValueError):
        share = 0.0
    return f"pct-{min(max(round(share * 100), 0), 100)}"


@register.filter
def first_or_none(items: Any) -> Any:
    return items[0] if items else None
