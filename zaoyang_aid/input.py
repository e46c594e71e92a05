"""Input that no page accepts, refused before any view runs.

- A NUL byte has no place in a name, a search or a date, and PostgreSQL refuses it in a string
  literal, so a search box fed one answered 500.
- A whole number beyond 64 bits is no id, page, year or amount, and SQLite cannot bind it (an
  OverflowError, 500, from any filter that looks a row up by it).

This middleware answers 400 with a Chinese message for any query-string or form value (or key)
like that, whatever the page: list filters, the admin's searches and filters, forms. Uploaded files
are not looked at (their bytes are the photo checks' job). An 18-digit ID number is well inside
64 bits and still reaches the search boxes, which refuse it with their own privacy message.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

REFUSED = "请求中含有无效的输入(空字符或超出范围的数字),请检查后重试。"
BIGGEST = 2**63 - 1


def _impossible(value: str) -> bool:
    if "\x00" in value:
        return True
    digits = value.strip().lstrip("+-")
    return digits.isascii() and digits.isdigit() and len(digits) > 18 and int(digits) > BIGGEST


def _has_impossible(data: object) -> bool:
    lists = getattr(data, "lists", None)
    if lists is None:
        return False
    return any(_impossible(key) or any(_impossible(value) for value in values) for key, values in lists())


class RefuseImpossibleInputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or _has_impossible(request.GET):
            return HttpResponseBadRequest(REFUSED, content_type="text/plain; charset=utf-8")
        if (
            request.method == "POST"
            and request.content_type
            in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            )
            and _has_impossible(request.POST)
        ):
            return HttpResponseBadRequest(REFUSED, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
