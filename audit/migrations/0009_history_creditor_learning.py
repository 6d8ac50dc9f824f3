from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0008_history_step_attachments"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalcreditor",
            name="learning_enabled",
            field=models.BooleanField(
                default=True,
                help_text="Let learned models score this creditor's debtors; off "
                "means rules alone",
            ),
        ),
    ]
