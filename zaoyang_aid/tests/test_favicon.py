"""The site has its own icon, linked from every page (the admin's too) and served from our static
files, so a browser on an offline network shows it and asks nothing of anyone else."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

ICONS = {"favicon.svg": "image/svg+xml", "favicon.ico": "image/", "apple-touch-icon.png": "image/png"}


def icon_links(html: str) -> list[str]:
    return re.findall(r'<link rel="(?:icon|apple-touch-icon)" href="([^"]+)"', html)


@pytest.mark.django_db
def test_every_page_links_the_sites_own_icons_and_they_are_served_to_anyone(world):
    client = Client()
    login_page = client.get(reverse("login")).content.decode()
    client.force_login(world.admin)
    pages = [login_page, client.get(reverse("home"), follow=True).content.decode()]
    pages.append(client.get(reverse("admin:index")).content.decode())

    for html in pages:
        assert [href.rsplit("/", 1)[-1] for href in icon_links(html)] == list(ICONS)
        assert all(href.startswith("/static/") for href in icon_links(html))
    for href in icon_links(login_page):
        response = Client().get(href)  # no login needed: the login page shows the icon too
        assert response.status_code == 200, href
        assert response["Content-Type"].startswith(ICONS[href.rsplit("/", 1)[-1]])
