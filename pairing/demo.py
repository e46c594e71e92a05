"""Demo data for the ground floor: a school calendar around today, Zaoyang's schools, staff with
accounts, students with households, guardians and 认定, and pairings with some history.

Called by ``manage.py seed_demo`` through ``seed(ctx)`` (see zaoyang_aid/demo.py). What it made is
left in ``ctx.shared["pairing"]`` (a ``GroundFloor``) for the seeders above: guidance adds talk
records and home visits for every pairing in every term it was active.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import count

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from stdnum.cn import ric

from zaoyang_aid import calendar
from zaoyang_aid.access import Role
from zaoyang_aid.demo import SURNAMES, DemoContext, DemoLogin, given_name, mobile, person_name, raw_delete, surname

from . import dynamics_demo, figures, services
from .models import (
    GRADE_NAMES,
    AidListExit,
    AssessmentChangeConfirmation,
    Closure,
    ConsentMethod,
    ConsentScope,
    EnrollmentChange,
    EnrollmentStatus,
    Gender,
    Guardian,
    GuardianConsent,
    HardshipAssessment,
    HardshipLevel,
    HealthStatus,
    Household,
    HouseholdMember,
    HukouType,
    Pairing,
    PairingEndReason,
    School,
    SchoolYear,
    SpecialCategory,
    Stage,
    Student,
    Teacher,
    Term,
    Town,
    TownKind,
    is_under_14,
)

# --- Scales ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    towns: int  # 0: every town
    schools: dict[str, int]  # by stage
    paired: int  # students with an active pairing
    teachers: int  # role teacher; each 包保 one or two of those students
    unpaired: int  # assessed (认定) but not paired yet
    reassigned: int  # paired students whose first teacher handed them over (history)
    former: int  # students whose only pairing ended: graduated, transferred, lifted out of hardship


SCALES = {
    "small": Scale(
        towns=3,
        schools={Stage.PRESCHOOL: 1, Stage.PRIMARY: 4, Stage.JUNIOR: 3, Stage.SENIOR: 1, Stage.VOCATIONAL: 1},
        paired=200,
        teachers=170,
        unpaired=12,
        reassigned=8,
        former=10,
    ),
    # Zaoyang has some 300 schools for about a million people; the proportions follow the county's.
    "county": Scale(
        towns=0,
        schools={Stage.PRESCHOOL: 100, Stage.PRIMARY: 140, Stage.JUNIOR: 44, Stage.SENIOR: 10, Stage.VOCATIONAL: 6},
        paired=12_000,
        teachers=10_000,
        unpaired=300,
        reassigned=240,
        former=360,
    ),
}
# Paired students per school, relative: a village 幼儿园 has a handful, a 高中 a few hundred.
STAGE_WEIGHT: dict[str, int] = {
    Stage.PRESCHOOL: 10,
    Stage.PRIMARY: 40,
    Stage.JUNIOR: 80,
    Stage.SENIOR: 150,
    Stage.VOCATIONAL: 150,
}
# Where schools of a stage stand: 高中 and 中职 mostly in the city's streets, every town has its own.
KIND_WEIGHT: dict[str, dict[str, float]] = {
    Stage.PRESCHOOL: {TownKind.STREET: 4, TownKind.TOWN: 1.5, TownKind.ZONE: 1, TownKind.FARM: 0.3},
    Stage.PRIMARY: {TownKind.STREET: 3, TownKind.TOWN: 2, TownKind.ZONE: 1, TownKind.FARM: 0.3},
    Stage.JUNIOR: {TownKind.STREET: 2, TownKind.TOWN: 1, TownKind.ZONE: 0.5, TownKind.FARM: 0.2},
    Stage.SENIOR: {TownKind.STREET: 5, TownKind.TOWN: 0.4, TownKind.ZONE: 0.5, TownKind.FARM: 0},
    Stage.VOCATIONAL: {TownKind.STREET: 5, TownKind.TOWN: 0, TownKind.ZONE: 2, TownKind.FARM: 0},
}
EVERY_TOWN_HAS = (Stage.PRESCHOOL, Stage.PRIMARY, Stage.JUNIOR)
DEMO_TEACHER_STUDENTS = 3  # two of their own from the first term, one taken over mid-term (DemoCases)

# --- The school calendar --------------------------------------------------------------------------

# 春节 (正月初一): the winter vacation is built around it.
SPRING_FESTIVAL = {
    2019: (2, 5), 2020: (1, 25), 2021: (2, 12), 2022: (2, 1), 2023: (1, 22), 2024: (2, 10), 2025: (1, 29),
    2026: (2, 17), 2027: (2, 6), 2028: (1, 26), 2029: (2, 13), 2030: (2, 3), 2031: (1, 23), 2032: (2, 11),
    2033: (1, 31), 2034: (2, 19), 2035: (2, 8), 2036: (1, 28), 2037: (2, 15), 2038: (2, 4), 2039: (1, 24),
    2040: (2, 12),
}  # fmt: skip
MONDAY, FRIDAY = 0, 4


@dataclass(frozen=True)
class TermPlan:
    start_year: int
    number: int
    start: dt.date
    end: dt.date


def spring_festival(year: int) -> dt.date:
    month, day = SPRING_FESTIVAL.get(year, (2, 5))
    return dt.date(year, month, day)


def _on_or_after(day: dt.date, weekday: int) -> dt.date:
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7)


def _on_or_before(day: dt.date, weekday: int) -> dt.date:
    return day - dt.timedelta(days=(day.weekday() - weekday) % 7)


def _weekday_from(day: dt.date) -> dt.date:
    return day if day.weekday() <= FRIDAY else _on_or_after(day, MONDAY)


def _clamp(day: dt.date, low: dt.date, high: dt.date) -> dt.date:
    return min(max(day, low), high)


def usual_terms(start_year: int) -> tuple[TermPlan, TermPlan]:
    """A Hubei school year: 第一学期 from Sept 1 to a Friday two weeks or more before 春节 (mid to
    late January), 第二学期 from a Monday two weeks or more after it (mid-Feb to early March) to the
    first Friday from July 3."""
    festival = spring_festival(start_year + 1)
    spring = start_year + 1
    first_start = _weekday_from(dt.date(start_year, 9, 1))
    first_end = _on_or_before(
        _clamp(festival - dt.timedelta(days=14), dt.date(spring, 1, 9), dt.date(spring, 1, 24)), FRIDAY
    )
    second_start = _on_or_after(
        _clamp(festival + dt.timedelta(days=14), dt.date(spring, 2, 14), dt.date(spring, 3, 2)), MONDAY
    )
    second_end = _on_or_after(dt.date(spring, 7, 3), FRIDAY)
    return TermPlan(start_year, 1, first_start, first_end), TermPlan(start_year, 2, second_start, second_end)


def _stretch_earlier_term(ended: TermPlan, today: dt.date) -> bool:
    """In a vacation, run the term that ended on through the 春节 week (winter) or to mid-August
    (summer); after that, start the next one early instead (in February or late August)."""
    if ended.number == 1:
        festival = spring_festival(ended.start_year + 1)
        return today < max(festival + dt.timedelta(days=7), dt.date(festival.year, 2, 7))
    return today < dt.date(ended.start_year + 1, 8, 15)


def plan_terms(today: dt.date, how_many: int = 3) -> list[TermPlan]:
    """``how_many`` terms of history, ending with one that contains ``today``: the demo's pages always
    have a current term and week, even when seeded in a vacation (a term then stretches over it).

    No 寒假/暑假 Closure rows are needed: the usual terms leave the vacations out by their dates, and a
    stretched term is meant to have school days up to today's week. Statutory holidays and 调休 come
    from chinese_calendar."""
    year = calendar.school_year_start(today)
    terms = [term for y in range(year - 2, year + 2) for term in usual_terms(y)]
    for i, term in enumerate(terms):
        if term.start <= today <= term.end:
            return terms[i - how_many + 1 : i + 1]
        following = terms[i + 1]
        if term.end < today < following.start:
            if _stretch_earlier_term(term, today):
                terms[i] = dataclasses.replace(term, end=calendar.monday_of(today) + dt.timedelta(days=6))
                return terms[i - how_many + 1 : i + 1]
            terms[i + 1] = dataclasses.replace(following, start=calendar.monday_of(today))
            return terms[i - how_many + 2 : i + 2]
    raise AssertionError(f"no term planned around {today}")  # unreachable: the terms tile the years


def _create_terms(ctx: DemoContext) -> list[Term]:
    """The demo's terms, oldest first. Existing rows for the same term (an admin's dates) are kept."""
    terms, created = [], 0
    for plan in plan_terms(ctx.today):
        year, _ = SchoolYear.objects.get_or_create(start_year=plan.start_year)
        term, new = Term.objects.get_or_create(
            school_year=year, number=plan.number, defaults={"start_date": plan.start, "end_date": plan.end}
        )
        terms.append(term)
        created += new
    ctx.counts["学期"] = created
    current = terms[-1]
    ctx.log("学期: " + "; ".join(f"{t.name} {t.start_date}~{t.end_date}" for t in terms))
    if calendar.week_containing(current.school_weeks(), ctx.today) is None:
        ctx.log(f"注意: {ctx.today} 所在的一周全是法定节假日或周末,本周没有上课日。")
    return terms


# --- Places ---------------------------------------------------------------------------------------

CN_NUMBERS = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"]
VILLAGE_HEADS = SURNAMES[:18] + "沙东西南北大小新石柳桃梨枣鹿白青牛龙凤太平双"
VILLAGE_TAILS = "店湾岗庄营集桥河坡岭冲畈寨楼港堰庙铺台园洼"
COMMUNITIES = [
    *("东园", "西园", "光武", "书院", "新华", "前进", "人民", "中兴", "民主", "胜利", "朝阳", "沙河", "梁家"),
    *("南阳", "建设", "红旗", "团结", "和平", "迎宾", "长青", "桃园", "玉皇", "府前", "大东", "复兴", "汉城"),
]
ROADS = [
    "光武大道",
    "人民路",
    "中兴大道",
    "民主路",
    "书院街",
    "新华路",
    "前进路",
    "襄阳路",
    "大东街",
    "东风路",
    "北京路",
]
VILLAGES_PER_TOWN: dict[str, int] = {TownKind.STREET: 8, TownKind.TOWN: 24, TownKind.ZONE: 10, TownKind.FARM: 6}
CITY_KINDERGARTENS = [f"枣阳市{n}幼儿园" for n in ("实验", "机关", "第一", "第二", "第三", "第四", "第五")]
CITY_SENIORS = [
    "枣阳市第一中学",
    "枣阳市高级中学",
    "枣阳市第二中学",
    "枣阳市第三中学",
    "枣阳市第四中学",
    "枣阳市第五中学",
    "枣阳市第六中学",
    "枣阳市第七中学",
    "枣阳市白水高级中学",
    "枣阳市育才高级中学",
]
VOCATIONAL_NAMES = [
    "枣阳市职业教育中心",
    "枣阳市职业技术学校",
    "枣阳市理工中等专业学校",
    "枣阳市技工学校",
    "枣阳市卫生职业学校",
    "枣阳市汽车工业学校",
    "枣阳市农业职业学校",
    "枣阳市师范学校",
]


def village_names(rng: random.Random, town: Town, taken: set[str]) -> list[str]:
    """The villages (村) of a town, or the communities (社区) of a city street: 沙店村, 刘家湾村, 光武社区.
    A community belongs to one street (``taken`` holds those already given out)."""
    wanted = VILLAGES_PER_TOWN[town.kind]
    if town.kind == TownKind.STREET:
        free = [name for name in COMMUNITIES if name not in taken]
        chosen = rng.sample(free, min(wanted, len(free)))
        taken.update(chosen)
        return [name + "社区" for name in chosen]
    names: list[str] = []
    while len(names) < wanted:
        head, tail = rng.choice(VILLAGE_HEADS), rng.choice(VILLAGE_TAILS)
        name = (f"{head}家{tail}" if head in SURNAMES and rng.random() < 0.3 else head + tail) + "村"
        if name not in names:
            names.append(name)
    return names


def _stem(village: str) -> str:
    return village.removesuffix("社区").removesuffix("村")


def _place(town: Town) -> str:
    return town.name if town.name.startswith("枣阳") else f"枣阳市{town.name}"


def address_detail(rng: random.Random, town: Town) -> str:
    if town.kind == TownKind.STREET:
        flat = f"{rng.randint(1, 12)}栋{rng.randint(1, 4)}单元{rng.randint(1, 6)}0{rng.randint(1, 4)}室"
        return f"{rng.choice(ROADS)}{rng.randint(1, 300)}号" + (flat if rng.random() < 0.6 else "")
    return f"{CN_NUMBERS[rng.randint(1, 12)]}组{rng.randint(1, 60)}号"


def _school_names(stage: str, town: Town, villages: list[str], rng: random.Random) -> Iterator[str]:
    """Candidate names for a new school of ``stage`` in ``town``, most likely first."""
    place, street = _place(town), town.kind == TownKind.STREET
    stems = [_stem(v) for v in rng.sample(villages, len(villages))]
    if stage == Stage.PRESCHOOL:
        yield f"{place}中心幼儿园"
        yield from CITY_KINDERGARTENS if street else ()
        yield from (f"{place}{s}幼儿园" for s in stems)
    elif stage == Stage.PRIMARY:
        yield f"{place}中心小学"
        yield from (f"枣阳市第{CN_NUMBERS[k]}实验小学" for k in range(1, 9)) if street else ()
        yield from (f"{place}{s}小学" for s in stems)
    elif stage == Stage.JUNIOR:
        firsts = [f"枣阳市{town.name.removesuffix('街道')}中学", "枣阳市实验中学"] if street else []
        yield from firsts or [f"{place}第一中学", f"{place}第二中学"]
        yield from (f"{place}{s}中学" for s in stems)
    elif stage == Stage.SENIOR:
        yield from CITY_SENIORS if town.kind in (TownKind.STREET, TownKind.ZONE) else ()
        yield f"{place}高级中学"
    else:
        yield from VOCATIONAL_NAMES
    for n in count(1):
        yield f"{place}{Stage(stage).label}学校{n}"


def _apportion(total: int, weights: Sequence[float], minimum: int = 1) -> list[int]:
    """Split ``total`` into whole parts in proportion to ``weights`` (largest remainder), each >= minimum."""
    spare = total - minimum * len(weights)
    if spare < 0:
        raise CommandError(f"无法把 {total} 分成 {len(weights)} 份(每份至少 {minimum})。")
    exact = [spare * w / sum(weights) for w in weights]
    parts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - parts[i], reverse=True)
    for i in by_remainder[: spare - sum(parts)]:
        parts[i] += 1
    return [p + minimum for p in parts]


def _school_towns(rng: random.Random, stage: str, how_many: int, towns: list[Town]) -> list[Town]:
    """Which town each new school of ``stage`` stands in: every town first has one (for the stages every
    town runs), the rest go where people are (the city's streets)."""
    placed: list[Town] = []
    if stage in EVERY_TOWN_HAS:
        placed = rng.sample(towns, min(how_many, len(towns)))
    weights = [KIND_WEIGHT[stage][t.kind] for t in towns]
    if not any(weights):
        weights = [1.0] * len(towns)
    placed += rng.choices(towns, weights=weights, k=how_many - len(placed))
    return placed


# --- What the seeder leaves for the seeders above -------------------------------------------------


@dataclass
class GroundFloor:
    """The rows pairing's seeder made (with primary keys), for guidance, casefiles and campaigns."""

    terms: list[Term]  # oldest first; the last one contains ctx.today
    schools: list[School]
    teachers: list[Teacher]  # every staff row: teachers, 资助专干 (officers), 心理健康教师
    students: list[Student]
    pairings: list[Pairing]  # active and ended; an active one ends on None
    demo_school: School
    demo_teacher: Teacher
    villages: dict[int, list[str]] = field(default_factory=dict)  # by town id
    cases: DemoCases | None = None


@dataclass
class DemoCases:
    """What someone walking the demo after the quick start should meet at the demo school, written
    through the services (which check the rules) after the bulk insert; dates are the first school
    days of recent school weeks (``case_weeks``), so they fall mid-term once the term is some weeks
    old. The pairings are the rows in ``GroundFloor.pairings``, kept in step with the database."""

    officer: Teacher  # demo_officer: the ``by`` of the changes
    suspended: Pairing  # the student went 休学 on suspended_on; the pairing stays active
    suspended_on: dt.date
    returned: Pairing  # the student was 休学 from away_on and back 在校 from back_on
    away_on: dt.date
    back_on: dt.date
    handed_over: Pairing  # a colleague's, ended on taken_over_on (调动) ...
    taken_over: Pairing  # ... when demo_teacher took the student over
    moved: Pairing | None  # ended by a transfer (转学) to the demo school on moved_on
    moved_on: dt.date | None


# --- Families -------------------------------------------------------------------------------------

OCCUPATION_INCOME = {
    "外出务工": (18_000, 48_000),
    "务农": (3_000, 12_000),
    "个体经营": (10_000, 36_000),
    "灵活就业": (8_000, 24_000),
    "公益性岗位": (9_600, 14_400),
    "打零工": (2_000, 8_000),
    "退休": (15_000, 36_000),
    "无业": (0, 0),
    "在校学生": (0, 0),
    "学龄前": (0, 0),
}
PARENT_JOBS = [
    ("外出务工", 30),
    ("务农", 30),
    ("个体经营", 8),
    ("灵活就业", 12),
    ("无业", 12),
    ("公益性岗位", 3),
    ("打零工", 5),
]
GRANDPARENT_JOBS = [("务农", 50), ("无业", 35), ("退休", 10), ("打零工", 5)]
HEALTH = {
    "parent": [
        (HealthStatus.HEALTHY, 85),
        (HealthStatus.CHRONIC, 7),
        (HealthStatus.SERIOUS, 3),
        (HealthStatus.DISABLED, 4),
        (HealthStatus.OTHER, 1),
    ],
    "old": [
        (HealthStatus.HEALTHY, 55),
        (HealthStatus.CHRONIC, 30),
        (HealthStatus.SERIOUS, 7),
        (HealthStatus.DISABLED, 6),
        (HealthStatus.OTHER, 2),
    ],
    "child": [
        (HealthStatus.HEALTHY, 93),
        (HealthStatus.CHRONIC, 3),
        (HealthStatus.SERIOUS, 1),
        (HealthStatus.DISABLED, 3),
    ],
}
# Who the child lives with: both parents; 留守 with grandparents while the parents work away; one
# parent; grandparents only (orphans and children with no one to raise them).
STRUCTURES = [("both", 50), ("left_behind", 25), ("single_mother", 9), ("single_father", 7), ("grandparents", 9)]
DRAINING = {HealthStatus.SERIOUS, HealthStatus.DISABLED}


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in weighted], weights=[w for _, w in weighted])[0]


@dataclass
class _Person:
    name: str
    age: int
    relation: str
    occupation: str
    health: str
    income: int = 0
    guardian: bool = False


@dataclass
class _Family:
    household: Household
    family_name: str
    mother_name: str
    guardians: list[tuple[str, str, str]]  # name, relation, phone
    first_birth: dt.date
    severity: int  # 0 特别困难, 1 困难, 2 一般困难 (index into a stage's levels)
    categories: list[str]
    children: int = 1


def _adult(
    rng: random.Random,
    age: int,
    relation: str,
    *,
    male: bool,
    family: str,
    jobs: Sequence[tuple[str, float]],
    old: bool = False,
) -> _Person:
    health = _pick(rng, HEALTH["old" if old else "parent"])
    job = "无业" if health in DRAINING and rng.random() < 0.6 else _pick(rng, jobs)
    low, high = OCCUPATION_INCOME[job]
    return _Person(
        name=person_name(rng, male=male, generation="old" if old else "adult", family=family),
        age=min(age, 99),
        relation=relation,
        occupation=job,
        health=health,
        income=rng.randrange(low, high + 1, 100) if high else 0,
    )


def _sibling(rng: random.Random, child_age: int, family: str) -> _Person:
    age = max(0, child_age + rng.choice([-6, -4, -3, -2, 2, 3, 4, 6]))
    male = rng.random() < 0.5
    relation = ("哥哥" if male else "姐姐") if age > child_age else ("弟弟" if male else "妹妹")
    job = "学龄前" if age < 6 else "在校学生" if age <= 22 else "外出务工"
    low, high = OCCUPATION_INCOME[job]
    return _Person(
        person_name(rng, male=male, family=family),
        age,
        relation,
        job,
        _pick(rng, HEALTH["child"]),
        income=rng.randrange(low, high + 1, 100) if high else 0,
    )


def family_people(rng: random.Random, child_age: int, family: str, mother_family: str) -> tuple[str, list[_Person]]:
    """The people a student lives with (2-5 of them, guardians marked), by household structure."""
    structure = _pick(rng, STRUCTURES)
    father_age = child_age + rng.randint(24, 36)
    mother_age = father_age - rng.randint(0, 4)
    away = [("外出务工", 85), ("务农", 15)]
    parent_jobs = away if structure == "left_behind" else PARENT_JOBS
    people: list[_Person] = []
    if structure in ("both", "left_behind", "single_father"):
        people.append(_adult(rng, father_age, "父亲", male=True, family=family, jobs=parent_jobs))
    if structure in ("both", "left_behind", "single_mother"):
        people.append(_adult(rng, mother_age, "母亲", male=False, family=mother_family, jobs=parent_jobs))
    if structure in ("left_behind", "grandparents") or rng.random() < 0.3:
        people += _grandparents(rng, father_age, family, mother_family)
    for _ in range(rng.choice([0, 0, 1, 1, 1, 2])):
        people.append(_sibling(rng, child_age, family))
    while len(people) < 2:
        people.append(_sibling(rng, child_age, family))
    _mark_guardians(rng, structure, people)
    kept = [p for p in people if p.guardian] + [p for p in people if not p.guardian]
    return structure, kept[:5]


def _grandparents(rng: random.Random, parent_age: int, family: str, mother_family: str) -> list[_Person]:
    maternal = rng.random() < 0.25
    grand_family = mother_family if maternal else family
    prefix = "外" if maternal else ""
    age = parent_age + rng.randint(22, 30)
    grandmother = _adult(
        rng, age - rng.randint(0, 4), f"{prefix}祖母", male=False, family=surname(rng), jobs=GRANDPARENT_JOBS, old=True
    )
    if rng.random() < 0.4:  # widowed
        return [grandmother]
    return [
        _adult(rng, age, f"{prefix}祖父", male=True, family=grand_family, jobs=GRANDPARENT_JOBS, old=True),
        grandmother,
    ]


def _mark_guardians(rng: random.Random, structure: str, people: list[_Person]) -> None:
    parents = [p for p in people if p.relation in ("父亲", "母亲")]
    elders = [p for p in people if p.relation.endswith(("祖父", "祖母"))]
    if structure in ("left_behind", "grandparents") and elders:
        chosen = elders[:2] if rng.random() < 0.5 else elders[-1:]
    elif parents:
        chosen = parents if rng.random() < 0.7 else parents[:1]
    else:  # only siblings: the eldest stands as guardian
        chosen = [max(people, key=lambda p: p.age)]
    for person in chosen:
        person.guardian = True


def _severity(rng: random.Random, structure: str, people: list[_Person]) -> int:
    """0 特别困难, 1 困难, 2 一般困难: from income per head, illness and who raises the child."""
    per_head = sum(p.income for p in people) / (len(people) + 1)
    level = 2 if per_head > 7_000 else 1 if per_head > 3_500 else 0
    if structure == "grandparents" or any(p.health in DRAINING for p in people):
        level -= 1
    if rng.random() < 0.15:
        level += rng.choice([-1, 1])
    return min(max(level, 0), 2)


def _categories(rng: random.Random, structure: str, severity: int, people: list[_Person]) -> list[str]:
    """0-2 special groups (names as loaded by migration 0002), consistent with the family."""
    disabled_parent = any(p.health == HealthStatus.DISABLED and p.relation in ("父亲", "母亲") for p in people)
    alone = structure == "grandparents"
    chances = [
        ("脱贫家庭学生(原建档立卡)", 0.45 if severity == 0 else 0.25),
        ("防止返贫监测对象", 0.08),
        ("最低生活保障家庭", 0.3 if severity == 0 else 0.06),
        ("特困供养", 0.4 if alone else 0.0),
        ("孤儿及事实无人抚养儿童", 0.5 if alone else 0.0),
        ("烈士子女", 0.002),
        ("残疾学生及残疾人子女", 0.7 if disabled_parent else 0.0),
    ]
    rng.shuffle(chances)
    return [name for name, p in chances if rng.random() < p][:2]


# --- The builder ----------------------------------------------------------------------------------

ENTRY_AGE: dict[str, int] = {
    Stage.PRESCHOOL: 3,
    Stage.PRIMARY: 6,
    Stage.JUNIOR: 12,
    Stage.SENIOR: 15,
    Stage.VOCATIONAL: 15,
}
CLASSES_PER_GRADE: dict[str, int] = {
    Stage.PRESCHOOL: 3,
    Stage.PRIMARY: 4,
    Stage.JUNIOR: 8,
    Stage.SENIOR: 12,
    Stage.VOCATIONAL: 8,
}
TITLES = [("三级教师", 4), ("二级教师", 30), ("一级教师", 46), ("高级教师", 18), ("正高级教师", 2)]
FEMALE_SHARE: dict[str, float] = {
    Stage.PRESCHOOL: 0.97,
    Stage.PRIMARY: 0.72,
    Stage.JUNIOR: 0.55,
    Stage.SENIOR: 0.45,
    Stage.VOCATIONAL: 0.45,
}
FORMER_KINDS = [("graduated", 40), ("transferred", 30), ("lifted", 30)]


def school_year_of(day: dt.date) -> int:
    return calendar.school_year_start(day)


class _Builder:
    """Makes the rows in memory, parents before children, so that they can be bulk-inserted in order."""

    def __init__(self, ctx: DemoContext, terms: list[Term], towns: list[Town]) -> None:
        self.ctx, self.rng, self.terms, self.towns = ctx, ctx.rng, terms, towns
        self.current_year = terms[-1].school_year.start_year
        communities: set[str] = set()
        self.villages = {t.pk: village_names(self.rng, t, communities) for t in towns}
        self.schools: list[School] = []
        self.users: list[object] = []
        self.staff: list[Teacher] = []
        self.households: list[Household] = []
        self.members: list[HouseholdMember] = []
        self.students: list[Student] = []
        self.guardians: list[Guardian] = []
        self.pairings: list[Pairing] = []
        self.enrolled: list[tuple[Student, _Family, dt.date | None]] = []  # with the day they left 认定
        self.families_by_town: dict[int, list[_Family]] = {t.pk: [] for t in towns}
        self.id_numbers = set(Student.objects.values_list("id_number", flat=True))
        self.student_numbers = set(Student.objects.values_list("student_number", flat=True))
        self.phones = set(Teacher.objects.values_list("phone", flat=True))
        self.usernames = {Role.TEACHER: count(1), Role.OFFICER: count(1), Role.COUNSELLOR: count(1)}

    # Schools ---------------------------------------------------------------------------------

    def add_schools(self, scale: Scale) -> None:
        names = set(School.objects.values_list("name", flat=True))
        codes = set(School.objects.values_list("code", flat=True))
        for stage, how_many in scale.schools.items():
            for town in _school_towns(self.rng, stage, how_many, self.towns):
                name = next(n for n in _school_names(stage, town, self.villages[town.pk], self.rng) if n not in names)
                names.add(name)
                code = next(c for c in (f"2142{self.rng.randrange(10**6):06d}" for _ in count()) if c not in codes)
                codes.add(code)
                self.schools.append(self._school(stage, town, name, code))

    def _school(self, stage: str, town: Town, name: str, code: str) -> School:
        rng = self.rng
        if town.kind == TownKind.STREET:
            address = f"枣阳市{rng.choice(ROADS)}{rng.randint(1, 400)}号"
        else:
            address = f"{_place(town)}{rng.choice(self.villages[town.pk])}"
        return School(
            name=name, code=code, stage=stage, town=town, address=address, phone=f"0710-6{rng.randrange(10**6):06d}"
        )

    # Staff -----------------------------------------------------------------------------------

    def add_staff(self, school: School, role: Role, username: str = "") -> Teacher:
        rng = self.rng
        user_model = get_user_model()
        phone = next(p for p in (mobile(rng) for _ in count()) if p not in self.phones)
        self.phones.add(phone)
        prefix = {Role.TEACHER: "demo_t", Role.OFFICER: "demo_zg", Role.COUNSELLOR: "demo_xl"}[role]
        user = user_model(
            username=username or f"{prefix}{next(self.usernames[role]):05d}",
            full_name=person_name(rng, male=rng.random() > FEMALE_SHARE[school.stage], generation="adult"),
            phone=phone,
            role=role,
            password=self.ctx.password_hash,
        )
        staff = Teacher(
            user=user,
            school=school,
            phone=phone,
            title=_pick(rng, TITLES),
            is_head_teacher=role == Role.TEACHER and rng.random() < 0.35,
        )
        self.users.append(user)
        self.staff.append(staff)
        return staff

    # Students --------------------------------------------------------------------------------

    def add_student(
        self,
        school: School,
        *,
        grade: int = 0,
        year: int = 0,
        status: str = EnrollmentStatus.ENROLLED,
        left_on: dt.date | None = None,
    ) -> Student:
        """A student of ``school`` in ``grade`` of the school year starting in ``year`` (default: now)."""
        rng = self.rng
        grade = grade or rng.choice(list(GRADE_NAMES[school.stage]))
        birth = self._birth_date(school.stage, grade, year or self.current_year)
        male = rng.random() < 0.52
        family = self._family_for(school, birth)
        id_number = self._id_number(birth, male=male)
        student = Student(
            name=(family.family_name if rng.random() < 0.92 else family.mother_name) + given_name(rng, male=male),
            gender=Gender.MALE if male else Gender.FEMALE,
            birth_date=birth,
            id_number=id_number,
            student_number=self._student_number(id_number, birth),
            school=school,
            grade=grade,
            class_name=f"{rng.randint(1, CLASSES_PER_GRADE[school.stage])}班",
            hukou_type=self._hukou(family.household.town),
            household=family.household,
            enrollment_status=status,
        )
        self.students.append(student)
        self.enrolled.append((student, family, left_on))
        self.guardians += [Guardian(student=student, name=n, relation=r, phone=p) for n, r, p in family.guardians]
        return student

    def _birth_date(self, stage: str, grade: int, year: int) -> dt.date:
        """Born so as to be in ``grade`` in school year ``year``: age on Sept 1 is the stage's entry
        age plus the years since; a few started late or repeated a year."""
        age = ENTRY_AGE[stage] + grade - 1 + (1 if self.rng.random() < 0.08 else 0)
        return dt.date(year - age - 1, 9, 1) + dt.timedelta(days=self.rng.randrange(365))

    def _id_number(self, birth: dt.date, *, male: bool) -> str:
        """420683 (枣阳市) + birth date + sequence (odd for men) + GB 11643 check digit; unique."""
        while True:
            body = f"420683{birth:%Y%m%d}{self.rng.randrange(500) * 2 + male:03d}"
            number = body + ric.calc_check_digit(body + "0")
            if number not in self.id_numbers:
                self.id_numbers.add(number)
                return number

    def _student_number(self, id_number: str, birth: dt.date) -> str:
        """G + ID number; a few have a J number (issued when the ID was not yet registered)."""
        number = "G" + id_number
        while self.rng.random() < 0.02 or number in self.student_numbers:
            number = f"J420683{birth:%Y%m%d}{self.rng.randrange(10**4):04d}"
        self.student_numbers.add(number)
        return number

    def _hukou(self, town: Town) -> str:
        urban_share = 0.45 if town.kind == TownKind.STREET else 0.05
        return HukouType.URBAN if self.rng.random() < urban_share else HukouType.RURAL

    # Families --------------------------------------------------------------------------------

    def _family_for(self, school: School, birth: dt.date) -> _Family:
        """The student's family: usually a new one near the school; now and then a sibling's."""
        rng = self.rng
        local = 0.85 if school.stage in EVERY_TOWN_HAS else 0.35  # 高中 and 中职 draw from the whole county
        town = school.town if rng.random() < local else rng.choice(self.towns)
        neighbours = self.families_by_town[town.pk]
        if neighbours and rng.random() < 0.05:
            family = rng.choice(neighbours)
            if family.children == 1 and abs((family.first_birth - birth).days) > 400:
                family.children += 1
                return family
        family = self._new_family(town, birth)
        neighbours.append(family)
        return family

    def _new_family(self, town: Town, birth: dt.date) -> _Family:
        rng = self.rng
        child_age = (self.ctx.today - birth).days // 365
        family_name, mother_name = surname(rng), surname(rng)
        structure, people = family_people(rng, child_age, family_name, mother_name)
        household = Household(
            town=town, village=rng.choice(self.villages[town.pk]), address_detail=address_detail(rng, town)
        )
        self.households.append(household)
        self.members += [
            HouseholdMember(
                household=household,
                name=p.name,
                age=p.age,
                relation=p.relation,
                occupation=p.occupation,
                annual_income=Decimal(p.income),
                health=p.health,
            )
            for p in people
        ]
        severity = _severity(rng, structure, people)
        return _Family(
            household=household,
            family_name=family_name,
            mother_name=mother_name,
            guardians=[(p.name, p.relation, mobile(rng)) for p in people if p.guardian],
            first_birth=birth,
            severity=severity,
            categories=_categories(rng, structure, severity, people),
        )

    # Pairings --------------------------------------------------------------------------------

    def pair(
        self,
        teacher: Teacher,
        student: Student,
        started_on: dt.date,
        ended_on: dt.date | None = None,
        reason: str = "",
        note: str = "",
    ) -> Pairing:
        pairing = Pairing(
            teacher=teacher, student=student, started_on=started_on, ended_on=ended_on, end_reason=reason, end_note=note
        )
        self.pairings.append(pairing)
        return pairing

    def first_day(self) -> dt.date:
        """A pairing's start: in the first three weeks of the first demo term, on a weekday."""
        return _weekday_from(self.terms[0].start_date + dt.timedelta(days=self.rng.randint(0, 20)))

    def day_between(self, start: dt.date, end: dt.date) -> dt.date:
        return start + dt.timedelta(days=self.rng.randint(0, max(0, (end - start).days)))


# --- Allocation over schools ----------------------------------------------------------------------


def _teacher_counts(rng: random.Random, pairs: list[int], total: int) -> list[int]:
    """Teachers per school: each 包保 one or two students, so pairs/2 <= teachers <= pairs."""
    low = [math.ceil(p / 2) for p in pairs]
    if not sum(low) <= total <= sum(pairs):
        raise CommandError(f"{total} 名教师无法包保 {sum(pairs)} 名学生(每人一到两名)。")
    counts = [min(p, max(lo, round(p * total / sum(pairs)))) for p, lo in zip(pairs, low, strict=True)]
    order = list(range(len(pairs)))
    while sum(counts) != total:
        rng.shuffle(order)
        step = 1 if sum(counts) < total else -1
        for i in order:
            if sum(counts) == total:
                break
            if low[i] <= counts[i] + step <= pairs[i]:
                counts[i] += step
    return counts


def _demo_school_index(schools: list[School], pairs: list[int], teachers: list[int]) -> int:
    """The demo accounts' school: a 初中 (else any school) where the demo teacher can take three
    students and every colleague still has one, preferring the city."""

    def fitness(i: int) -> tuple[bool, bool, bool, int]:
        slack = pairs[i] - teachers[i]
        return (
            slack >= DEMO_TEACHER_STUDENTS - 1,
            schools[i].stage == Stage.JUNIOR,
            schools[i].town.kind == TownKind.STREET,
            slack,
        )

    return max(range(len(schools)), key=fitness)


# --- The seeder -----------------------------------------------------------------------------------


def holds_records() -> bool:
    return Student.objects.exists() or Teacher.objects.exists() or School.objects.exists()


def seed(ctx: DemoContext) -> None:
    # Rows go in in bulk, past the services: every school's dashboard figures recount (pairing.figures).
    figures.touch_county()
    scale = SCALES[ctx.scale]
    terms = _create_terms(ctx)
    towns = _pick_towns(ctx, scale)
    builder = _Builder(ctx, terms, towns)
    builder.add_schools(scale)
    ground = _populate(ctx, builder, scale)
    moving = _add_moving_student(builder, ground.demo_school)
    _insert(ctx, builder)
    _insert_assessments(ctx, builder)
    _insert_consents(ctx, builder, ground.demo_school)
    ground.cases = _write_cases(ctx, ground, moving)
    # 动态管理: this term's 认定 changes of each kind at the demo school (pairing/dynamics_demo.py).
    officer = _officer_of(ground, ground.demo_school).user
    dynamics_demo.write(ctx, school=ground.demo_school, term=ground.terms[-1], officer=officer)
    ctx.shared["pairing"] = ground


def _pick_towns(ctx: DemoContext, scale: Scale) -> list[Town]:
    towns = list(Town.objects.order_by("code"))
    if not towns:
        raise CommandError("没有乡镇数据:请先运行 migrate(迁移 pairing.0002 载入枣阳市的乡镇)。")
    if not scale.towns or scale.towns >= len(towns):
        return towns
    streets = [t for t in towns if t.kind == TownKind.STREET]
    rural = [t for t in towns if t.kind == TownKind.TOWN]
    return sorted(streets[:1] + ctx.rng.sample(rural, scale.towns - 1), key=lambda t: t.code)


def _populate(ctx: DemoContext, builder: _Builder, scale: Scale) -> GroundFloor:
    """Staff, students and pairings school by school; the demo accounts at one of them."""
    rng, schools = ctx.rng, builder.schools
    weights = [STAGE_WEIGHT[s.stage] * rng.uniform(0.6, 1.4) for s in schools]
    pairs = _apportion(scale.paired, weights, minimum=2)
    teachers = _teacher_counts(rng, pairs, scale.teachers)
    demo_index = _demo_school_index(schools, pairs, teachers)
    unpaired = _apportion(scale.unpaired, weights, minimum=0)
    former = _apportion(scale.former, weights, minimum=0)
    former[demo_index] = max(former[demo_index], 1)  # the demo teacher has a past pairing too
    reassign_share = scale.reassigned / scale.paired
    demo_teacher = None
    for i, school in enumerate(schools):
        staff = _school_staff(ctx, builder, school, teachers[i], demo=i == demo_index)
        demo_teacher = staff[0] if i == demo_index else demo_teacher
        _pair_school(builder, school, staff, pairs[i], reassign_share, demo=i == demo_index)
        for _ in range(unpaired[i]):
            builder.add_student(school)
        for n in range(former[i]):
            _former_student(builder, school, staff[0] if i == demo_index and n == 0 else rng.choice(staff))
    if demo_teacher is None:  # unreachable: demo_index is one of the schools
        raise CommandError("演示学校没有教师。")
    return GroundFloor(
        terms=builder.terms,
        schools=schools,
        teachers=builder.staff,
        students=builder.students,
        pairings=builder.pairings,
        demo_school=schools[demo_index],
        demo_teacher=demo_teacher,
        villages=builder.villages,
    )


def _school_staff(ctx: DemoContext, builder: _Builder, school: School, how_many: int, *, demo: bool) -> list[Teacher]:
    """The school's teachers (role teacher, the ones who 包保), its 资助专干 and, beyond 幼儿园, its
    心理健康教师. At the demo school the first of each is a fixed demo account."""
    teachers = [
        builder.add_staff(school, Role.TEACHER, "demo_teacher" if demo and n == 0 else "") for n in range(how_many)
    ]
    builder.add_staff(school, Role.OFFICER, "demo_officer" if demo else "")
    if school.stage != Stage.PRESCHOOL or demo:
        builder.add_staff(school, Role.COUNSELLOR, "demo_counsellor" if demo else "")
    if demo:
        for username, role in (
            ("demo_teacher", Role.TEACHER),
            ("demo_officer", Role.OFFICER),
            ("demo_counsellor", Role.COUNSELLOR),
        ):
            ctx.logins.append(DemoLogin(username, role, school.name))
    return teachers


def _pair_school(
    builder: _Builder, school: School, teachers: list[Teacher], how_many: int, reassign_share: float, *, demo: bool
) -> None:
    """Every teacher 包保 one student, some two; at the demo school the demo teacher (first) has two
    (a third is taken over from a colleague mid-term: _write_cases)."""
    rng = builder.rng
    if demo:
        mine = min(DEMO_TEACHER_STUDENTS - 1, 1 + how_many - len(teachers))
        others = teachers[1:]
        load = [teachers[0]] * mine + others + rng.sample(others, how_many - mine - len(others))
    else:
        mine = 0
        load = teachers + rng.sample(teachers, how_many - len(teachers))
    for n, teacher in enumerate(load):
        student = builder.add_student(school)
        started_on = builder.first_day()
        if n >= mine and len(teachers) > 1 and rng.random() < reassign_share:
            started_on = _handover(builder, student, teacher, teachers, started_on)
        builder.pair(teacher, student, started_on)


def _handover(
    builder: _Builder, student: Student, new: Teacher, colleagues: list[Teacher], started_on: dt.date
) -> dt.date:
    """History: the student's first teacher moved on and handed them over; returns the handover day."""
    rng = builder.rng
    before = rng.choice([t for t in colleagues if t is not new])
    handed_on = builder.day_between(builder.terms[1].start_date, builder.ctx.today - dt.timedelta(days=7))
    reason = _pick(rng, [(PairingEndReason.TRANSFER, 70), (PairingEndReason.OTHER, 30)])
    why = "教师工作调动" if reason == PairingEndReason.TRANSFER else "教师长期病假"
    builder.pair(before, student, started_on, handed_on, reason, f"{why},改由{new.user.full_name}老师帮扶")
    return handed_on


def _former_student(builder: _Builder, school: School, teacher: Teacher) -> None:
    """A student whose pairing ended: graduated last summer, transferred out, or lifted out of hardship."""
    rng, terms, today = builder.rng, builder.terms, builder.ctx.today
    kind = _pick(rng, FORMER_KINDS)
    started_on = builder.first_day()
    if kind == "graduated":
        summers = [t for t in terms[:-1] if t.number == 2]
        if summers:
            summer = max(summers, key=lambda t: t.start_date)
            ended_on = summer.end_date
            final_grade = max(GRADE_NAMES[school.stage])
            student = builder.add_student(
                school,
                grade=final_grade,
                year=summer.school_year.start_year,
                status=EnrollmentStatus.GRADUATED,
                left_on=ended_on,
            )
            builder.pair(teacher, student, started_on, ended_on, PairingEndReason.GRADUATION, "学生毕业")
            return
        kind = "transferred"
    if kind == "transferred":
        ended_on = builder.day_between(started_on + dt.timedelta(days=30), today - dt.timedelta(days=1))
        student = builder.add_student(
            school, year=school_year_of(ended_on), status=EnrollmentStatus.TRANSFERRED, left_on=ended_on
        )
        note = f"随父母转学至{rng.choice(['襄阳市', '武汉市', '随州市', '南阳市', '深圳市', '宜昌市'])}"
        builder.pair(teacher, student, started_on, ended_on, PairingEndReason.SCHOOL_TRANSFER, note)
        return
    ended_on = rng.choice(terms[:-1]).end_date
    student = builder.add_student(school, left_on=ended_on)
    builder.pair(teacher, student, started_on, ended_on, PairingEndReason.LIFTED, "家庭收入稳定,经认定退出")


# --- The cases a walk through the demo meets ------------------------------------------------------

SUSPENDED_REASON = "因病需长期住院治疗,监护人申请休学"
AWAY_REASON = "家中变故,随监护人外出,申请休学"
BACK_REASON = "监护人返乡,学生回校复学"
MOVE_REASON = "随父母迁居城区"


def case_weeks(terms: Sequence[Term], today: dt.date) -> list[calendar.SchoolWeek]:
    """The demo terms' school weeks (county calendar) begun by ``today``, oldest first. The cases
    are dated by counting back along them, so early in a term the older ones reach into the last."""
    return [w for term in terms for w in term.school_weeks() if w.school_days[0] <= today]


def weeks_back(weeks: Sequence[calendar.SchoolWeek], back: int) -> calendar.SchoolWeek:
    """The school week ``back`` weeks before the current one (0: the current one)."""
    return weeks[max(0, len(weeks) - 1 - back)]


def _add_moving_student(builder: _Builder, demo_school: School) -> Pairing | None:
    """A student paired at another school of the demo school's stage, who moves to the demo school
    mid-term (_write_cases); one more student, so the scale's count of active pairings still holds."""
    others = [s for s in builder.schools if s.stage == demo_school.stage and s is not demo_school]
    if not others:
        return None
    school = builder.rng.choice(others)
    load = Counter(id(p.teacher) for p in builder.pairings if p.ended_on is None)
    teachers = [t for t in builder.staff if t.school is school and t.user.role == Role.TEACHER]
    teacher = min(teachers, key=lambda t: load[id(t)])  # one who 包保 a single student
    return builder.pair(teacher, builder.add_student(school), builder.first_day())


def _case_pairings(rng: random.Random, ground: GroundFloor) -> tuple[Pairing, Pairing, Pairing]:
    """Three colleagues' students at the demo school whose only pairing is active (no history to
    cross): the first from a teacher with two students, who hands one over to the demo teacher."""
    per_student = Counter(p.student_id for p in ground.pairings)
    load = Counter(p.teacher_id for p in ground.pairings if p.ended_on is None)
    pool = [
        p
        for p in ground.pairings
        if p.ended_on is None
        and p.student.school_id == ground.demo_school.pk
        and p.teacher_id != ground.demo_teacher.pk
        and per_student[p.student_id] == 1
    ]
    if len(pool) < 3:
        raise CommandError("演示学校的结对太少,无法生成演示情形。")
    handed = rng.choice([p for p in pool if load[p.teacher_id] > 1] or pool)
    suspended, returned = rng.sample([p for p in pool if p is not handed], 2)
    return handed, suspended, returned


def _officer_of(ground: GroundFloor, school: School) -> Teacher:
    return next(t for t in ground.teachers if t.school is school and t.user.role == Role.OFFICER)


def _write_cases(ctx: DemoContext, ground: GroundFloor, moving: Pairing | None) -> DemoCases:
    """休学 mid-term, a return from 休学, a takeover by the demo teacher and a transfer in to the demo
    school, through the services; the rows in ``ground`` follow what they wrote."""
    weeks = case_weeks(ground.terms, ctx.today)

    def day(back: int) -> dt.date:
        return weeks_back(weeks, back).school_days[0]

    officer = _officer_of(ground, ground.demo_school)
    by = officer.user
    handed, suspended, returned = _case_pairings(ctx.rng, ground)
    for pairing, status, on, reason in (
        (suspended, EnrollmentStatus.SUSPENDED, day(3), SUSPENDED_REASON),
        (returned, EnrollmentStatus.SUSPENDED, day(8), AWAY_REASON),
        (returned, EnrollmentStatus.ENROLLED, day(4), BACK_REASON),
    ):
        services.student_status_change(student=pairing.student, status=status, on=on, reason=reason, by=by)
        pairing.student.enrollment_status = status
    # A takeover starts a pairing: before the current term only with a reason, so not before it.
    taken_over_on = max(day(5), ground.terms[-1].start_date)
    mover, teacher = handed.teacher.user.full_name, ground.demo_teacher.user.full_name
    taken = services.pairing_reassign(
        pairing=handed,
        new_teacher=ground.demo_teacher,
        on=taken_over_on,
        reason=PairingEndReason.TRANSFER,
        note=f"{mover}老师调往其他学校任教,改由{teacher}老师帮扶",
        confirmed_over_limit=True,
    )
    taken.student = handed.student
    handed.refresh_from_db(fields=["ended_on", "end_reason", "end_note"])
    ground.pairings.append(taken)
    moved_on = _move(ground, moving, day(2)) if moving else None
    ctx.counts["结对"] = ctx.counts.get("结对", 0) + 1
    ctx.counts["学籍变动"] = 3 + (moving is not None)
    ctx.log(
        f"演示情形: 休学 {suspended.student.name}; 复学 {returned.student.name}; "
        f"{teacher}接手 {taken.student.name}" + (f"; 转入 {moving.student.name}" if moving else "")
    )
    return DemoCases(
        officer=officer,
        suspended=suspended,
        suspended_on=day(3),
        returned=returned,
        away_on=day(8),
        back_on=day(4),
        handed_over=handed,
        taken_over=taken,
        moved=moving,
        moved_on=moved_on,
    )


def _move(ground: GroundFloor, moving: Pairing, on: dt.date) -> dt.date:
    """The transfer, recorded by the old school's officer: the pairing there ends (转学)."""
    old_school = moving.student.school
    services.student_transfer(
        student=moving.student,
        to_school=ground.demo_school,
        on=on,
        reason=MOVE_REASON,
        by=_officer_of(ground, old_school).user,
    )
    moving.refresh_from_db(fields=["ended_on", "end_reason", "end_note"])
    moving.student.school = ground.demo_school
    return on


# --- Inserting ------------------------------------------------------------------------------------


def _insert(ctx: DemoContext, builder: _Builder) -> None:
    """Parents before children: bulk_create sets each row's pk, which the next table's rows use."""
    ctx.insert(School, builder.schools)
    ctx.insert(get_user_model(), builder.users, label="学校教职工账号")
    ctx.insert(Teacher, builder.staff)
    ctx.insert(Household, builder.households)
    ctx.insert(HouseholdMember, builder.members)
    ctx.insert(Student, builder.students)
    ctx.insert(Guardian, builder.guardians)
    ctx.insert(Pairing, builder.pairings)


def _levels_by_stage() -> dict[str, list[HardshipLevel]]:
    levels = {stage: list(HardshipLevel.objects.for_stage(stage).order_by("order")) for stage in Stage.values}
    if not all(levels.values()):
        raise CommandError("没有启用的困难等级:请先运行 migrate(迁移 pairing.0002 载入默认困难等级)。")
    return levels


def _insert_assessments(ctx: DemoContext, builder: _Builder) -> None:
    """One 认定 per student per demo term while they were assessed; the level drifts now and then."""
    rng = ctx.rng
    levels = _levels_by_stage()
    categories = {c.name: c for c in SpecialCategory.objects.filter(is_active=True)}
    assessments, chosen = [], []
    for student, family, left_on in builder.enrolled:
        severity = family.severity
        stage_levels = levels[student.school.stage]
        for term in builder.terms:
            if left_on is not None and term.start_date > left_on:
                break
            if rng.random() < 0.12:
                severity = min(max(severity + rng.choice([-1, 1]), 0), 2)
            decided_on = min(term.start_date + dt.timedelta(days=rng.randint(5, 25)), ctx.today)
            level = stage_levels[min(severity, len(stage_levels) - 1)]
            assessments.append(HardshipAssessment(student=student, term=term, level=level, decided_on=decided_on))
            chosen.append([categories[name] for name in family.categories if name in categories])
    ctx.insert(HardshipAssessment, assessments)
    through = HardshipAssessment.categories.through
    links = [
        through(hardshipassessment_id=a.pk, specialcategory_id=c.pk)
        for a, cats in zip(assessments, chosen, strict=True)
        for c in cats
    ]
    ctx.insert(through, links, label="认定的特殊群体类别")


# The demo school's 资助专干 finds this many students under 14 without consent on the dashboard.
DEMO_CONSENT_MISSING = 3


def _insert_consents(ctx: DemoContext, builder: _Builder, demo_school: School) -> None:
    """知情同意: most students' guardians consented to the processing, recorded by the school's 资助专干
    at the start of a term; at the demo school a few under 14 lack it (the dashboard lists them),
    one consent was withdrawn, and a few families agreed to 典型案例宣传 as well."""
    rng, today = ctx.rng, ctx.today
    officers = {t.school_id: t.user for t in builder.staff if t.user.role == Role.OFFICER}
    first_guardian: dict[int, Guardian] = {}
    for row in builder.guardians:
        first_guardian.setdefault(row.student_id, row)
    start = builder.terms[0].start_date
    missing = withdrawn = 0
    consents: list[GuardianConsent] = []
    for student in builder.students:
        guardian, officer = first_guardian.get(student.pk), officers.get(student.school_id)
        if guardian is None or officer is None:
            continue
        young = is_under_14(student.birth_date, today)
        if student.school_id == demo_school.pk and young and missing < DEMO_CONSENT_MISSING:
            missing += 1
            continue
        given_on = builder.day_between(max(start, student.birth_date), today)
        consent = GuardianConsent(
            student=student,
            scope=ConsentScope.PROCESSING,
            given_on=given_on,
            given_by_name=guardian.name,
            relation=guardian.relation,
            guardian=guardian,
            method=rng.choice(ConsentMethod.values),
            note="签字表存资助档案",
            recorded_by=officer,
        )
        if student.school_id == demo_school.pk and not withdrawn and given_on < today:
            withdrawn += 1
            consent.withdrawn_on = builder.day_between(given_on + dt.timedelta(days=1), today)
            consent.withdrawal_note, consent.withdrawn_by = "家长来电撤回,已登记", officer
        consents.append(consent)
        if rng.random() < 0.05 or (student.school_id == demo_school.pk and rng.random() < 0.15):
            consents.append(
                GuardianConsent(
                    student=student,
                    scope=ConsentScope.PUBLICATION,
                    given_on=given_on,
                    given_by_name=guardian.name,
                    relation=guardian.relation,
                    guardian=guardian,
                    method=ConsentMethod.SIGNED,
                    note="同意以化名宣传",
                    recorded_by=officer,
                )
            )
    ctx.insert(GuardianConsent, consents)


# --- Flush ----------------------------------------------------------------------------------------


def flush(ctx: DemoContext) -> None:
    """Everything this seeder makes (the reference data of migration 0002 stays). Only called when
    the database holds demo data alone (the command checks), so whole tables go."""
    figures.touch_county()
    raw_delete(ctx, HardshipAssessment.categories.through.objects.all(), label="认定的特殊群体类别")
    models = (
        GuardianConsent,
        AssessmentChangeConfirmation,
        AidListExit,
        HardshipAssessment,
        EnrollmentChange,
        Pairing,
        Guardian,
        Student,
        HouseholdMember,
        Household,
        Teacher,
    )
    for model in models:
        raw_delete(ctx, model.objects.all())
    raw_delete(ctx, Closure.objects.filter(school__isnull=False))
    for reference in (School, Term, SchoolYear):
        raw_delete(ctx, reference.objects.all())
