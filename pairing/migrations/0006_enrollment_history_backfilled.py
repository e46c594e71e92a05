"""Students who are not 在校 today get a history row, so that the compliance engine (which reads the
dated history) agrees with their status. The day it took effect is not known: the last change of
the student's record is the best estimate, and the reason says so."""

from django.db import migrations


def backfill(apps, schema_editor):
    Student = apps.get_model("pairing", "Student")
    EnrollmentChange = apps.get_model("pairing", "EnrollmentChange")
    rows = [
        EnrollmentChange(
            student=student,
            status=student.enrollment_status,
            effective_on=student.updated_at.date(),
            reason="系统迁移:原学籍状态,生效日期按最后修改日期估计",
        )
        for student in Student.objects.exclude(enrollment_status="enrolled").filter(status_changes__isnull=True)
    ]
    EnrollmentChange.objects.bulk_create(rows, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("pairing", "0005_enrollment_history_and_backdated_pairings")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
