# 部门联动, step 3 of 3: once 0006 has filled them, the department, reference and due date are
# required, the old department code goes, and the database holds the referral's rules.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('casefiles', '0006_referrals_data'),
    ]

    operations = [
        migrations.RemoveField(model_name='referral', name='department_kind'),
        migrations.AlterField(
            model_name='referral',
            name='department',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='referrals', to='casefiles.referraldepartment', verbose_name='转介部门'),
        ),
        migrations.AlterField(
            model_name='referral',
            name='reference',
            field=models.CharField(max_length=24, unique=True, verbose_name='转介单编号'),
        ),
        migrations.AlterField(
            model_name='referral',
            name='due_on',
            field=models.DateField(verbose_name='答复期限'),
        ),
        migrations.AlterField(
            model_name='referral',
            name='status',
            field=models.CharField(choices=[('sent', '已发送'), ('accepted', '已受理'), ('resolved', '已办结'), ('declined', '未受理')], default='sent', max_length=12, verbose_name='办理状态'),
        ),
        migrations.AddConstraint(
            model_name='referral',
            constraint=models.CheckConstraint(condition=models.Q(('due_on__gte', models.F('referred_on'))), name='referral_due_after_referred', violation_error_message='答复期限不能早于转介日期。'),
        ),
        migrations.AddConstraint(
            model_name='referral',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('closed_on__isnull', False), ('status__in', ('resolved', 'declined'))), models.Q(('closed_on__isnull', True), ('status__in', ('sent', 'accepted'))), _connector='OR'), name='referral_closed_has_date', violation_error_message='已办结或未受理的转介应有办结日期。'),
        ),
        migrations.AddIndex(
            model_name='referral',
            index=models.Index(fields=['status', 'due_on'], name='referral_open_due'),
        ),
    ]
