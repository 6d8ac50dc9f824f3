"""The back-office groups: dunning manager, collections clerk, auditor.

Permissions are normally created after all migrations (post_migrate), so they
are created here first for the apps as they stand at this migration. Apps and
models added later get their grants from `audit.roles.sync_roles`, which runs
after every migrate.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_roles(apps, schema_editor):
    from audit.roles import sync_roles

    using = schema_editor.connection.alias
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
        app_config.models_module = None
    sync_roles(apps=apps, using=using)


def delete_roles(apps, schema_editor):
    from audit.roles import ROLES

    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(
        name__in=list(ROLES)
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("dunning", "0005_promise_work_case"),
        # Fixed migrations, never "__latest__": a later migration of these apps
        # would otherwise become a dependency of this one after it was applied
        # (an inconsistent history on every existing database) or a cycle.
        ("messaging", "0001_initial"),
        ("personalisation", "0001_initial"),
        ("portal", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, delete_roles)]
