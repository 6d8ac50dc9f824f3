from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0008_learning_and_profiling"),
    ]

    operations = [
        migrations.AddField(
            model_name="creditor",
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
        migrations.AddField(
            model_name="customer",
            name="birth_date",
            field=models.DateField(blank=True, null=True),
        ),
    ]
