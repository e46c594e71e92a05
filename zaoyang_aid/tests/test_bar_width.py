"""The bar_width filter: a progress bar's width as a class, since the Content-Security-Policy
refuses style="width: …" (issue 8, point 7)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from zaoyang_aid.templatetags.aid import bar_width


@pytest.mark.parametrize(
    ("part", "whole", "css_class"),
    [(1, 3, "pct-33"), (2, 3, "pct-67"), (3, 3, "pct-100"), (0, 5, "pct-0")],
)
def test_a_share_becomes_the_class_of_its_whole_percent(part, whole, css_class):
    assert bar_width(part, whole) == css_class


@pytest.mark.parametrize(("part", "whole"), [(1, 0), (None, 3), ("x", 3), (1, None)])
def test_nothing_to_measure_is_an_empty_bar(part, whole):
    assert bar_width(part, whole) == "pct-0"


def test_more_than_the_whole_is_a_full_bar_and_never_wider():
    assert bar_width(7, 5) == "pct-100"
    assert bar_width(-1, 5) == "pct-0"


def test_every_class_the_filter_gives_is_in_the_stylesheet():
    css = (Path(settings.BASE_DIR) / "static" / "css" / "app.css").read_text()
    assert all(f".pct-{n} {{ width: {n}%; }}" in css for n in range(101))
