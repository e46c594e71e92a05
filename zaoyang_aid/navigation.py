"""The navbar, by role. Each app registers its entries from ``AppConfig.ready``, so this module
never imports the apps above it; a role sees only the entries it may open."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

from .access import Role, Scope


@lru_cache(maxsize=256)
def _url(url_name: str, script_prefix: str, urlconf: Any) -> str:
    return reverse(url_name, urlconf=urlconf)


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset[Role]
    order: int = 100
    # Within those roles, whom else it asks (county staff designated to read 心理健康档案).
    shown: Callable[[Scope], bool] | None = None
    # A dropdown it is folded into (entries of one group sit together, where the first of them would).
    group: str = ""

    @property
    def url(self) -> str:
        """The entry's URL, reversed once per process (and script prefix): the navbar is on every
        page, and reversing its dozen names each time was a visible part of a short page."""
        return _url(self.url_name, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)


@dataclass(frozen=True)
class NavGroup:
    label: str
    items: tuple[NavItem, ...]

    @property
    def url_names(self) -> tuple[str, ...]:
        return tuple(item.url_name for item in self.items)


# Dropdowns shared by several apps: the officer's review work (档案审核 is casefiles', 记录质量审核
# guidance's, 认定变动 pairing's), one entry in a navbar that no longer fits 1280 px otherwise.
REVIEW_MENU = "审核"

_items: dict[str, NavItem] = {}
# Where each role lands after logging in: the first page of its daily work (set by the apps).
_role_homes: dict[Role, str] = {}


def register(
    label: str,
    url_name: str,
    roles: set[Role] | frozenset[Role],
    order: int = 100,
    shown: Callable[[Scope], bool] | None = None,
    group: str = "",
) -> None:
    _items[url_name] = NavItem(
        label=label, url_name=url_name, roles=frozenset(roles), order=order, shown=shown, group=group
    )


# A list page's "导出Excel" link: list URL name -> (the export's URL name, its report, who may use it).
# Registered by the app that owns the reports (casefiles), so the list's app need not import it.
_export_links: dict[str, tuple[str, str, frozenset[Role]]] = {}


def register_export(list_url_name: str, *, url_name: str, report: str, roles: set[Role] | frozenset[Role]) -> None:
    _export_links[list_url_name] = (url_name, report, frozenset(roles))


def export_link(list_url_name: str, role: Role | None, query: str) -> str | None:
    """The list's export URL with the list's own filter query, or None for a role that may not."""
    entry = _export_links.get(list_url_name)
    if entry is None or role not in entry[2]:
        return None
    url_name, report, _roles = entry
    # The report last: a "report" in the list's query cannot choose another one (QueryDict.get: the last).
    return f"{reverse(url_name)}?" + (f"{query}&" if query else "") + urlencode({"report": report})


# The reports page (registered by casefiles, which owns the reports): a dashboard's figure links to
# the report that lists its rows, with the report's own filter parameters.
_reports_page: dict[str, tuple[str, frozenset[Role]]] = {}


def register_reports_page(url_name: str, *, roles: set[Role] | frozenset[Role]) -> None:
    _reports_page["page"] = (url_name, frozenset(roles))


def report_link(role: Role | None, report: str, params: dict[str, Any]) -> str | None:
    """The reports page with ``report`` chosen and its filter set to ``params`` (None values left
    out), or None for a role that may not export (the figure is then shown without a link)."""
    entry = _reports_page.get("page")
    if entry is None or role not in entry[1]:
        return None
    query = {"report": report} | {key: value for key, value in params.items() if value not in (None, "")}
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    return f"{_url(entry[0], get_script_prefix(), urlconf)}?{urlencode(query)}"  # reversed once per process


def set_role_home(role: Role, url_name: str) -> None:
    _role_homes[role] = url_name


def items_for(role: Role | None, scope: Scope | None = None) -> list[NavItem]:
    if role is None:
        return []
    scope = scope or Scope(role=role, user_id=None)
    shown = (i for i in _items.values() if role in i.roles and (i.shown is None or i.shown(scope)))
    return sorted(shown, key=lambda i: (i.order, i.label))


def role_home(role: Role | None) -> str | None:
    return _role_homes.get(role) if role is not None else None


def menu_for(role: Role | None, scope: Scope | None = None) -> list[NavItem | NavGroup]:
    """The navbar's entries: items_for, with the entries of a group folded into one dropdown (a
    group of one stays a plain link)."""
    items = items_for(role, scope)
    members: dict[str, list[NavItem]] = {}
    for item in items:
        if item.group:
            members.setdefault(item.group, []).append(item)
    menu: list[NavItem | NavGroup] = []
    for item in items:
        if not item.group or len(members[item.group]) == 1:
            menu.append(item)
        elif members[item.group][0] is item:
            menu.append(NavGroup(label=item.group, items=tuple(members[item.group])))
    return menu
