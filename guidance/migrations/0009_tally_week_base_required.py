from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("guidance", "0008_tally_week_base_filled")]

    operations = [
        migrations.AlterField(
            model_name="pairingtermtally",
            name="week_base",
            field=models.DateField(verbose_name="起算周一"),
        ),
    ]
