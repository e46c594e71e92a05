"""The talk form's inputs and textareas are drawn in Python (zaoyang_aid.templatetags.aid.widget_html,
a fifth of the form's time through Django's widget templates): the HTML is Django's, byte for byte,
unbound, bound with errors, with values that need escaping, and for a widget it does not draw itself."""

from __future__ import annotations

import pytest
from django import forms

from guidance.forms import TalkRecordForm
from guidance.models import TalkRecord
from zaoyang_aid.templatetags.aid import bootstrap_widget, widget_html

pytestmark = pytest.mark.django_db


def _forms(pairing):
    unbound = TalkRecordForm(instance=TalkRecord(pairing=pairing), pairing=pairing)
    nasty = {
        "date": '2026-11-16"><script>',
        "duration_minutes": "3 0",
        "content": '</textarea><b>"粗体"</b> & 引号\'',
        "student_state": "",
        "problems": "<>&",
        "tracks": ["track_study"],
        "help_forms": ["form_talk"],
        "version": "x",
    }
    bound = TalkRecordForm(nasty, instance=TalkRecord(pairing=pairing), pairing=pairing)
    assert not bound.is_valid()
    return unbound, bound


def test_each_widget_is_drawn_as_django_draws_it(world):
    for form in _forms(world.student_a1.pairings.get()):
        for field in form:
            assert widget_html(field) == field.as_widget(), field.name
            extra = {"class": "x is-invalid", "data-n": 'a"b', "hidden": True, "readonly": False}
            assert widget_html(field, extra) == field.as_widget(attrs=extra), field.name


def test_the_filter_marks_errors_as_crispy_does(world):
    _, bound = _forms(world.student_a1.pairings.get())
    html = bootstrap_widget(bound["duration_minutes"])
    assert 'class="numberinput form-control is-invalid"' in html
    assert 'aria-invalid="true"' in html


def test_a_widget_with_its_own_render_goes_through_django(world):
    class Loud(forms.TextInput):
        def render(self, name, value, attrs=None, renderer=None):
            return "LOUD"

    pairing = world.student_a1.pairings.get()
    form = TalkRecordForm(instance=TalkRecord(pairing=pairing), pairing=pairing)
    form.fields["content"].widget = Loud()
    assert widget_html(form["content"]) == "LOUD"
