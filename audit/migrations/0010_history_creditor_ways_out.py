from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0009_history_creditor_learning"),
        ("customers", "0007_debtor_page_choices"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalcreditor",
            name="instalment_minimum",
            field=models.DecimalField(
                decimal_places=6,
                default=25,
                help_text="Smallest instalment a debtor may choose, in the claim's "
                "currency",
                max_digits=18,
            ),
        ),
        migrations.AddField(
            model_name="historicalcreditor",
            name="instalment_max_months",
            field=models.PositiveSmallIntegerField(
                default=6,
                help_text="Longest instalment plan a debtor may choose (0: none)",
            ),
        ),
        migrations.AddField(
            model_name="historicalcreditor",
            name="instalment_interest_percent",
            field=models.DecimalField(
                decimal_places=2,
                default=0,
                help_text="Yearly interest on the balance of an instalment plan, in "
                "percent",
                max_digits=5,
            ),
        ),
        migrations.AddField(
            model_name="historicalcreditor",
            name="promise_max_days",
            field=models.PositiveSmallIntegerField(
                default=30,
                help_text="How far ahead a debtor may promise to pay (0: never)",
            ),
        ),
    ]
