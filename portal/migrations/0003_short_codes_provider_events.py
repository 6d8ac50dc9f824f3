from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_debtor_ways_out"),
    ]

    operations = [
        migrations.AddField(
            model_name="portallink",
            name="short_code_hash",
            field=models.CharField(max_length=64, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="portallink",
            name="short_code_seal",
            field=models.CharField(blank=True, max_length=96),
        ),
        migrations.CreateModel(
            name="ProviderEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("provider", models.CharField(max_length=20)),
                ("event_id", models.CharField(max_length=255)),
                ("kind", models.CharField(max_length=100)),
                ("received_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("provider", "event_id"), name="provider_event_once"
                    )
                ],
            },
        ),
    ]
