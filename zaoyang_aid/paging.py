"""Pagination shared by every list page: the page of rows and the filters to keep in its links."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

PAGE_SIZE = 50


def page_of(request: HttpRequest, items: Any, size: int = PAGE_SIZE) -> Page:
    """The requested page (?page=N); out-of-range or garbage numbers give the nearest valid page."""
    return Paginator(items, size).get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    """The current filters as a query string, for the pagination links (includes/pagination.html)."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
