"""ID numbers are masked (420683********1234) for every role that does not need them, and never
appear in a URL."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from zaoyang_aid.masking import mask_id_number

pytestmark = pytest.mark.django_db


def html_of(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("who", ["teacher_a1", "counsellor_a"])
def test_roles_without_need_see_the_id_number_masked(client, world, who):
    html = html_of(client, getattr(world, who), reverse("pairing:student_detail", args=[world.student_a1.pk]))
    assert world.student_a1.id_number not in html
    assert mask_id_number(world.student_a1.id_number) in html


@pytest.mark.parametrize("who", ["officer_a", "county"])
def test_officer_and_county_see_the_full_id_number_on_the_record(client, world, who):
    html = html_of(client, getattr(world, who), reverse("pairing:student_detail", args=[world.student_a1.pk]))
    assert world.student_a1.id_number in html


@pytest.mark.parametrize("who", ["officer_a", "counsellor_a", "county", "admin"])
def test_student_list_never_shows_a_full_id_number(client, world, who):
    html = html_of(client, getattr(world, who), reverse("pairing:student_list"))
    for student in (world.student_a1, world.student_a2, world.student_b1):
        assert student.id_number not in html


def test_no_url_carries_an_id_number(client, world):
    client.force_login(world.county)
    html = client.get(reverse("pairing:student_list")).content.decode()
    assert f"/students/{world.student_a1.pk}/" in html
    assert world.student_a1.id_number not in reverse("pairing:student_detail", args=[world.student_a1.pk])


def test_search_finds_a_student_by_the_last_digits_of_the_student_number(client, world):
    client.force_login(world.officer_a)
    response = client.get(reverse("pairing:student_list"), {"q": world.student_a1.student_number[-6:]})
    assert [s.name for s in response.context["page"]] == ["张小明"]


def test_search_refuses_a_whole_id_number_because_a_search_travels_in_the_url(client, world):
    client.force_login(world.officer_a)
    response = client.get(reverse("pairing:student_list"), {"q": world.student_a1.student_number}, follow=True)
    html = response.content.decode()
    assert "请勿输入完整的身份证号或学籍号" in html
    assert world.student_a1.id_number not in html


# --- A whole number typed into a search leaves the address ------------------------------------

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


@pytest.mark.parametrize(
    "typed",
    [
        "{id}",
        "G{id}",
        " {id} ",
        "\n{id}",
        "={id}",
        "\u3000{id}\u3000",
        "FULL",
        "{spaced}",
    ],
    ids=["plain", "student-number", "spaces", "newline", "equals", "ideographic-space", "full-width", "spaced"],
)
def test_a_whole_id_number_in_the_search_box_redirects_to_the_page_without_it(client, world, typed):
    id_number = world.student_a1.id_number
    spaced = " ".join(id_number[i : i + 4] for i in range(0, 18, 4))
    value = id_number.translate(FULL_WIDTH) if typed == "FULL" else typed.format(id=id_number, spaced=spaced)
    client.force_login(world.officer_a)
    url = reverse("pairing:student_list")

    response = client.get(url, {"q": value, "stage": "primary"})

    assert response.status_code == 302
    assert response["Location"] == f"{url}?stage=primary"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "为保护学生隐私,请勿输入完整的身份证号或学籍号,输入后4至6位即可。"
    ]


def test_the_clean_page_links_its_pages_without_the_id_number(client, world):
    client.force_login(world.officer_a)
    id_number = world.student_a1.id_number

    response = client.get(reverse("pairing:student_list"), {"q": id_number, "page": "1"}, follow=True)

    assert response.redirect_chain == [(reverse("pairing:student_list") + "?page=1", 302)]
    assert response.context["query"] == ""
    assert id_number not in response.content.decode()
    assert id_number[-4:] + "&" not in response.content.decode()


def test_an_expired_session_on_a_search_url_sends_to_the_login_without_the_id_number(client, world):
    id_number = world.student_a1.id_number
    url = reverse("pairing:student_list")

    response = client.get(url, {"q": id_number, "stage": "primary"}, follow=True)

    locations = [location for location, _status in response.redirect_chain]
    assert locations[0] == f"{url}?stage=primary"
    assert locations[-1].startswith(reverse("login") + "?next=")
    assert all(id_number not in location and quote(id_number) not in location for location in locations)
    assert response.context["next"] == f"{url}?stage=primary"


def test_a_next_that_carries_an_id_number_keeps_its_page_and_loses_the_number(client, world):
    id_number = world.student_a1.id_number
    next_url = f"{reverse('pairing:student_list')}?q={id_number}&stage=primary"

    response = client.get(reverse("login"), {"next": next_url})

    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=" + quote(
        f"{reverse('pairing:student_list')}?stage=primary", safe=""
    )


def test_a_search_by_the_last_digits_is_not_redirected(client, world):
    client.force_login(world.officer_a)

    response = client.get(reverse("pairing:student_list"), {"q": world.student_a1.student_number[-6:]})

    assert response.status_code == 200
