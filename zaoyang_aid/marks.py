"""Marks on a student's row in another app's page: the teacher's card (我的帮扶学生) and the officer's
dashboard are guidance's, the early warning is casefiles' (which guidance may not import). casefiles
registers a provider at start-up; a page asks ``student_marks`` once for all its students, and each
provider answers in a fixed number of queries, as far as the reader may see."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Mark:
    label: str  # short, on a badge: "预警·成绩下滑"
    detail: str  # the value in words: "平均成绩由85.0降至70.0(下降15.0分,阈值10分)"
    link: str = ""  # where the reader acts on it, if anywhere


Provider = Callable[[Any, Collection[int]], Mapping[int, list[Mark]]]
_providers: list[Provider] = []


def register(provider: Provider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def student_marks(reader: Any, student_ids: Collection[int]) -> dict[int, list[Mark]]:
    """Per student id, the marks every provider has for this reader (none for a student without)."""
    marks: dict[int, list[Mark]] = {}
    if not student_ids:
        return marks
    for provider in _providers:
        for student_id, found in provider(reader, student_ids).items():
            marks.setdefault(student_id, []).extend(found)
    return marks
