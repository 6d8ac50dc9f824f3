from django.contrib import admin

from customers.models import Creditor, Customer


@admin.register(Creditor)
class CreditorAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "time_zone", "default_currency", "default_plan"]
    search_fields = ["name", "legal_name"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "external_id",
        "creditor",
        "kind",
        "country",
        "language",
        "preferred_channel",
    ]
    list_filter = ["creditor", "kind", "country", "language"]
    list_select_related = ["creditor"]
    search_fields = ["name", "external_id", "email"]
    autocomplete_fields = ["creditor"]
