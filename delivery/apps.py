from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = "Delivery tracking"

    def ready(self) -> None:
        from delivery import schedules

        schedules.connect()
