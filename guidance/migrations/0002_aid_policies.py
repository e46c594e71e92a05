"""The aid policies a home visit explains, by stage (the checklist on the home-visit form)."""

from django.db import migrations

POLICIES = [
    ("学前教育幼儿资助(保教费减免、生活补助)", ["preschool"]),
    ("义务教育“两免一补”(免学杂费、免费教科书、寄宿生生活费补助)", ["primary", "junior"]),
    ("农村义务教育学生营养改善计划", ["primary", "junior"]),
    ("普通高中国家助学金", ["senior"]),
    ("普通高中免学杂费", ["senior"]),
    ("中等职业教育国家助学金", ["vocational"]),
    ("中等职业教育免学费", ["vocational"]),
    ("雨露计划职业教育补助", ["vocational"]),
    ("生源地信用助学贷款", ["senior", "vocational"]),
    ("大学新生入学资助", ["senior"]),
    ("学校设立的奖助学金与减免", []),
    ("社会资助与爱心捐助", []),
    ("低保、特困、临时救助等社会救助政策", []),
    ("残疾学生资助与送教上门", []),
]


def load(apps, schema_editor):
    AidPolicy = apps.get_model("guidance", "AidPolicy")
    for order, (name, stages) in enumerate(POLICIES, start=1):
        AidPolicy.objects.get_or_create(name=name, defaults={"stages": stages, "order": order * 10})


class Migration(migrations.Migration):
    dependencies = [("guidance", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
