from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from customers.models import Creditor, Customer, ExtraRecipient


@admin.register(Creditor)
class CreditorAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "country",
        "subdivision",
        "time_zone",
        "default_currency",
        "default_plan",
    ]
    list_filter = ["country", "default_currency"]
    list_select_related = ["default_plan"]
    search_fields = ["name", "legal_name"]
    autocomplete_fields = [
        "default_plan",
        "consumer_interest_regime",
        "business_interest_regime",
    ]
    fieldsets = [
        (None, {"fields": ["name", "legal_name", "email", "phone", "brand_color"]}),
        ("Address", {"fields": ["street", "postcode", "city", "country"]}),
        (
            "Calendar and money",
            {
                "fields": [
                    "subdivision",
                    "time_zone",
                    "default_currency",
                    "iban",
                    "bic",
                ]
            },
        ),
        (
            "Dunning",
            {"fields": ["default_plan", "minimum_amount", "learning_enabled"]},
        ),
        (
            "Interest, fees and payments",
            {
                "fields": [
                    "consumer_interest_regime",
                    "business_interest_regime",
                    "allocation_order",
                    "waive_charges_after_principal",
                ]
            },
        ),
        (
            "Debtor page: ways out",
            {
                "fields": [
                    "instalment_minimum",
                    "instalment_max_months",
                    "instalment_interest_percent",
                    "promise_max_days",
                ]
            },
        ),
        ("Debtor page: access", {"fields": ["portal_second_factor"]}),
    ]


class ExtraRecipientInline(admin.TabularInline):
    """Accounts-payable and copy addresses of a business; `ExtraRecipient.clean`
    refuses them for consumers."""

    model = ExtraRecipient
    extra = 0
    fields = ["kind", "email", "name"]


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
    list_filter = [
        "creditor",
        "kind",
        "country",
        "language",
        "preferred_channel",
        "consent_email",
        "consent_sms",
        "consent_whatsapp",
        "consent_letter",
    ]
    list_select_related = ["creditor"]
    search_fields = ["name", "external_id", "email", "phone"]
    autocomplete_fields = ["creditor"]
    readonly_fields = ["claims", "created_at", "updated_at"]
    inlines = [ExtraRecipientInline]
    fieldsets = [
        (None, {"fields": ["creditor", "external_id", "kind", "name", "claims"]}),
        (
            "Contact",
            {
                "fields": [
                    "email",
                    "phone",
                    "preferred_channel",
                    ("contact_from", "contact_until"),
                ]
            },
        ),
        ("Address", {"fields": ["street", "postcode", "city", "country"]}),
        (
            "Profile",
            {
                "fields": [
                    "language",
                    "time_zone",
                    "birth_year",
                    "birth_date",
                    "customer_since",
                    "segment",
                ]
            },
        ),
        (
            "Consents",
            {
                "fields": [
                    "consent_email",
                    "consent_sms",
                    "consent_whatsapp",
                    "consent_letter",
                    "objects_to_profiling",
                ]
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description="Claims")
    def claims(self, customer):
        if not customer.pk:
            return "-"
        url = reverse("admin:payments_invoice_changelist")
        return format_html(
            '<a href="{}?customer__id__exact={}">{} claims</a>',
            url,
            customer.pk,
            customer.invoices.count(),
        )
