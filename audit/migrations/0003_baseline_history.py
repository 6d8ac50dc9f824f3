"""A first history record for every configuration row that existed before history.

Without it the first change of such a row (the seeded "Standard" plan, the
statutory interest regimes) would show an "after" without a "before".
"""

from django.db import migrations
from django.utils import timezone

TRACKED = [
    ("dunning", "Plan"),
    ("dunning", "Step"),
    ("customers", "Creditor"),
    ("payments", "InterestRegime"),
    ("payments", "CompensationTier"),
    ("payments", "ReferenceRate"),
    ("payments", "ReferenceRateValue"),
]
REASON = "existing row when history began"


def baseline(apps, schema_editor, tracked=TRACKED):
    using = schema_editor.connection.alias
    now = timezone.now()
    for app_label, name in tracked:
        model = apps.get_model(app_label, name)
        history = apps.get_model("audit", f"Historical{name}")
        fields = [f.attname for f in model._meta.concrete_fields]
        history.objects.using(using).bulk_create(
            [
                history(
                    **{field: getattr(row, field) for field in fields},
                    history_date=now,
                    history_type="+",
                    history_change_reason=REASON,
                )
                for row in model.objects.using(using).iterator()
            ],
            batch_size=500,
        )


def remove_baseline(apps, schema_editor, tracked=TRACKED):
    for _, name in tracked:
        history = apps.get_model("audit", f"Historical{name}")
        history.objects.using(schema_editor.connection.alias).filter(
            history_change_reason=REASON
        ).delete()


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_roles")]

    operations = [migrations.RunPython(baseline, remove_baseline)]
