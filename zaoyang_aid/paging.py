"""Pagination shared by every list page: the page of rows and the filters to keep in its links."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, reduce
from operator import or_
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

PAGE_SIZE = 50

_PK_KEYS = {"pk", "-pk", "id", "-id"}


class DeferredJoinPaginator(Paginator):
    """Numbered pages of a long list, read in two steps: OFFSET over the ordered primary keys only
    (the joins the sort needs and nothing else), then the page's rows with all their joins and
    prefetches, by primary key. A page past the middle is read from the far end in reverse order,
    so the last page costs what the first does.

    Why this and not keyset (?after=): measured at county scale on PostgreSQL 15 (12,661 students,
    12,580 pairings, 10,500 staff; EXPLAIN ANALYZE and bench/lists.py), the student list's page
    query took 4.6 ms at page 1 and 43 ms at page 150 with a plain OFFSET (every joined row, all
    columns, sorted on disk), the pairing list's 37 and 119 ms. The primary keys alone sort in
    memory: 18 ms at page 150 for students, 24 ms for pairings, plus 0.5-1.4 ms for the page's rows
    by key; read from the end, the last page costs what the first does. A keyset cursor took 2-4 ms
    at any depth, but it loses the page numbers that officers and county staff quote ("第150页")
    and the 末页 link, for a few ms on lists of this size. The sort keys span three tables (town,
    school, student): no index serves them (a covering index on each list's keys, tried, changed
    nothing measurable), so the sort stays, over narrow rows.

    The queryset's ordering must end in the primary key: a total order is what makes reading
    from either end give the same rows, and ties on the other keys fall the same way every time.
    """

    object_list: QuerySet[Any]

    def __init__(self, object_list: QuerySet[Any], per_page: int, **kwargs: Any) -> None:
        ordering = [str(key) for key in object_list.query.order_by]
        if not ordering or ordering[-1] not in _PK_KEYS:
            raise ImproperlyConfigured("DeferredJoinPaginator needs a queryset ordered with the pk last.")
        super().__init__(object_list, per_page, **kwargs)

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        if top + self.orphans >= self.count:
            top = self.count
        pks = self._pks(bottom, top)
        if not pks:
            return Page([], number, self)
        by_pk = {row.pk: row for row in self.object_list.filter(pk__in=pks)}
        # Ordered as the key query said; a row deleted in between is simply not on the page.
        return Page([by_pk[pk] for pk in pks if pk in by_pk], number, self)

    def _pks(self, bottom: int, top: int) -> list[Any]:
        if bottom >= top:
            return []
        keys = self.object_list.prefetch_related(None).values_list("pk", flat=True)
        if bottom <= self.count - top:
            return list(keys[bottom:top])
        # Nearer the end: the same window, counted from the end in the reverse order.
        backwards = list(keys.reverse()[self.count - top : self.count - bottom])
        backwards.reverse()
        return backwards


GroupRow = dict[str, Any]


@dataclass(frozen=True)
class ListGroups:
    """The leading sort keys of a long list, as groups of rows whose order is known without sorting
    the rows: the county's lists are sorted by town and school first, and a school holds a few
    hundred rows at most. ``fields`` are what a group is (plain columns, cheap to hash: a school's
    id, an end date); ``order()`` gives the sort key of a group's values, in the list's order (it may
    read, once a page: the schools' order by town code and name, as the database collates them)."""

    fields: tuple[str, ...]
    order: Callable[[], Callable[[GroupRow], Any]]


class GroupedPaginator(DeferredJoinPaginator):
    """Numbered pages of a long list whose sort begins with its groups (ListGroups): the list's
    size per group in one aggregate (a hash over the rows, no sort; it is also the count), then the
    page's keys sorted among the few groups the page spans only, then its rows by key. Every page,
    first, 150th or last, sorts a school or two instead of the county (issue 12, point 5).

    The groups must be a prefix of the queryset's ordering (rows of a group contiguous in the list),
    and ``order()`` must sort them as the database sorts those keys: a test compares every page with
    the OFFSET page."""

    def __init__(self, object_list: QuerySet[Any], per_page: int, *, groups: ListGroups, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.groups = groups

    @cached_property
    def group_sizes(self) -> list[tuple[GroupRow, int]]:
        """(a group's values, its rows), in the list's order."""
        sized = self.object_list.order_by().values(*self.groups.fields).annotate(_rows=Count("pk"))
        rows = [(row, row.pop("_rows")) for row in sized]
        key = self.groups.order()
        return sorted(rows, key=lambda pair: key(pair[0]))

    @cached_property
    def count(self) -> int:
        return sum(size for _group, size in self.group_sizes)

    def _pks(self, bottom: int, top: int) -> list[Any]:
        if bottom >= top:
            return []
        spanned, before, start = [], None, 0
        for group, size in self.group_sizes:
            if start < top and start + size > bottom:
                before = start if before is None else before
                spanned.append(_matching(group))
            start += size
            if start >= top:
                break
        if before is None:
            return []
        keys = self.object_list.prefetch_related(None).filter(reduce(or_, spanned)).values_list("pk", flat=True)
        return list(keys[bottom - before : top - before])


def _matching(group: GroupRow) -> Q:
    return Q(*(Q(**{f"{k}__isnull": True}) if v is None else Q(**{k: v}) for k, v in group.items()))


def page_of(
    request: HttpRequest,
    items: Any,
    size: int = PAGE_SIZE,
    *,
    deferred_join: bool = False,
    groups: ListGroups | None = None,
) -> Page:
    """The requested page (?page=N); out-of-range or garbage numbers give the nearest valid page.

    ``deferred_join`` is for long lists (a QuerySet ordered with the pk last): see
    DeferredJoinPaginator; ``groups`` for the county's lists sorted by school first: GroupedPaginator."""
    paginator: Paginator
    if groups is not None:
        paginator = GroupedPaginator(items, size, groups=groups)
    elif deferred_join:
        paginator = DeferredJoinPaginator(items, size)
    else:
        paginator = Paginator(items, size)
    return paginator.get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    """The current filters as a query string, for the pagination links (includes/pagination.html)."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
