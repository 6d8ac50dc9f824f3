from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_debtor_page_choices"),
    ]

    operations = [
        migrations.AddField(
            model_name="creditor",
            name="learning_enabled",
            field=models.BooleanField(
                default=True,
                help_text="Let learned models score this creditor's debtors; off "
                "means rules alone",
            ),
        ),
        migrations.AddField(
            model_name="customer",
            name="objects_to_profiling",
            field=models.BooleanField(
                default=False,
                help_text="Served by rules alone, never scored by a model",
            ),
        ),
    ]
