"""zaoyang_aid.drawn: a row is drawn once per key, in the active language, and the memo is bounded.
(That each county row's key holds what its template reads is test_dashboard_figures': every write is
compared with a page drawn cold.)"""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.utils import translation

from zaoyang_aid import drawn


@pytest.fixture(autouse=True)
def _empty() -> None:
    drawn.forget()


def test_a_row_is_drawn_once_per_key_and_again_for_a_new_one(monkeypatch):
    calls: list[dict] = []

    def render(name, context, request):
        calls.append(context)
        return f"<tr>{context['n']}</tr>"

    monkeypatch.setattr(drawn, "render_to_string", render)
    request = RequestFactory().get("/")
    assert drawn.row("row.html", (1,), {"n": 1}, request) == "<tr>1</tr>"
    assert drawn.row("row.html", (1,), {"n": 99}, request) == "<tr>1</tr>"  # the key says it is the same
    assert drawn.row("row.html", (2,), {"n": 2}, request) == "<tr>2</tr>"
    assert drawn.row("other.html", (1,), {"n": 3}, request) == "<tr>3</tr>"  # another template
    with translation.override("en"):
        assert drawn.row("row.html", (1,), {"n": 4}, request) == "<tr>4</tr>"  # another language
    assert len(calls) == 4
    assert drawn.rows(["<tr>1</tr>", "<tr>2</tr>"]) == "<tr>1</tr><tr>2</tr>"


def test_a_full_memo_is_emptied_not_grown(monkeypatch):
    monkeypatch.setattr(drawn, "render_to_string", lambda name, context, request: str(context["n"]))
    monkeypatch.setattr(drawn, "LIMIT", 3)
    request = RequestFactory().get("/")
    for n in range(10):
        drawn.row("row.html", (n,), {"n": n}, request)
    assert len(drawn._held) <= 3
