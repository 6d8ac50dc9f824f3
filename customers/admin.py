from django.contrib import admin, messages
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from customers.models import Creditor, Customer, ExtraRecipient
from privacy.erasure import ErasureError, customer_erase, is_manager, open_claims
from privacy.export import customers_zip


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
    actions = ["export_personal_data", "erase_personal_data"]
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
        (
            "Address",
            {"fields": ["street", "postcode", "city", "country", "subdivision"]},
        ),
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

    # Viewing and changing a customer is logged by privacy.access's middleware.

    # What the export holds, a user who may view the customers reads already.
    @admin.action(
        description="Export personal data (GDPR art. 15)", permissions=["view"]
    )
    def export_personal_data(self, request, queryset):
        data = customers_zip(
            queryset.order_by("pk"), user=request.user, page="admin:export"
        )
        response = HttpResponse(data, content_type="application/zip")
        name = f"personal-data-{timezone.now():%Y%m%d-%H%M%S}.zip"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def has_erase_permission(self, request) -> bool:
        return is_manager(request.user)

    @admin.action(
        description="Erase personal data (GDPR art. 17)", permissions=["erase"]
    )
    def erase_personal_data(self, request, queryset):
        customers = list(queryset.order_by("pk"))
        if "confirm" not in request.POST:
            for customer in customers:
                customer.open_claims = open_claims(customer)
            context = {
                **self.admin_site.each_context(request),
                "title": "Erase personal data",
                "customers": customers,
                "opts": self.model._meta,
            }
            return TemplateResponse(
                request, "admin/privacy/erase_confirm.html", context
            )

        erased = 0
        for customer in customers:
            try:
                customer_erase(
                    customer=customer,
                    actor=request.user,
                    reason=request.POST.get("reason", ""),
                    force=bool(request.POST.get("force")),
                )
            except ErasureError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                erased += 1
        if erased:
            self.message_user(request, f"{erased} customer(s) erased.")
        return None
