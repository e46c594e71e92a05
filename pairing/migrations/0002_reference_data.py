"""Reference data every install needs: Zaoyang's town-level divisions (from the statistical division
codes in pairing/data/zaoyang_towns.csv), the special-group categories and the default 困难等级."""

import csv
from pathlib import Path

from django.db import migrations

TOWNS_CSV = Path(__file__).resolve().parent.parent / "data" / "zaoyang_towns.csv"

CATEGORIES = [
    "脱贫家庭学生(原建档立卡)",
    "防止返贫监测对象",
    "最低生活保障家庭",
    "特困供养",
    "孤儿及事实无人抚养儿童",
    "烈士子女",
    "残疾学生及残疾人子女",
]
LEVELS = ["特别困难", "困难", "一般困难"]


def town_kind(name: str) -> str:
    if name.endswith("街道"):
        return "street"
    if name.endswith("开发区"):
        return "zone"
    if name.endswith("农场"):
        return "farm"
    return "town"


def load(apps, schema_editor):
    Town = apps.get_model("pairing", "Town")
    SpecialCategory = apps.get_model("pairing", "SpecialCategory")
    HardshipLevel = apps.get_model("pairing", "HardshipLevel")
    with TOWNS_CSV.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            Town.objects.update_or_create(
                code=row["code"].strip(), defaults={"name": row["name"].strip(), "kind": town_kind(row["name"])}
            )
    for order, name in enumerate(CATEGORIES, start=1):
        SpecialCategory.objects.get_or_create(name=name, defaults={"order": order * 10})
    for order, name in enumerate(LEVELS, start=1):
        HardshipLevel.objects.get_or_create(stage="", name=name, defaults={"order": order * 10})


class Migration(migrations.Migration):
    dependencies = [("pairing", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
