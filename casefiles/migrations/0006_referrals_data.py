# 部门联动, step 2 of 3 (data only): the departments that were choices become rows (民政, 残联, 团委, 妇联,
# 工会, 乡村振兴 and 其他, the county edits the list in the admin afterwards); each existing referral
# points at its row, its status takes the new names (已转介 -> 已发送, 办理中 -> 已受理, 已办结, 未受理),
# gets a due date REFERRAL_DUE_DAYS after it was sent, a closing date when closed (its referral date:
# the real one was not recorded) and a reference number ZY-<year>-转-<nnnn> in the order it was sent.

import datetime as dt

from django.conf import settings
from django.db import migrations

DEPARTMENTS = [
    ("civil", "民政"),
    ("disabled", "残联"),
    ("youth", "团委"),
    ("women", "妇联"),
    ("union", "工会"),
    ("rural", "乡村振兴"),
    ("other", "其他"),
]
STATUS = {"open": "sent", "in_progress": "accepted", "done": "resolved", "declined": "declined"}


def forward(apps, schema_editor):
    ReferralDepartment = apps.get_model("casefiles", "ReferralDepartment")
    Referral = apps.get_model("casefiles", "Referral")
    by_code = {}
    for order, (code, name) in enumerate(DEPARTMENTS, start=1):
        by_code[code], _ = ReferralDepartment.objects.get_or_create(
            code=code, defaults={"name": name, "order": order * 10}
        )
    due_days = getattr(settings, "REFERRAL_DUE_DAYS", 30)
    numbers = {}
    for referral in Referral.objects.order_by("referred_on", "pk"):
        year = referral.referred_on.year
        numbers[year] = numbers.get(year, 0) + 1
        referral.department = by_code.get(referral.department_kind, by_code["other"])
        referral.status = STATUS.get(referral.status, referral.status)
        referral.reference = f"ZY-{year}-转-{numbers[year]:04d}"
        referral.due_on = referral.referred_on + dt.timedelta(days=due_days)
        if referral.status == "accepted":
            referral.accepted_on = referral.referred_on
        if referral.status in ("resolved", "declined"):
            referral.closed_on = referral.referred_on
        referral.save()


def backward(apps, schema_editor):
    Referral = apps.get_model("casefiles", "Referral")
    back = {new: old for old, new in STATUS.items()}
    for referral in Referral.objects.select_related("department"):
        referral.department_kind = referral.department.code if referral.department_id else "other"
        referral.status = back.get(referral.status, referral.status)
        referral.save()


class Migration(migrations.Migration):

    dependencies = [
        ('casefiles', '0005_referrals'),
    ]

    operations = [migrations.RunPython(forward, backward)]
