"""Rows of a big table drawn once per distinct content, and kept in this process.

A row of the county dashboard (a town's line, its weekly trend, a school's line) is a pure function of
a few values: the figures it shows, the reader's role (its report links) and the language. Drawn through
the template engine on every redraw, the county's 300-odd rows were half the cost of the page after a
talk, though a talk changes one school's line, one town's line and one trend row. Kept here under
those values, a redraw draws only the rows whose values changed.

Nothing here can go stale: the key holds every value the row's template reads (each row template says
which), so a changed figure is a new key, never an old drawing. Per process and bounded: when full it
is emptied and fills again.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

# Rows kept per process. The county's whole set is about 340 rows, some 400 KB of Python strings (its
# 18 towns, 18 trend rows and 300 schools); a redraw after a talk adds about three. 4,000 is a dozen such sets
# (a few roles and pages, a day of changes) in about 5 MB per worker; a full memo is emptied, and the
# next redraw draws its page's 60-odd rows again.
LIMIT = 4_000

_held: dict[Hashable, SafeString] = {}
_lock = threading.Lock()


def row(template_name: str, key: tuple[Hashable, ...], context: dict[str, Any], request: HttpRequest) -> SafeString:
    """``template_name`` drawn with ``context``, or its drawing kept under ``key`` (which must hold
    every value the template reads; the template's name and the active language are added)."""
    full = (template_name, translation.get_language(), *key)
    html = _held.get(full)
    if html is None:
        html = render_to_string(template_name, context, request)
        with _lock:
            if len(_held) >= LIMIT:
                _held.clear()
            _held[full] = html
    return html


def rows(drawn: list[SafeString]) -> SafeString:
    """Drawn rows as one piece of the page (each was escaped by its own template)."""
    return mark_safe("".join(drawn))


def forget() -> None:
    """Drop every kept drawing (the tests: a page drawn cold to compare with)."""
    with _lock:
        _held.clear()
