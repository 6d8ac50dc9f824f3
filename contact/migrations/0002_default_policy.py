"""The product default contact policy, so that managers find it in the admin.

Its values are the model's defaults: 08:00–20:00 in the debtor's zone, working
days only, at most 7 contacts in 7 days, 24 hours between two contacts.
"""

from django.db import migrations

NAME = "Default"


def create(apps, schema_editor):
    ContactPolicy = apps.get_model("contact", "ContactPolicy")
    using = schema_editor.connection.alias
    if not ContactPolicy.objects.using(using).filter(product_default=True).exists():
        ContactPolicy.objects.using(using).create(
            name=NAME,
            product_default=True,
            description="Applies to every creditor without a policy of its own.",
        )


def remove(apps, schema_editor):
    ContactPolicy = apps.get_model("contact", "ContactPolicy")
    ContactPolicy.objects.using(schema_editor.connection.alias).filter(
        name=NAME, product_default=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("contact", "0001_initial")]

    operations = [migrations.RunPython(create, remove)]
