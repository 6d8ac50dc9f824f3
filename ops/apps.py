from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_cache_table(sender, using="default", verbosity=1, **kwargs) -> None:
    """The database cache's tables (config/caches.py), made by `migrate`.

    The configured one, and the production default `django_cache` whatever
    this process uses: a database migrated in development (memory cache) and
    served with DEBUG=false counts there. createcachetable skips a table that
    exists."""
    from django.core.management import call_command

    from config.caches import TABLE

    call_command("createcachetable", database=using, verbosity=verbosity)
    call_command("createcachetable", TABLE, database=using, verbosity=verbosity)


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self):
        from ops import throttle

        throttle.connect()
        post_migrate.connect(
            _create_cache_table, sender=self, dispatch_uid="ops-cache-table"
        )
