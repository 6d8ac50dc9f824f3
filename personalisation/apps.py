from django.apps import AppConfig


class PersonalisationConfig(AppConfig):
    name = "personalisation"
    verbose_name = "Personalisation"
