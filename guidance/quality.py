"""Record quality: the nightly check that flags suspect talk records, and the officer's review.

Four kinds of doubt (FlagKind), each computed for the whole county in one streaming pass over the
talk records (one query, read in chunks, ordered by writer and entry time; no per-record query):

- 内容雷同: the text is nearly the same as an earlier record of the same teacher (any student).
  Measure: Jaccard similarity of the sets of character bigrams of the record's text fields (bigrams
  suit Chinese, where a two-character word is the unit). Flagged at SIMILAR_AT (0.8) or more: a copy
  with a few words changed stays around 0.85-0.95, while two honest records of one teacher about the
  same child share well under half their bigrams. Candidates are found with MinHash LSH (one
  permutation hashing into SKETCH_BUCKETS buckets, banded by BAND_ROWS), so a record is compared
  exactly only with the few earlier records that share a band, never with all of them.
- 集中补录: one person entered records of BATCH_WEEKS or more different school weeks in one sitting
  (entries no more than SITTING_GAP apart).
- 逾期补录: the record was entered after its week under an officer's 补录 permission
  (TalkRecord.entered_late); the flag says how many days late.
- 篇幅过短: the text is under SHORT_SHARE of the school's median length (schools with at least
  SHORT_MIN_RECORDS records).

Re-running is idempotent (unique (talk, kind); see ``_sync``): a new doubt makes a flag; a flag not
handled yet follows its cause (updated, or deleted when the cause is gone, e.g. the text was
lengthened); a returned or revised flag stays for the officer; a passed flag stays passed unless the
record's text has changed since it was passed, when it is reopened.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
import zlib
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import groupby, repeat
from operator import add, lt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, QuerySet
from django.urls import reverse
from django.utils import timezone

from zaoyang_aid import audit
from zaoyang_aid.access import scope_of
from zaoyang_aid.locks import ensure_term_open
from zaoyang_aid.models import AuditAction

from .models import (
    FlagKind,
    FlagStatus,
    Notification,
    ReminderLevel,
    TalkRecord,
    TalkRecordFlag,
    TalkRecordRevision,
)

TEXT_FIELDS = ("content", "student_state", "problems", "measures", "next_steps")

SIMILAR_AT = 0.8
SIMILAR_MIN_CHARS = 30  # shorter texts are 篇幅过短's business; their bigram sets are too small to compare
SKETCH_BUCKETS = 32
BAND_ROWS = 4  # 8 bands of 4: a pair at 0.8 becomes a candidate with p > 0.98, at 0.3 with p < 0.07
SITTING_GAP = dt.timedelta(minutes=30)
BATCH_WEEKS = 3
SHORT_SHARE = 0.35
SHORT_MIN_RECORDS = 20
CHUNK = 5000

# Bucket boundaries over the range of hash(str) (signed 64-bit): the sketch is the least hash in each.
_SPAN = 1 << 64
_LOWS = [-(1 << 63) + (_SPAN * b) // SKETCH_BUCKETS for b in range(SKETCH_BUCKETS)]
_HIGHS = [*_LOWS[1:], 1 << 63]
_TOP = 1 << 63


def talk_text(values: Iterable[str]) -> str:
    return "\n".join(v for v in values if v)


def text_hash(text: str) -> int:
    """The fingerprint of a record's text, kept on its flags: has it changed since?"""
    return zlib.crc32(text.encode())


def bigrams(text: str) -> set[str]:
    """The record's character bigrams (built in C: 600,000 records a night)."""
    return set(map(add, text, text[1:]))


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def band_keys(shingles: set[str]) -> list[tuple[int, ...]]:
    """MinHash by one permutation: the least hash in each of SKETCH_BUCKETS ranges of the hash space,
    cut into bands of BAND_ROWS; records sharing a band key are compared exactly. Each bucket's least
    hash lies in that bucket's own range, so keys of different bands never collide. Bands with an
    empty bucket are skipped (short texts leave some empty). Every step runs in C (sorted, map,
    bisect, zip): this is the inner loop of 600,000 records a night.

    The hashes are Python's (salted per process): a pair near the threshold missed by chance one
    night is found another, and a flag already made is checked against its own earlier record
    directly (``_Scan._similar``), so it does not flicker."""
    ordered = sorted(map(hash, shingles))
    ordered.append(_TOP)  # what an empty last bucket points at
    picks = list(map(ordered.__getitem__, map(bisect_left, repeat(ordered), _LOWS)))
    filled = iter(list(map(lt, picks, _HIGHS)))
    values = iter(picks)
    rows = [values] * BAND_ROWS
    flags = [filled] * BAND_ROWS
    return [band for band, ok in zip(zip(*rows, strict=True), zip(*flags, strict=True), strict=True) if all(ok)]


# --- Detection -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    reason: str
    related_talk_id: int | None = None
    score: int | None = None


@dataclass
class DetectResult:
    records: int = 0
    found: dict[str, int] = field(default_factory=dict)
    created: int = 0
    updated: int = 0
    reopened: int = 0
    removed: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        kinds = "、".join(f"{FlagKind(k).label}{n}" for k, n in sorted(self.found.items())) or "无"
        return (
            f"检查{self.records}条记录,发现疑点:{kinds};新增{self.created},更新{self.updated},"
            f"重新打开{self.reopened},撤销{self.removed};用时{self.seconds:.1f}秒"
        )


_Row = tuple[Any, ...]
_COLUMNS = (
    "pk",
    "recorded_by_id",
    "pairing__student__school_id",
    "date",
    "week_monday",
    "created_at",
    "late_permission_id",
    *TEXT_FIELDS,
)


def _rows(talks: QuerySet[TalkRecord]) -> Iterator[_Row]:
    """The one query: every record's writer, school, dates and text, by writer and entry time, read
    in chunks (a server-side cursor on PostgreSQL), so memory holds one writer's records at a time."""
    return talks.order_by("recorded_by_id", "created_at", "pk").values_list(*_COLUMNS).iterator(chunk_size=CHUNK)


class _Scan:
    """What one pass over the records finds, writer by writer."""

    def __init__(self, wanted_hashes: set[int], known_related: dict[int, int]) -> None:
        self.found: dict[tuple[int, str], Found] = {}
        # talk -> the earlier record its 内容雷同 flag names: compared again directly, whatever the bands.
        self.known_related = known_related
        self.flagged: set[int] = set()  # records flagged so far, whose fingerprint is wanted
        self.hashes: dict[int, int] = {}
        self.wanted_hashes = wanted_hashes  # records with a flag already: their text's fingerprint
        self.lengths: dict[int, tuple[array[int], array[int]]] = defaultdict(lambda: (array("q"), array("l")))
        self.records = 0

    def writer(self, rows: list[_Row]) -> None:
        earlier: list[tuple[int, dt.date, set[str]]] = []
        bands: dict[tuple[Any, ...], list[int]] = {}
        for row in rows:
            self.records += 1
            pk, school_id, day, text = row[0], row[2], row[3], talk_text(row[7:])
            ids, sizes = self.lengths[school_id]
            ids.append(pk)
            sizes.append(len(text))
            if row[6] is not None:
                self._late(pk, day, row[5])
            if len(text) >= SIMILAR_MIN_CHARS:
                self._similar(pk, text, earlier, bands, day)
            if pk in self.wanted_hashes or pk in self.flagged:
                self.hashes[pk] = text_hash(text)
        self._batches(rows)

    def _similar(
        self,
        pk: int,
        text: str,
        earlier: list[tuple[int, dt.date, set[str]]],
        bands: dict[tuple[Any, ...], list[int]],
        day: dt.date,
    ) -> None:
        shingles = bigrams(text)
        keys = band_keys(shingles)
        candidates = {i for key in keys for i in bands.get(key, ())}
        known = self.known_related.get(pk)
        if known is not None:
            candidates.update(i for i, row in enumerate(earlier) if row[0] == known)
        best, best_at = 0.0, -1
        for i in candidates:
            score = jaccard(shingles, earlier[i][2])
            if score > best:
                best, best_at = score, i
        if best >= SIMILAR_AT:
            other_pk, other_day, _ = earlier[best_at]
            percent = int(best * 100)
            reason = f"与 {other_day:%Y-%m-%d} 的记录相似度 {percent}%"
            self.found[(pk, FlagKind.SIMILAR)] = Found(reason, related_talk_id=other_pk, score=percent)
            self.flagged.add(pk)
        for key in keys:
            bands.setdefault(key, []).append(len(earlier))
        earlier.append((pk, day, shingles))

    def _late(self, pk: int, day: dt.date, created_at: dt.datetime) -> None:
        entered = timezone.localtime(created_at).date()
        days = (entered - day).days
        self.found[(pk, FlagKind.LATE)] = Found(f"{day:%Y-%m-%d} 的谈话于 {entered:%Y-%m-%d} 补录,迟 {days} 天")
        self.flagged.add(pk)

    def _batches(self, rows: list[_Row]) -> None:
        """Sittings: runs of entries no more than SITTING_GAP apart; one spanning many weeks is flagged."""
        sitting: list[_Row] = []
        for row in [*rows, None]:
            if row is not None and (not sitting or row[5] - sitting[-1][5] <= SITTING_GAP):
                sitting.append(row)
                continue
            weeks = {r[4] for r in sitting}
            if len(weeks) >= BATCH_WEEKS:
                start = timezone.localtime(sitting[0][5])
                minutes = max(1, round((sitting[-1][5] - sitting[0][5]).total_seconds() / 60))
                reason = (
                    f"{start:%Y-%m-%d %H:%M} 起 {minutes} 分钟内集中录入 {len(weeks)} 个教学周的 {len(sitting)} 条记录"
                )
                for r in sitting:
                    self.found[(r[0], FlagKind.BATCH)] = Found(reason)
                    self.hashes[r[0]] = text_hash(talk_text(r[7:]))
            sitting = [row] if row is not None else []

    def short(self) -> None:
        for ids, sizes in self.lengths.values():
            if len(sizes) < SHORT_MIN_RECORDS:
                continue
            median = statistics.median(sizes)
            limit = median * SHORT_SHARE
            for pk, size in zip(ids, sizes, strict=True):
                if size < limit:
                    reason = f"全文 {size} 字,本校记录的中位数为 {int(median)} 字"
                    self.found[(pk, FlagKind.SHORT)] = Found(reason)


def flags_detect(*, talks: QuerySet[TalkRecord] | None = None) -> DetectResult:
    """Find the doubts about every talk record (or those of ``talks``) and bring the flags in line
    with them. Queries: the existing flags (1), the records (1, streamed), then the writes in bulk.
    Called nightly by the task ``guidance.detect_flags`` and by ``manage.py quality_detect``."""
    started = time.monotonic()
    talks = TalkRecord.objects.all() if talks is None else talks
    existing = {
        (talk_id, kind): (pk, status, hashed, reason, related, score)
        for pk, talk_id, kind, status, hashed, reason, related, score in TalkRecordFlag.objects.filter(
            talk__in=talks.values("pk")
        ).values_list("pk", "talk_id", "kind", "status", "text_hash", "reason", "related_talk_id", "score")
    }
    known = {talk_id: v[4] for (talk_id, kind), v in existing.items() if kind == FlagKind.SIMILAR and v[4]}
    scan = _Scan({talk_id for talk_id, _ in existing}, known)
    for _, rows in groupby(_rows(talks), key=lambda r: r[1]):
        scan.writer(list(rows))
    scan.short()
    for pk in {pk for pk, _ in scan.found} - scan.hashes.keys():  # flagged later by the school's median
        scan.hashes[pk] = -1
    result = DetectResult(records=scan.records)
    for _, kind in scan.found:
        result.found[kind] = result.found.get(kind, 0) + 1
    _sync(scan, existing, result, talks)
    result.seconds = time.monotonic() - started
    return result


@transaction.atomic
def _sync(scan: _Scan, existing: dict[tuple[int, str], tuple[Any, ...]], result: DetectResult, talks: Any) -> None:
    now = timezone.now()
    if any(h == -1 for h in scan.hashes.values()):
        _fill_hashes(scan, talks)
    new, updates, reopens = [], [], []
    for (talk_id, kind), found in scan.found.items():
        hashed = scan.hashes[talk_id]
        if (talk_id, kind) not in existing:
            new.append(_flag(talk_id, kind, found, hashed, now))
            continue
        pk, status, old_hash, *shown = existing[(talk_id, kind)]
        if status == FlagStatus.CLEARED and old_hash != hashed:
            reopens.append(_flag(talk_id, kind, found, hashed, now, pk=pk))
        elif status == FlagStatus.OPEN and (*shown, old_hash) != (
            found.reason,
            found.related_talk_id,
            found.score,
            hashed,
        ):
            updates.append(_flag(talk_id, kind, found, hashed, now, pk=pk))
    gone = [v[0] for k, v in existing.items() if k not in scan.found and v[1] == FlagStatus.OPEN]
    TalkRecordFlag.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    TalkRecordFlag.objects.bulk_update(updates, ["reason", "related_talk_id", "score", "text_hash"], batch_size=1000)
    for flag in reopens:  # rare (a passed record's text changed): the version moves on, forms read earlier fail
        TalkRecordFlag.objects.filter(pk=flag.pk, status=FlagStatus.CLEARED).update(
            status=FlagStatus.OPEN,
            reason=flag.reason,
            related_talk_id=flag.related_talk_id,
            score=flag.score,
            text_hash=flag.text_hash,
            detected_at=now,
            version=F("version") + 1,
        )
    for start in range(0, len(gone), 1000):
        TalkRecordFlag.objects.filter(pk__in=gone[start : start + 1000], status=FlagStatus.OPEN).delete()
    result.created, result.updated, result.reopened, result.removed = len(new), len(updates), len(reopens), len(gone)


def _fill_hashes(scan: _Scan, talks: Any) -> None:
    """Fingerprints of records flagged only by the school's median, known after the pass: one more
    query, for those records alone (a few per cent of them)."""
    missing = [pk for pk, h in scan.hashes.items() if h == -1]
    for start in range(0, len(missing), 1000):
        for pk, *texts in TalkRecord.objects.filter(pk__in=missing[start : start + 1000]).values_list(
            "pk", *TEXT_FIELDS
        ):
            scan.hashes[pk] = text_hash(talk_text(texts))


def _flag(talk_id: int, kind: str, found: Found, hashed: int, now: dt.datetime, pk: int | None = None) -> Any:
    return TalkRecordFlag(
        pk=pk,
        talk_id=talk_id,
        kind=kind,
        reason=found.reason[:200],
        related_talk_id=found.related_talk_id,
        score=found.score,
        text_hash=hashed,
        detected_at=now,
        status=FlagStatus.OPEN,
    )


# --- The officer's review and the teacher's revision -----------------------------------------------

STALE = "这条疑点已被他人处理,请刷新后再操作。"
COMMENT_REQUIRED = "请填写退回意见,教师会看到。"
NOT_RETURNABLE = "只有待处理或已修改的疑点可以退回。"
ALREADY_CLEARED = "这条疑点已经通过了。"
REVISION_UNCHANGED = "这条记录被退回修改,请按退回意见修改内容后再保存。"


def _locked_flag(flag: TalkRecordFlag | int, version: int) -> TalkRecordFlag:
    pk = flag if isinstance(flag, int) else flag.pk
    locked = (
        TalkRecordFlag.objects.select_for_update(of=("self",))
        .select_related("talk__pairing__student", "talk__pairing__teacher__user")
        .filter(pk=pk)
        .first()
    )
    if locked is None or locked.version != version:  # withdrawn by the nightly check meanwhile, or handled
        raise ValidationError(STALE, code="stale")
    ensure_term_open(student_id=locked.talk.pairing.student_id, term_id=locked.talk.term_id)
    return locked


@transaction.atomic
def flag_return(*, flag: TalkRecordFlag | int, by: Any, comment: str, version: int) -> TalkRecordFlag:
    """The officer returns a flagged record to its teacher for revision, saying what to change. The
    teacher gets one notice per flag (a second return after an unsatisfying revision renews it).
    ``version`` is the flag's version as read: a second officer's return or pass meanwhile wins."""
    comment = comment.strip()
    if not comment:
        raise ValidationError({"comment": COMMENT_REQUIRED})
    if len(comment) > 500:
        raise ValidationError({"comment": "退回意见最多500字。"})
    locked = _locked_flag(flag, version)
    if locked.status not in (FlagStatus.OPEN, FlagStatus.REVISED):
        raise ValidationError(NOT_RETURNABLE)
    locked.status, locked.returned_by, locked.returned_at = FlagStatus.RETURNED, by, timezone.now()
    locked.return_comment = comment
    locked.version += 1
    locked.save(update_fields=["status", "returned_by", "returned_at", "return_comment", "version"])
    _notify_returned(locked)
    audit.record(
        AuditAction.UPDATE,
        obj=locked,
        student_id=locked.talk.pairing.student_id,
        changes={"退回修改": [None, f"{locked.get_kind_display()}:{comment}"]},
    )
    return locked


def _notify_returned(flag: TalkRecordFlag) -> None:
    talk = flag.talk
    values = {
        "level": ReminderLevel.TEACHER,
        "title": f"{talk.pairing.student.name}:您{talk.date:%m月%d日}的谈心谈话记录被退回修改"[:100],
        "body": f"学校资助专干退回了这条记录({flag.get_kind_display()}),意见:{flag.return_comment}"[:500],
        "link": reverse("guidance:talk_edit", args=[talk.pk]),
        "read_at": None,
        "created_at": timezone.now(),  # a renewed notice is today's, for the daily digest too
    }
    Notification.objects.update_or_create(recipient_id=talk.pairing.teacher.user_id, flag=flag, defaults=values)


@transaction.atomic
def flag_clear(*, flag: TalkRecordFlag | int, by: Any, version: int) -> TalkRecordFlag:
    """The officer passes a flagged record (通过): as it stands, or after its teacher's revision. The
    text's fingerprint is kept, so the nightly check reopens the flag only if the text changes."""
    locked = _locked_flag(flag, version)
    if locked.status == FlagStatus.CLEARED:
        raise ValidationError(ALREADY_CLEARED)
    before = locked.get_status_display()
    talk = locked.talk
    locked.status, locked.cleared_by, locked.cleared_at = FlagStatus.CLEARED, by, timezone.now()
    locked.text_hash = text_hash(talk_text(getattr(talk, name) for name in TEXT_FIELDS))
    locked.version += 1
    locked.save(update_fields=["status", "cleared_by", "cleared_at", "text_hash", "version"])
    Notification.objects.filter(flag=locked, read_at__isnull=True).update(read_at=timezone.now())
    audit.record(
        AuditAction.UPDATE,
        obj=locked,
        student_id=talk.pairing.student_id,
        changes={"疑点状态": [before, FlagStatus.CLEARED.label]},
    )
    return locked


def returned_flags_locked(record: TalkRecord) -> list[TalkRecordFlag]:
    """The record's flags waiting for its teacher's revision, locked (talk_record_update's transaction)."""
    return list(TalkRecordFlag.objects.select_for_update().filter(talk_id=record.pk, status=FlagStatus.RETURNED))


def open_for_revision(record: TalkRecord) -> bool:
    """A returned record is open to its teacher whatever its edit window (1 query)."""
    return TalkRecordFlag.objects.filter(talk_id=record.pk, status=FlagStatus.RETURNED).exists()


def talk_revised(*, record: TalkRecord, before: dict[str, Any], flags: list[TalkRecordFlag], by: Any) -> None:
    """In talk_record_update's transaction, after the record is saved: when it was returned, keep its
    earlier text as a revision and mark the returned flags 已修改 for the officer."""
    if not flags:
        return
    ensure_term_open(student_id=record.pairing.student_id, term_id=record.term_id)
    if all(getattr(record, name) == before[name] for name in ("duration_minutes", *TEXT_FIELDS)):
        raise ValidationError(REVISION_UNCHANGED)
    now = timezone.now()
    TalkRecordRevision.objects.create(
        talk=record, revised_by=by, revised_at=now, **{n: before[n] for n in ("duration_minutes", *TEXT_FIELDS)}
    )
    TalkRecordFlag.objects.filter(pk__in=[f.pk for f in flags]).update(
        status=FlagStatus.REVISED, revised_at=now, version=F("version") + 1
    )
    Notification.objects.filter(flag__in=flags, read_at__isnull=True).update(read_at=now)


# --- Reads -----------------------------------------------------------------------------------------


def queue_flags(user: Any) -> QuerySet[TalkRecordFlag]:
    """The review queue's rows as far as the user sees them, shaped for the page: the record, its
    student, school and teacher, and the related earlier record, joined (one query per page)."""
    return (
        TalkRecordFlag.objects.visible_to(user)
        .select_related(
            "talk__pairing__student__school",
            "talk__pairing__teacher__user",
            "related_talk",
            "returned_by",
            "cleared_by",
        )
        .order_by("-detected_at", "-pk")
    )


def review_queue(user: Any, data: Any) -> Any:
    """The review queue filtered as asked (TalkRecordFlagFilter); its ``qs`` is the page's rows."""
    from .filters import TalkRecordFlagFilter

    return TalkRecordFlagFilter(data or None, queryset=queue_flags(user), user=user)


def flags_of_talk(user: Any, talk: TalkRecord) -> list[TalkRecordFlag]:
    """The flags of one record that the user sees, for its detail page (1 query)."""
    return list(
        TalkRecordFlag.objects.visible_to(user)
        .filter(talk=talk)
        .select_related("related_talk", "returned_by", "cleared_by")
        .order_by("kind")
    )


def returned_to_teacher(user: Any) -> list[TalkRecordFlag]:
    """The teacher's records returned for revision, for 我的帮扶学生 (1 query; 2 when there are
    some): her own active pairings' records only."""
    teacher_id = scope_of(user).teacher_id
    if teacher_id is None:
        return []
    flags = TalkRecordFlag.objects.filter(
        status=FlagStatus.RETURNED, talk__pairing__teacher_id=teacher_id, talk__pairing__ended_on__isnull=True
    ).order_by("-returned_at", "-pk")
    # Nearly always none: asked plainly first (the four joins of select_related cost more to compile
    # than the empty answer), and again with the records and names to show only when there are some.
    if not flags.exists():
        return []
    return list(flags.select_related("talk__pairing__student", "returned_by"))


def unanswered_flags(*, student_ids: Iterable[int], term_id: int) -> dict[int, int]:
    """For the case-file review checklist: per student, the flags of the term's records not yet passed
    (已通过), by student id; students without any are left out (1 query)."""
    rows = (
        TalkRecordFlag.objects.filter(talk__term_id=term_id, talk__pairing__student_id__in=list(student_ids))
        .exclude(status=FlagStatus.CLEARED)
        .values("talk__pairing__student_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["talk__pairing__student_id"]: row["n"] for row in rows}
