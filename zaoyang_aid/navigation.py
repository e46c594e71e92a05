"""The navbar, by role. Each app registers its entries from ``AppConfig.ready``, so this module
never imports the apps above it; a role sees only the entries it may open."""

from __future__ import annotations

from dataclasses import dataclass

from .access import Role


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset[Role]
    order: int = 100


_items: dict[str, NavItem] = {}
# Where each role lands after logging in: the first page of its daily work (set by the apps).
_role_homes: dict[Role, str] = {}


def register(label: str, url_name: str, roles: set[Role] | frozenset[Role], order: int = 100) -> None:
    _items[url_name] = NavItem(label=label, url_name=url_name, roles=frozenset(roles), order=order)


def set_role_home(role: Role, url_name: str) -> None:
    _role_homes[role] = url_name


def items_for(role: Role | None) -> list[NavItem]:
    if role is None:
        return []
    return sorted((i for i in _items.values() if role in i.roles), key=lambda i: (i.order, i.label))


def role_home(role: Role | None) -> str | None:
    return _role_homes.get(role) if role is not None else None
