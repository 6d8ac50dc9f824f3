from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_cache_table(sender, using="default", verbosity=1, **kwargs) -> None:
    """The database cache's table (config/caches.py), made by `migrate`:
    createcachetable skips a table that exists and caches of other kinds."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=verbosity)


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self):
        from ops import throttle

        throttle.connect()
        post_migrate.connect(
            _create_cache_table, sender=self, dispatch_uid="ops-cache-table"
        )
