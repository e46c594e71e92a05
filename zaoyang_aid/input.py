"""Input that no page accepts, refused before any view runs.

- A NUL byte has no place in a name, a search or a date, and PostgreSQL refuses it in a string
  literal, so a search box fed one answered 500.
- A whole number beyond 64 bits is no id, page, year or amount, and SQLite cannot bind it (an
  OverflowError, 500, from any filter that looks a row up by it).

This middleware answers 400 with a Chinese message for any query-string or form value (or key)
like that, whatever the page: list filters, the admin's searches and filters, forms. Uploaded files
are not looked at (their bytes are the photo checks' job). An 18-digit ID number is well inside
64 bits; KeepIdNumbersOutOfUrlsMiddleware (below) takes it out of the address with a message.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect, QueryDict
from django.urls import reverse

from .masking import has_whole_number

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


# --- No ID number in a URL -------------------------------------------------------------------

WHOLE_NUMBER_REFUSED = "为保护学生隐私,请勿输入完整的身份证号或学籍号,输入后4至6位即可。"


def _clean_value(value: str) -> str | None:
    """The value without a whole ID number: None to drop it. A local address (a ?next= back to a
    search) keeps its path and loses only the parameters that carry one."""
    if not has_whole_number(value):
        return value
    path, sep, query = value.partition("?")
    if not sep or not path.startswith("/") or has_whole_number(path):
        return None
    kept = _without_whole_numbers(QueryDict(query))
    return f"{path}?{kept.urlencode()}" if kept else path


def _without_whole_numbers(params: QueryDict) -> QueryDict:
    kept = QueryDict(mutable=True)
    for key, values in params.lists():
        if has_whole_number(key):
            continue
        for value in values:
            clean = _clean_value(value)
            if clean is not None:
                kept.appendlist(key, clean)
    return kept


class KeepIdNumbersOutOfUrlsMiddleware:
    """A whole 身份证号 or 学籍号 typed into any search box (or carried in a ?next=) is dropped
    from the address: the browser is sent to the same page without it, with a message. A search
    travels in the URL, and the URL in the browser's history, the server's logs, the pagination
    links and the login redirect's ?next=; only the last 4 to 6 digits ever need to.

    Placed after the session, auth and messages middleware (the message is stored for the next
    page) and answering before LoginRequiredMiddleware's process_view, so that a login redirect's
    ?next= is already clean.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == reverse("admin:autocomplete"):
            # A JSON answer to a widget, never an address in the browser: the admin's search
            # itself finds nothing for a whole number there (pairing.admin.SearchByNumberTailMixin).
            return self.get_response(request)
        if request.method in ("GET", "HEAD") and has_whole_number(request.META.get("QUERY_STRING", "")):
            kept = _without_whole_numbers(request.GET).urlencode()
            if kept != request.GET.urlencode():  # never a redirect to the same address
                messages.error(request, WHOLE_NUMBER_REFUSED)
                return HttpResponseRedirect(f"{request.path}?{kept}" if kept else request.path)
        return self.get_response(request)
