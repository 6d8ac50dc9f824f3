from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API and webhooks"

    def ready(self):
        # Registers the token scheme with drf-spectacular.
        from api import schedules, schema  # noqa: F401

        schedules.connect()
