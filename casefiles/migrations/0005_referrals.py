# 部门联动 (issue 11, point 4), step 1 of 3: the departments as rows, the referral's new fields (nullable
# until 0006 fills them), its update history, and aid linked to a referral. The old department code
# is kept as department_kind until 0006 has turned it into a ReferralDepartment.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('casefiles', '0004_department_checks'),
        ('pairing', '0008_guardian_consent'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ReferralDepartment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=30, unique=True, verbose_name='部门名称')),
                ('code', models.SlugField(max_length=20, unique=True, verbose_name='代码')),
                ('contact', models.CharField(blank=True, help_text='地址、电话等,印在转介单上', max_length=200, verbose_name='联系方式')),
                ('is_active', models.BooleanField(default=True, verbose_name='启用')),
                ('order', models.PositiveSmallIntegerField(default=100, verbose_name='排序')),
            ],
            options={
                'verbose_name': '转介部门',
                'verbose_name_plural': '转介部门',
                'ordering': ['order', 'name'],
            },
        ),
        migrations.RenameField(model_name='referral', old_name='department', new_name='department_kind'),
        # A default, so that unapplying 0007 can add the column back to rows made since.
        migrations.AlterField(
            model_name='referral',
            name='department_kind',
            field=models.CharField(default='other', max_length=12, verbose_name='转介部门'),
        ),
        migrations.AddField(
            model_name='referral',
            name='department',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='referrals', to='casefiles.referraldepartment', verbose_name='转介部门'),
        ),
        migrations.AddField(
            model_name='referral',
            name='reference',
            field=models.CharField(max_length=24, null=True, verbose_name='转介单编号'),
        ),
        migrations.AddField(
            model_name='referral',
            name='due_on',
            field=models.DateField(null=True, verbose_name='答复期限'),
        ),
        migrations.AddField(
            model_name='referral',
            name='accepted_on',
            field=models.DateField(blank=True, null=True, verbose_name='受理日期'),
        ),
        migrations.AddField(
            model_name='referral',
            name='closed_on',
            field=models.DateField(blank=True, null=True, verbose_name='办结日期'),
        ),
        migrations.AddField(
            model_name='referral',
            name='help_text',
            field=models.TextField(blank=True, default='', verbose_name='获得的帮扶(非资金)'),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='referral',
            name='contact_teacher',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='pairing.teacher', verbose_name='联系教师'),
        ),
        migrations.AlterField(
            model_name='referral',
            name='status',
            field=models.CharField(choices=[('sent', '已发送'), ('accepted', '已受理'), ('resolved', '已办结'), ('declined', '未受理'), ('open', '已转介'), ('in_progress', '办理中'), ('done', '已办结')], default='sent', max_length=12, verbose_name='办理状态'),
        ),
        migrations.AddField(
            model_name='aidreceipt',
            name='referral',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='aid_receipts', to='casefiles.referral', verbose_name='转介'),
        ),
        migrations.CreateModel(
            name='ReferralUpdate',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('on', models.DateField(verbose_name='日期')),
                ('status', models.CharField(choices=[('sent', '已发送'), ('accepted', '已受理'), ('resolved', '已办结'), ('declined', '未受理')], max_length=12, verbose_name='办理状态')),
                ('note', models.TextField(blank=True, verbose_name='办理情况')),
                ('help_text', models.TextField(blank=True, verbose_name='获得的帮扶(非资金)')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='登记时间')),
                ('aid', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='referral_update', to='casefiles.aidreceipt', verbose_name='资助发放')),
                ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='登记人')),
                ('referral', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='updates', to='casefiles.referral', verbose_name='转介')),
            ],
            options={
                'verbose_name': '转介办理记录',
                'verbose_name_plural': '转介办理记录',
                'ordering': ['on', 'pk'],
            },
        ),
    ]
