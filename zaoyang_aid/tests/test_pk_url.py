"""The ``pk_url`` filter: what ``{% url name pk %}`` gives, built from one reverse per URL name."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import reverse, set_script_prefix

from zaoyang_aid.templatetags.aid import pk_url

NAMES = ["pairing:student_detail", "pairing:teacher_detail", "casefiles:case_file", "guidance:county_school"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("pk", [1, 7, 2_147_483_647, 98765])
def test_it_is_the_url_tags_url(name, pk):
    assert pk_url(pk, name) == reverse(name, args=[pk])


def test_it_follows_the_script_prefix():
    try:
        set_script_prefix("/aid/")
        assert pk_url(3, "pairing:student_detail") == reverse("pairing:student_detail", args=[3])
        assert pk_url(3, "pairing:student_detail").startswith("/aid/")
    finally:
        set_script_prefix("/")


def test_it_renders_in_a_template_and_refuses_what_is_not_an_id():
    html = Template("{% load aid %}{{ pk|pk_url:'pairing:student_detail' }}").render(Context({"pk": 42}))
    assert html == reverse("pairing:student_detail", args=[42])
    with pytest.raises(ValueError):
        pk_url("../admin", "pairing:student_detail")
