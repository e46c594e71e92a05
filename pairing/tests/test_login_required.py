"""Every URL needs a login except the short allow-list (login, /healthz, static files)."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

ALLOWED_ANONYMOUS = {"/accounts/login/", "/healthz"}


def concrete_paths(resolver: URLResolver = None, prefix: str = "") -> list[str]:
    """Every route of the project with its converters filled with 1."""
    resolver = resolver or get_resolver()
    paths: list[str] = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route.startswith("admin/"):
                continue  # the admin guards itself (staff only); tested in test_admin.py
            paths += concrete_paths(entry, route)
        elif isinstance(entry, URLPattern):
            for converter in ("<int:pk>", "<int:id>"):
                route = route.replace(converter, "1")
            paths.append("/" + route.lstrip("^").rstrip("$"))
    return paths


def test_anonymous_visitors_are_sent_to_the_login_page_everywhere_but_the_allow_list(client):
    paths = concrete_paths()
    assert len(paths) > 10
    for path in paths:
        response = client.get(path)
        if path in ALLOWED_ANONYMOUS:
            assert response.status_code in (200, 503), path
        else:
            assert response.status_code == 302, path
            assert response.url.startswith("/accounts/login/"), path


def test_login_page_is_in_chinese(client):
    html = client.get("/accounts/login/").content.decode()
    assert "登录" in html and "用户名" in html and "密码" in html
