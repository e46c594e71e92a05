"""Demo data: the context that seeders share, small Chinese name and phone generators, and the
county-wide demo accounts.

``manage.py seed_demo`` walks the installed apps in order and, for each app with a ``demo`` module,
calls its ``seed(ctx)``; so every app seeds its own tables and this lowest layer never imports the
apps above it. A seeder module may also define ``holds_records()`` (does the app hold rows that the
demo must not be mixed into?) and ``flush(ctx)`` (delete the app's demo rows; called in reverse app
order by ``--flush``). Seeders pass what they made to the ones after them through ``ctx.shared``,
keyed by app label (``ctx.shared["pairing"]`` holds the terms, schools, teachers and pairings).

Demo accounts are recognisable by their username: every one starts with ``demo_``.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from types import ModuleType
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.utils.module_loading import module_has_submodule

from .access import Role

DEMO_PASSWORD = "zaoyang2026"  # noqa: S105 - printed on purpose: the demo's published logins
DEMO_PREFIX = "demo_"
BATCH_SIZE = 2000
SCALE_LABELS = {"small": "小规模", "county": "全市规模"}


# --- The context --------------------------------------------------------------------------------


@dataclass
class DemoLogin:
    username: str
    role: str
    school: str = ""


@dataclass
class DemoContext:
    """What every seeder gets: one seeded random generator (never the global one), the scale, the
    day the demo is built around, where to report, and the password hash every demo account shares
    (Argon2 is slow on purpose, so it is computed once)."""

    rng: random.Random
    scale: str
    today: dt.date
    stdout: Any
    password_hash: str
    seed: int = 0
    shared: dict[str, Any] = field(default_factory=dict)
    logins: list[DemoLogin] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    @property
    def is_county(self) -> bool:
        return self.scale == "county"

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def log(self, message: str) -> None:
        self.stdout.write(f"[{self.elapsed:6.1f}s] {message}")

    def insert(self, model: type[models.Model], objs: Sequence[Any], label: str = "") -> list[Any]:
        """bulk_create in batches (no signals: the command writes one audit summary instead)."""
        created = model._default_manager.bulk_create(objs, batch_size=BATCH_SIZE)
        label = label or str(model._meta.verbose_name_plural)
        self.counts[label] = self.counts.get(label, 0) + len(created)
        self.log(f"{label}: {len(created)}")
        return created


# --- Seeder discovery ---------------------------------------------------------------------------


def discover_seeders() -> list[ModuleType]:
    """The ``demo`` modules of the installed apps, in INSTALLED_APPS order (lowest layer first)."""
    seeders = []
    for config in apps.get_app_configs():
        if config.module is None or not module_has_submodule(config.module, "demo"):
            continue
        module = import_module(f"{config.name}.demo")
        if callable(getattr(module, "seed", None)):
            seeders.append(module)
    return seeders


def demo_present() -> bool:
    return get_user_model()._default_manager.filter(username__startswith=DEMO_PREFIX).exists()


def apps_holding_records(seeders: Iterable[ModuleType]) -> list[str]:
    """The names (verbose_name) of the apps whose tables hold records the demo would be mixed into."""
    busy = [s for s in seeders if getattr(s, "holds_records", lambda: False)()]
    configs = [apps.get_containing_app_config(s.__name__) for s in busy]
    return [str(c.verbose_name) for c in configs if c is not None]


def run_seeders(ctx: DemoContext, seeders: Iterable[ModuleType]) -> None:
    for seeder in seeders:
        ctx.log(f"== {seeder.__name__}")
        seeder.seed(ctx)


def flush_seeders(ctx: DemoContext, seeders: Sequence[ModuleType]) -> None:
    """Upper apps first: their rows point at the ground floor's."""
    for seeder in reversed(seeders):
        flush = getattr(seeder, "flush", None)
        if flush is not None:
            ctx.log(f"-- {seeder.__name__}")
            flush(ctx)


def raw_delete(ctx: DemoContext, queryset: models.QuerySet[Any], label: str = "") -> int:
    """DELETE without loading the rows or sending signals: wiping demo data is not a change to a
    person's record, and per-row audit lines for 100,000 rows would dwarf the data itself."""
    deleted = queryset._raw_delete(queryset.db)
    if deleted:
        label = label or str(queryset.model._meta.verbose_name_plural)
        ctx.deleted[label] = ctx.deleted.get(label, 0) + deleted
    return deleted


# --- Names and phones -----------------------------------------------------------------------------

# The hundred most common surnames, most common first (weights fall off with rank).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚"
    "卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_SURNAME_WEIGHTS = [1 / (rank + 4) for rank in range(len(SURNAMES))]
# Given-name characters by generation: children born after 2008, parents, grandparents.
GIVEN = {
    ("child", True): "浩宇轩子博文俊杰涵晨阳昊天睿泽然凯航鑫嘉豪毅锐铭一诚旭志宸奕煜皓梓辰逸翔瑞恒骏彬鹏程",
    ("child", False): "欣怡萱婧涵悦彤梦佳琪妍雨诗思语晴璐瑶颖洁可馨月桐若雅婷雪琳艺紫晓心乐茜蕊曦沐",
    ("adult", True): "伟强磊军勇杰涛明超刚平辉鹏华飞波斌峰亮建国俊龙成海东林志红兵",
    ("adult", False): "芳娜敏静丽艳娟霞婷雪琳燕玲红梅萍英丹慧倩莉琴兰凤云洁",
}
OLD_GIVEN = {
    True: (
        "建国",
        "国强",
        "德华",
        "志刚",
        "建华",
        "国华",
        "德明",
        "长海",
        "春生",
        "金山",
        "永福",
        "保国",
        "文华",
        "振华",
    ),
    False: (
        "秀英",
        "桂英",
        "玉兰",
        "桂兰",
        "凤英",
        "秀兰",
        "玉梅",
        "桂芳",
        "淑珍",
        "秀珍",
        "翠兰",
        "玉珍",
        "春梅",
        "金花",
    ),
}
# Mobile number prefixes of the three carriers (validate_phone only needs 1[3-9]).
PHONE_PREFIXES = [
    str(n) for n in (*range(130, 140), *range(150, 160), 166, 173, 175, 176, 177, 178, *range(180, 190), 191, 198, 199)
]


def surname(rng: random.Random) -> str:
    return rng.choices(SURNAMES, weights=_SURNAME_WEIGHTS)[0]


def given_name(rng: random.Random, *, male: bool, generation: str = "child") -> str:
    """``generation`` is "child", "adult" or "old"; names differ by the decade people were born in."""
    if generation == "old":
        return rng.choice(OLD_GIVEN[male]) if rng.random() < 0.7 else rng.choice(GIVEN[("adult", male)])
    chars = GIVEN[(generation, male)]
    two_chars = rng.random() < (0.75 if generation == "child" else 0.55)
    return "".join(rng.choice(chars) for _ in range(2 if two_chars else 1))


def person_name(rng: random.Random, *, male: bool, generation: str = "child", family: str = "") -> str:
    return (family or surname(rng)) + given_name(rng, male=male, generation=generation)


def mobile(rng: random.Random) -> str:
    """An 11-digit mainland mobile number (validate_phone: 1[3-9] and 9 more digits)."""
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"


# --- Printing -------------------------------------------------------------------------------------


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def table(rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table whose columns line up with Chinese characters (two columns wide each)."""
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def logins_table(logins: Sequence[DemoLogin]) -> str:
    rows = [("用户名", "角色", "密码", "学校")]
    rows += [(x.username, Role(x.role).label, DEMO_PASSWORD, x.school or "全市") for x in logins]
    return table(rows)


# --- This app's seeder: the county-wide accounts --------------------------------------------------


def holds_records() -> bool:
    """Any account that the demo did not make (a real user, or a superuser made by hand)."""
    return get_user_model()._default_manager.exclude(username__startswith=DEMO_PREFIX).exists()


# At county scale the 市资助中心 has several staff: bench/load.py's county users log in as distinct accounts.
COUNTY_SCALE_COUNTY_ACCOUNTS = ("demo_county02", "demo_county03", "demo_county04", "demo_county05")


def seed(ctx: DemoContext) -> None:
    """demo_county (市资助中心) and demo_admin (系统管理员), at county scale demo_county02 to 05 too;
    the school accounts come from pairing."""
    user_model = get_user_model()
    accounts = [
        user_model(
            username="demo_county",
            full_name=person_name(ctx.rng, male=False, generation="adult"),
            phone=mobile(ctx.rng),
            role=Role.COUNTY,
            password=ctx.password_hash,
        ),
        user_model(
            username="demo_admin",
            full_name="演示管理员",
            role=Role.ADMIN,
            is_staff=True,
            is_superuser=True,
            password=ctx.password_hash,
        ),
    ]
    if ctx.is_county:
        # Their own random stream: ctx.rng then draws what it did before, and so does every seeder after.
        rng = random.Random(f"{ctx.seed}-county-accounts")
        accounts += [
            user_model(
                username=username,
                full_name=person_name(rng, male=rng.random() < 0.5, generation="adult"),
                phone=mobile(rng),
                role=Role.COUNTY,
                password=ctx.password_hash,
            )
            for username in COUNTY_SCALE_COUNTY_ACCOUNTS
        ]
    ctx.insert(user_model, accounts, label="市级及管理员账号")
    ctx.logins += [DemoLogin(u.username, u.role) for u in accounts]


def flush(ctx: DemoContext) -> None:
    """The demo accounts, with the rows that point at them (groups, permissions, admin log)."""
    user_model = get_user_model()
    demo_users = user_model._default_manager.filter(username__startswith=DEMO_PREFIX)
    for through in (user_model.groups.through, user_model.user_permissions.through):
        raw_delete(ctx, through.objects.filter(**{f"{user_model._meta.model_name}__in": demo_users}))
    if apps.is_installed("django.contrib.admin"):
        from django.contrib.admin.models import LogEntry

        raw_delete(ctx, LogEntry.objects.filter(user__in=demo_users))
    raw_delete(ctx, demo_users, label="账号")
