from __future__ import annotations

from functools import lru_cache
from typing import Any

from django import template
from django.forms import BoundField, Widget
from django.urls import get_script_prefix, reverse
from django.utils.html import conditional_escape, escape, format_html
from django.utils.safestring import mark_safe

from zaoyang_aid.access import account_helper as _account_helper
from zaoyang_aid.masking import mask_id_number

register = template.Library()


@register.filter
def masked(value: str | None) -> str:
    """420683********1234: the only way an ID number reaches a template for most roles."""
    return mask_id_number(value)


_PK_SLOT = 2_147_483_647  # an id no row has yet: marks where the pk goes in the reversed URL


@lru_cache(maxsize=256)
def _pk_url_parts(name: str, prefix: str) -> tuple[str, str]:
    head, _, tail = reverse(name, args=[_PK_SLOT]).partition(str(_PK_SLOT))
    return head, tail


@register.filter
def pk_url(pk: Any, name: str) -> str:
    """``{{ p.student.pk|pk_url:"pairing:student_detail" }}``: the URL ``{% url name pk %}`` gives, for
    a URL whose one argument is an integer id, without resolving the pattern again for every row (a
    dashboard of 100 students had 500 ``{% url %}`` tags, a third of its time)."""
    head, tail = _pk_url_parts(name, get_script_prefix())
    return f"{head}{int(pk)}{tail}"


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


# A trend cell's colour (static/css/app.css .heat-*): from 95% up, 85%, 70%, 50%, below.
_HEAT_STEPS = (0.95, 0.85, 0.70, 0.50)


@register.filter
def heat(rate: float | None) -> str:
    """``heat-4`` … ``heat-0`` for a completion rate, ``heat-none`` when nothing was owed."""
    if rate is None:
        return "heat-none"
    return f"heat-{sum(rate >= step for step in _HEAT_STEPS)}"


@register.filter
def behind_count(n: int) -> str:
    """A count of pairings behind: "3人" in red, or a grey 0 (the dashboards' tables, once a cell)."""
    if n:
        return format_html('<span class="text-danger fw-semibold">{}人</span>', n)
    return mark_safe('<span class="text-secondary">0</span>')


@register.simple_tag
def trend_cells(cells: Any) -> str:
    """A trend row's week cells (``<td>`` each, coloured by heat, the current week outlined): one tag
    per row instead of five template variables per cell (the county's 20 towns by 20 weeks). Every
    value is ours (counts, a class, a percentage), formatted without format_html's escaping per cell:
    the county page draws some 400 of these."""
    return mark_safe(
        "".join(
            f'<td class="heat {"week-current" if cell.current else heat(cell.rate)}" '
            f'title="{int(cell.done)}/{int(cell.owed)}">{percent(cell.done, cell.owed)}</td>'
            for cell in cells
        )
    )


@register.filter
def first_or_none(items: Any) -> Any:
    return items[0] if items else None


@register.simple_tag(takes_context=True)
def student_access(context: Any, student: Any, pairing: Any = None) -> Any:
    """What the reader sees of this student (zaoyang_aid.fields): ``{% student_access s pairing as a %}``
    then ``{% if a.assessment %}``. ``pairing`` is the student's active pairing, if the page has it."""
    from zaoyang_aid.fields import field_access

    return field_access(
        context["request"].user,
        school_id=getattr(student, "school_id", None),
        paired_teacher_id=getattr(pairing, "teacher_id", None),
    )


@register.simple_tag(takes_context=True)
def reader_sees(context: Any, group: str) -> bool:
    """Whether the reader sees ``group`` for any student (a list's column): ``{% reader_sees "assessment" as x %}``."""
    from zaoyang_aid.fields import FieldGroup, sees_anywhere

    return sees_anywhere(context["request"].user, FieldGroup(group))


@register.simple_tag(takes_context=True)
def report_url(context: Any, report: str, **params: Any) -> str:
    """The reports page of ``report`` filtered by ``params`` (``{% report_url "reminders" town=t.pk
    level=3 as url %}``), or "" for a reader who may not export: the figure then stands unlinked."""
    from zaoyang_aid.access import scope_of
    from zaoyang_aid.navigation import report_link

    return report_link(scope_of(context["request"].user).role, report, params) or ""


@register.filter
def account_helper(user: Any) -> str:
    """Whom this user asks to reset a password or record an email (学校资助专干, 市资助中心 …)."""
    return _account_helper(getattr(user, "role", None))


@register.filter
def bootstrap_widget(field: BoundField) -> str:
    """A field's widget as crispy's bootstrap5 pack draws it, for a form drawn by hand (the talk form):
    the widget's own classes, and ``is-invalid`` when the field has errors (Django adds aria-invalid
    and the error's id to aria-describedby itself)."""
    if not field.errors:
        return widget_html(field)
    css = field.field.widget.attrs.get("class", "")
    return widget_html(field, {"class": f"{css} is-invalid".strip()})


# Widgets whose Django template is a plain <input> (each of these includes input.html and nothing
# else) or <textarea>. Every teacher opens the talk form every week, and its eight widgets drawn
# through Django's widget templates were a fifth of the form's time.
_INPUT_TEMPLATES = frozenset(
    f"django/forms/widgets/{name}.html" for name in ("text", "number", "date", "hidden", "email", "url", "tel")
)
_TEXTAREA_TEMPLATE = "django/forms/widgets/textarea.html"


def widget_html(field: BoundField, attrs: dict[str, Any] | None = None) -> str:
    """``field.as_widget(attrs=attrs)``, the same HTML: inputs and textareas are drawn here as Django's
    templates draw them (input.html, textarea.html, attrs.html, with their escaping), from the context
    Django's widget gives; any other widget through its template."""
    widget = field.field.widget
    template_name = widget.template_name
    plain = template_name in _INPUT_TEMPLATES or template_name == _TEXTAREA_TEMPLATE
    if not plain or field.field.localize or type(widget).render is not Widget.render:
        return field.as_widget(attrs=attrs)
    final = field.build_widget_attrs(attrs or {}, widget)
    if field.auto_id and "id" not in widget.attrs:
        final.setdefault("id", field.auto_id)
    context = widget.get_context(field.html_name, field.value(), final)["widget"]
    drawn = "".join(
        f" {conditional_escape(name)}" if value is True else f' {conditional_escape(name)}="{escape(str(value))}"'
        for name, value in context["attrs"].items()
        if value is not False
    )
    name, value = conditional_escape(context["name"]), context["value"]
    if template_name == _TEXTAREA_TEMPLATE:
        return mark_safe(f'<textarea name="{name}"{drawn}>\n{conditional_escape(value) if value else ""}</textarea>')
    shown = f' value="{escape(str(value))}"' if value is not None else ""
    return mark_safe(f'<input type="{conditional_escape(context["type"])}" name="{name}"{shown}{drawn}>')
