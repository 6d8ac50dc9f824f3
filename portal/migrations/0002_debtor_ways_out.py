import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        # Only early migrations: audit.0002_roles depends on the latest portal
        # migration, and later customers/payments ones depend on audit.
        ("customers", "0002_initial"),
        ("payments", "0001_initial"),
        ("portal", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="portallink",
            name="language",
            field=models.CharField(blank=True, max_length=8),
        ),
        migrations.CreateModel(
            name="EngagementEvent",
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
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("visit", "Visited the page"),
                            ("language", "Switched language"),
                            ("pay_started", "Started a payment"),
                            ("claims_left_out", "Left claims out of a payment"),
                            ("instalments_previewed", "Previewed instalments"),
                            ("instalments_agreed", "Agreed an instalment plan"),
                            ("promised", "Promised to pay"),
                            ("already_paid", "Says already paid"),
                            ("disputed", "Disputed a claim"),
                            ("preferences", "Changed contact preferences"),
                        ],
                        max_length=24,
                    ),
                ),
                ("details", models.JSONField(blank=True, default=dict)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="customers.customer",
                    ),
                ),
                (
                    "invoice",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="engagement_events",
                        to="payments.invoice",
                    ),
                ),
                (
                    "link",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="portal.portallink",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(
                        fields=["customer", "created_at"], name="engagement_customer"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ClerkTask",
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
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("already_paid", "Debtor says already paid"),
                            ("dispute", "Debtor disputes the claim"),
                            ("left_out", "Debtor left the claim out of a payment"),
                        ],
                        max_length=12,
                    ),
                ),
                (
                    "reason",
                    models.TextField(blank=True, help_text="In the debtor's own words"),
                ),
                ("details", models.JSONField(blank=True, default=dict)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now),
                ),
                ("done_at", models.DateTimeField(blank=True, null=True)),
                ("done_by", models.CharField(blank=True, max_length=150)),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        to="customers.customer",
                    ),
                ),
                (
                    "invoice",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="clerk_tasks",
                        to="payments.invoice",
                    ),
                ),
            ],
            options={
                "ordering": ["done_at", "created_at", "id"],
                "indexes": [
                    models.Index(
                        fields=["done_at", "created_at"], name="clerktask_open"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="SepaMandate",
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
                ("plan_external_id", models.CharField(max_length=100, unique=True)),
                ("iban", models.CharField(max_length=34)),
                ("account_holder", models.CharField(max_length=200)),
                ("reference", models.CharField(max_length=35, unique=True)),
                ("signed_on", models.DateField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        to="customers.customer",
                    ),
                ),
                (
                    "invoice",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sepa_mandates",
                        to="payments.invoice",
                    ),
                ),
            ],
        ),
    ]
