from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles_after_migrate(sender, using, apps=None, **kwargs):
    from django.apps import apps as global_apps

    from audit.roles import sync_roles

    # `flush` (and so transactional tests) sends the signal without `apps`.
    sync_roles(apps=apps or global_apps, using=using)


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit: roles and configuration history"

    def ready(self):
        # After every migrate, when every app's permissions exist: apps added
        # later get their grants without a new data migration.
        post_migrate.connect(
            _sync_roles_after_migrate,
            sender=self,
            dispatch_uid="audit.sync_roles",
        )
