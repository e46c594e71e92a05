"""The dashboards' figure versions: a token per school and one for the whole county, changed by every
write that changes what the compliance engine says of a school.

guidance.figures caches each school's compliance figures under its school's token and the county's;
a new token makes the next read recount that school (and only it) from the engine. The writes call
``touch_*`` in their own transaction, in one place per kind:

- talks, home visits and excused weeks (guidance.services); pairings started, ended and reassigned,
  enrollment changes and transfers (pairing.services): ``touch_pairings``, ``touch_students`` or
  ``touch_schools`` with what they wrote. (A member of staff changes school only with no active
  pairing, and the dashboards count active pairings.) Tally repairs touch the pairings repaired;
- what every school's figures read: term dates and closures (the admin, term_dates_change, and the
  calendar rows' own save and delete: pairing.calendars keeps the calendar under this token too), a
  school's town, bulk loads (the demo, tally_rebuild): ``touch_county``;
- reminders raised, acknowledged or answered (guidance.reminders): ``touch_reminders``, for the
  county page's escalated counts.

Every touch also changes the any-write token, under which the county dashboard is kept as drawn.

A school's figures group its pairings two ways (the officer sees pairings by the student's school, the
county groups them by the teacher's school), so touching a pairing touches both schools.

Why tokens, not deletes: a reader that fetched the old token and computed from the old rows stores
under the old token, which nobody reads any more; it cannot leave stale figures under the newest
one, because the token changes again once the write has committed. A token that is missing (a flushed or
evicted cache) is created on read, which only means a recount.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction

from .models import Pairing, Student

logger = logging.getLogger(__name__)

COUNTY_KEY = "figures:v:county"
# Changed with every token: the county's page as drawn is kept under it (guidance.figures.county_page_key).
ANY_KEY = "figures:v:any"
# Changed when reminders are raised, acknowledged or answered: the county page's escalated counts.
REMINDERS_KEY = "figures:v:reminders"


def school_key(school_id: int) -> str:
    return f"figures:v:school:{school_id}"


def _token() -> str:
    return secrets.token_hex(6)


def touch_schools(school_ids: Iterable[int | None]) -> None:
    """New tokens for these schools."""
    _touch(sorted({school_key(pk) for pk in school_ids if pk is not None}))


def touch_county() -> None:
    """A new county token: every school's figures recount."""
    _touch([COUNTY_KEY])


def touch_reminders() -> None:
    """New reminders and any-write tokens: reminders were raised, acknowledged or answered. No
    school's figures change, but the county page's escalated counts do (guidance.figures)."""
    _touch_now_and_on_commit([REMINDERS_KEY, ANY_KEY])


def _touch(keys: list[str]) -> None:
    """New tokens at once, and again once the current transaction commits (at once outside one): the
    second makes a reader that came between the two recount from the committed rows; the first serves
    what runs inside the writer's own transaction (a page after a service in one request, the tests)."""
    if keys:
        _touch_now_and_on_commit([*keys, ANY_KEY])


def _touch_now_and_on_commit(keys: list[str]) -> None:
    _set({key: _token() for key in keys})
    transaction.on_commit(lambda: _set({key: _token() for key in keys}))


def _set(tokens: dict[str, str]) -> None:
    if COUNTY_KEY in tokens:
        _request.county = None  # this request's next read sees its own write
    try:
        cache.set_many(tokens, timeout=None)
    except Exception:  # the cache is down: the figures' own expiry (guidance.figures) bounds the staleness
        logger.exception("could not change the figure versions %s", sorted(tokens))


def touch_pairing(pairing: Pairing) -> None:
    """The schools of a pairing read with its teacher and student (a service's locked row): its
    teacher's and its student's, as touch_pairings finds them, without a query."""
    touch_schools([pairing.teacher.school_id, pairing.student.school_id])


def touch_pairings(pairing_ids: Iterable[int]) -> None:
    """The schools of these pairings' teachers and students (one query)."""
    ids = list(pairing_ids)
    if not ids:
        return
    rows = Pairing.objects.filter(pk__in=ids).values_list("teacher__school_id", "student__school_id")
    touch_schools(school for row in rows for school in row)


def touch_students(student_ids: Iterable[int]) -> None:
    """The schools of every pairing of these students, and their own schools: a home visit counts for
    the student under any of her pairings this term, an enrollment change for all of them (two queries)."""
    ids = list(student_ids)
    if not ids:
        return
    rows = Pairing.objects.filter(student_id__in=ids).values_list("teacher__school_id", "student__school_id")
    own = Student.objects.filter(pk__in=ids).values_list("school_id", flat=True)
    touch_schools([*(school for row in rows for school in row), *own])


def _tokens(keys: list[str]) -> dict[str, str]:
    """These tokens (one round trip to the cache, two more when some are missing: those are created
    with ``add``, so a writer's new token is never overwritten)."""
    found = cache.get_many(keys)
    if len(found) < len(keys):
        for key in keys:
            if key not in found:
                cache.add(key, _token(), timeout=None)
        found = cache.get_many(keys)
    return {key: str(found.get(key, "")) for key in keys}


def _with_county(keys: list[str]) -> dict[str, str]:
    """These tokens, the county's as this request first read it (see county_token)."""
    held: str | None = getattr(_request, "county", None)
    found = _tokens(keys)
    if held is not None:
        found[COUNTY_KEY] = held
    elif found[COUNTY_KEY] and getattr(_request, "open", False):
        _request.county = found[COUNTY_KEY]
    return found


def versions(school_ids: Iterable[int]) -> tuple[str, dict[int, str]]:
    """The county's token and each school's."""
    ids = list(school_ids)
    found = _with_county([COUNTY_KEY, *(school_key(pk) for pk in ids)])
    return found[COUNTY_KEY], {pk: found[school_key(pk)] for pk in ids}


def county_token() -> str:
    """The county's token alone: the cached calendar's key (pairing.calendars).

    Read once per request (a teacher's talk POST asked four times, a round trip each), and the same
    answer for every reader in it (versions, generation, reminders_generation): a request draws its
    figures from the calendar of the token it keeps them under, even when an admin saves a term or a
    closure in another process meanwhile (the next request sees it). The request's own write of the
    token (touch_county) drops what it held."""
    held: str | None = getattr(_request, "county", None)
    if held is not None:
        return held
    return _with_county([COUNTY_KEY])[COUNTY_KEY]


# The request this thread serves (Django's request_started and request_finished, connected in
# PairingConfig.ready): outside one (a job, the shell, a test calling a view directly), nothing is held.
_request = threading.local()


def request_started(**kwargs: object) -> None:
    _request.open, _request.county = True, None


def request_finished(**kwargs: object) -> None:
    _request.open, _request.county = False, None


def reminders_generation() -> tuple[str, str]:
    """The county's token and the reminders' (the county page's escalated counts)."""
    found = _with_county([COUNTY_KEY, REMINDERS_KEY])
    return found[COUNTY_KEY], found[REMINDERS_KEY]


def generation() -> tuple[str, str]:
    """The county's token and the one every write changes."""
    found = _with_county([COUNTY_KEY, ANY_KEY])
    return found[COUNTY_KEY], found[ANY_KEY]
