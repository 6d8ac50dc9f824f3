from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0010_history_creditor_ways_out"),
        ("customers", "0009_portal_second_factor"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalcreditor",
            name="portal_second_factor",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "None"),
                    ("birth_date", "Birth date"),
                    ("postcode", "Postcode"),
                    ("customer_number", "Customer number"),
                ],
                help_text="What a debtor must enter before the debtor page shows "
                "details",
                max_length=20,
            ),
        ),
    ]
