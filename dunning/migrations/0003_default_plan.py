from decimal import Decimal

from django.db import migrations

# The plan that ships with the product: a friendly reminder, two notices and a
# final notice by letter. Managers copy and change it in the admin.
STEPS = [
    (1, "Friendly reminder", "reminder", 3, ["email", "sms", "letter"], "0", "empathetic", 7),
    (2, "First notice", "notice", 14, ["email", "letter"], "2.50", "neutral", 10),
    (3, "Second notice", "notice", 28, ["email", "letter"], "5.00", "neutral", 10),
    (4, "Final notice", "final_notice", 42, ["letter", "email"], "10.00", "firm", 10),
]


def create(apps, schema_editor):
    Plan = apps.get_model("dunning", "Plan")
    Step = apps.get_model("dunning", "Step")
    plan, _ = Plan.objects.get_or_create(
        name="Standard",
        creditor=None,
        defaults={
            "is_default": True,
            "description": "Reminder, first and second notice, final notice by letter.",
        },
    )
    for position, name, action, days, channels, fee, tone, payment_days in STEPS:
        Step.objects.get_or_create(
            plan=plan,
            position=position,
            defaults={
                "name": name,
                "action": action,
                "days_after_due": days,
                "channels": channels,
                "fee": Decimal(fee),
                "tone_floor": tone,
                "payment_days": payment_days,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("dunning", "0002_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
