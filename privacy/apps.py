from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Privacy: export, erasure, retention, staff access"

    def ready(self) -> None:
        from privacy import schedules

        schedules.connect()
