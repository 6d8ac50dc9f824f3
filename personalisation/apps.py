from django.apps import AppConfig


class PersonalisationConfig(AppConfig):
    name = "personalisation"
    verbose_name = "Personalisation"

    def ready(self) -> None:
        from personalisation import schedules

        schedules.connect()
