"""Roster imports (issue 10, point 6). This first step is the reading layer: a file is opened safely
(zaoyang_aid.spreadsheets), its header found under the title rows (headers.py, columns.py), its rows
normalised and checked without the database (rows.py) and then against it (checks.py). The upload
page, the preview and the all-or-nothing commit through the pairing services come next.

    roster = open_roster(upload, max_bytes=settings_value)   # ValidationError if the file is refused
    check_schools(roster.rows, schools=School.objects.visible_to(user))
    check_students_in_database(roster.rows)
    roster.errors  # every RowError, header first, in row order per check
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile

from zaoyang_aid.spreadsheets import SheetLimits, open_sheet

from .rows import Roster, read_student_roster


def open_roster(source: UploadedFile | Path | str, *, max_bytes: int, limits: SheetLimits | None = None) -> Roster:
    """A student roster read from an upload or a path: refused with ValidationError (a Chinese
    message) when the file is not a safe .xls/.xlsx within ``max_bytes``; otherwise every row
    parsed, with its RowErrors. Nothing is written."""
    limits = replace(limits or SheetLimits(), max_bytes=max_bytes)
    return read_student_roster(open_sheet(source, limits=limits))
