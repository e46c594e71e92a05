"""The navbar, by role. Each app registers its entries from ``AppConfig.ready``, so this module
never imports the apps above it; a role sees only the entries it may open."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .access import Role, Scope


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset[Role]
    order: int = 100
    # Within those roles, whom else it asks (county staff designated to read 心理健康档案).
    shown: Callable[[Scope], bool] | None = None


_items: dict[str, NavItem] = {}
# Where each role lands after logging in: the first page of its daily work (set by the apps).
_role_homes: dict[Role, str] = {}


def register(
    label: str,
    url_name: str,
    roles: set[Role] | frozenset[Role],
    order: int = 100,
    shown: Callable[[Scope], bool] | None = None,
) -> None:
    _items[url_name] = NavItem(label=label, url_name=url_name, roles=frozenset(roles), order=order, shown=shown)


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
