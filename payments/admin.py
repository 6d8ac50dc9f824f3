"""Admin for claims, payments, credit notes and their ledger.

Money changes only through `payments.services`, which keep `open_amount` and the
ledger in step; here the ledger, payments and credit notes are shown, never edited.
"""

from dataclasses import dataclass
from pathlib import PurePath

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import models
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from core.money import format_money
from dunning.filters import OverdueBucketFilter, search_by_claim
from payments.models import (
    CompensationTier,
    CreditNote,
    InterestRegime,
    Invoice,
    LedgerEntry,
    Payment,
    ProviderPaymentEvent,
    ReferenceRate,
    ReferenceRateValue,
)
from payments.selectors import claim_facts, claim_facts_lines, claim_message_lines


class ReadOnlyMixin:
    """View-only in the admin: rows are written by services, not by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@dataclass(frozen=True)
class DocumentLink:
    name: str
    url: str

    def __str__(self) -> str:
        return PurePath(self.name).name


class DocumentInput(forms.ClearableFileInput):
    """A file input whose "currently" link opens the admin's download view:
    uploaded invoices are personal data and have no public URL."""

    download_url = ""

    def format_value(self, value):
        if value and self.download_url:
            return DocumentLink(str(value), self.download_url)
        return super().format_value(value)


def admin_link(obj, text=None) -> str:
    if obj is None:
        return "-"
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text or str(obj))


def facts_table(facts: dict) -> str:
    """The claim's facts as the `claim_show` command prints them."""
    rows = format_html_join(
        "",
        '<tr><th scope="row">{}</th><td>{}</td></tr>',
        claim_facts_lines(facts),
    )
    return format_html('<table class="claim-facts">{}</table>', rows)


def messages_list(facts: dict) -> str:
    lines = claim_message_lines(facts)
    if not lines:
        return "none"
    items = (
        (reverse("admin:messaging_message_change", args=[m["id"]]), line)
        for m, line in zip(facts["messages"], lines, strict=True)
    )
    return format_html(
        "<ul>{}</ul>", format_html_join("", '<li><a href="{}">{}</a></li>', items)
    )


class LedgerEntryInline(ReadOnlyMixin, admin.TabularInline):
    model = LedgerEntry
    extra = 0
    fields = [
        "booked_on",
        "kind",
        "component",
        "signed_amount",
        "payment",
        "credit_note",
        "case_step",
        "accrued_from",
        "accrued_to",
        "actor",
        "reason",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(
                "invoice", "payment", "credit_note", "case_step__step__plan"
            )
        )

    @admin.display(description="Amount")
    def signed_amount(self, entry):
        return format_money(entry.amount, entry.invoice.currency)


class AllocationInline(LedgerEntryInline):
    """The ledger rows a payment or credit note was split into."""

    verbose_name = "allocation"
    fields = ["invoice", "booked_on", "kind", "component", "signed_amount", "actor"]
    readonly_fields = fields


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "customer",
        "creditor",
        "amount_display",
        "open_display",
        "due_on",
        "status",
        "case_state",
    ]
    list_filter = ["status", OverdueBucketFilter, "currency", "creditor"]
    list_select_related = ["customer", "creditor", "case"]
    # The unfiltered total would be a second count over every claim.
    show_full_result_count = False
    search_fields = [
        "number",
        "external_id",
        "customer__name",
        "customer__external_id",
    ]
    # Only the description and the invoice document are edited here; amounts,
    # dates and status follow from the ledger and the source system.
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "external_id",
                    "creditor",
                    "customer",
                    "description",
                    "document",
                ]
            },
        ),
        ("Balance", {"fields": ["balance"]}),
        (
            "Terms",
            {
                "fields": [
                    "currency",
                    "amount_display",
                    "issued_on",
                    "due_on",
                    "status",
                    "open_display",
                    "settled_on",
                ]
            },
        ),
        ("Case and messages", {"fields": ["case_link", "messages"]}),
        ("Source", {"fields": ["source_facts"], "classes": ["collapse"]}),
    ]
    readonly_fields = [
        "number",
        "external_id",
        "creditor",
        "customer",
        "balance",
        "currency",
        "amount_display",
        "issued_on",
        "due_on",
        "status",
        "open_display",
        "settled_on",
        "case_link",
        "messages",
        "source_facts",
    ]
    inlines = [LedgerEntryInline]
    formfield_overrides = {models.FileField: {"widget": DocumentInput}}

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None and "document" in form.base_fields:
            form.base_fields["document"].widget.download_url = reverse(
                "admin:payments_invoice_document", args=[obj.pk]
            )
        return form

    def get_urls(self):
        document = path(
            "<path:object_id>/document/",
            self.admin_site.admin_view(self.document_view),
            name="payments_invoice_document",
        )
        return [document, *super().get_urls()]

    def document_view(self, request, object_id):
        invoice = self.get_object(request, unquote(object_id))
        if invoice is None or not invoice.document:
            raise Http404("No invoice document.")
        if not self.has_view_permission(request, invoice):
            raise PermissionDenied
        return FileResponse(
            invoice.document.open("rb"),
            as_attachment=True,
            filename=PurePath(invoice.document.name).name,
            content_type="application/pdf",
        )

    def has_add_permission(self, request):
        # Claims are booked through invoice_create (API, import) with their
        # principal ledger row; a bare row here would have no ledger.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        # The same fields as search_fields, looked up per table so that their
        # trigram indexes answer on a million claims; no joins, no duplicates.
        return search_by_claim(queryset, search_term, "id"), False

    def _facts(self, invoice: Invoice) -> dict:
        # Several readonly fields read the same facts; gather them once per page.
        if not hasattr(invoice, "_claim_facts"):
            invoice._claim_facts = claim_facts(invoice)
        return invoice._claim_facts

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, invoice):
        return invoice.display(invoice.amount)

    @admin.display(description="Open amount", ordering="open_amount")
    def open_display(self, invoice):
        return invoice.display(invoice.open_amount)

    @admin.display(description="Case state", ordering="case__state")
    def case_state(self, invoice):
        try:
            return invoice.case.get_state_display()
        except ObjectDoesNotExist:
            return "-"

    @admin.display(description="Balance")
    def balance(self, invoice):
        return facts_table(self._facts(invoice))

    @admin.display(description="Case")
    def case_link(self, invoice):
        try:
            return admin_link(invoice.case)
        except ObjectDoesNotExist:
            return "no case"

    @admin.display(description="Messages")
    def messages(self, invoice):
        return messages_list(self._facts(invoice))


@admin.register(Payment)
class PaymentAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "received_on",
        "customer",
        "creditor",
        "amount_display",
        "unallocated_display",
        "method",
        "source",
        "invoice",
    ]
    list_filter = ["currency", "source", "method", "creditor"]
    list_select_related = ["customer", "creditor", "invoice"]
    search_fields = [
        "external_id",
        "reference",
        "customer__name",
        "customer__external_id",
        "invoice__number",
    ]
    date_hierarchy = "received_on"
    fields = [
        "creditor",
        "customer",
        "external_id",
        "amount_display",
        "currency",
        "received_on",
        "method",
        "source",
        "reference",
        "invoice",
        "unallocated_display",
        "reversed_on",
        "reversal_reason",
        "refunded_display",
        "created_at",
    ]
    readonly_fields = fields
    inlines = [AllocationInline]

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, payment):
        return format_money(payment.amount, payment.currency)

    @admin.display(description="Unallocated", ordering="unallocated_amount")
    def unallocated_display(self, payment):
        return format_money(payment.unallocated_amount, payment.currency)

    @admin.display(description="Refunded")
    def refunded_display(self, payment):
        return format_money(payment.refunded_amount, payment.currency)


@admin.register(ProviderPaymentEvent)
class ProviderPaymentEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """What payment providers' webhooks reported and what was done about it.

    Read by managers and auditors when a payment or reversal is questioned;
    the clerk's role leaves out its view permission (audit/roles.py).
    """

    list_display = ["received_at", "provider", "event_id", "type", "outcome", "payment"]
    list_filter = ["provider", "type"]
    list_select_related = ["payment"]
    search_fields = ["=event_id"]
    date_hierarchy = "received_at"
    fields = ["provider", "event_id", "type", "received_at", "outcome", "payment"]
    readonly_fields = fields


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "external_id",
        "issued_on",
        "invoice",
        "customer",
        "creditor",
        "amount_display",
        "status",
    ]
    list_filter = ["status", "currency", "creditor"]
    list_select_related = ["customer", "creditor", "invoice"]
    search_fields = [
        "external_id",
        "invoice__number",
        "customer__name",
        "customer__external_id",
    ]
    fields = [
        "creditor",
        "customer",
        "invoice",
        "external_id",
        "amount_display",
        "currency",
        "issued_on",
        "status",
        "reason",
        "created_at",
    ]
    readonly_fields = fields
    inlines = [AllocationInline]

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, note):
        return format_money(note.amount, note.currency)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "booked_on",
        "invoice",
        "kind",
        "component",
        "signed_amount",
        "actor",
        "reason",
    ]
    list_filter = ["kind", "component", "invoice__currency"]
    list_select_related = ["invoice"]
    search_fields = ["invoice__number", "invoice__external_id", "actor", "reason"]
    date_hierarchy = "booked_on"
    fields = [
        "invoice",
        "kind",
        "component",
        "signed_amount",
        "booked_on",
        "payment",
        "credit_note",
        "case_step",
        "key",
        "accrued_from",
        "accrued_to",
        "details",
        "actor",
        "reason",
        "created_at",
    ]
    readonly_fields = fields

    @admin.display(description="Amount", ordering="amount")
    def signed_amount(self, entry):
        return format_money(entry.amount, entry.invoice.currency)


# -- Interest regimes and reference rates: data managers edit ----------------


class ReferenceRateValueInline(admin.TabularInline):
    model = ReferenceRateValue
    extra = 1
    fields = ["valid_from", "rate"]


@admin.register(ReferenceRate)
class ReferenceRateAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "current_rate", "source"]
    search_fields = ["name", "code"]
    inlines = [ReferenceRateValueInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("values")

    @admin.display(description="Latest rate")
    def current_rate(self, reference):
        # The prefetched rows are ordered by date; the last one is the latest.
        values = list(reference.values.all())
        if not values:
            return "-"
        latest = values[-1]
        return f"{latest.rate} % from {latest.valid_from}"


@admin.register(ReferenceRateValue)
class ReferenceRateValueAdmin(admin.ModelAdmin):
    """One row per half-year (or change): interest uses it from `valid_from` on."""

    list_display = ["reference", "valid_from", "rate"]
    list_filter = ["reference"]
    list_select_related = ["reference"]
    date_hierarchy = "valid_from"
    ordering = ["reference", "-valid_from"]


class CompensationTierInline(admin.TabularInline):
    model = CompensationTier
    extra = 0
    fields = ["currency", "debt_below", "amount"]


@admin.register(InterestRegime)
class InterestRegimeAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "code",
        "reference",
        "consumer_points",
        "business_points",
        "day_count",
    ]
    list_filter = ["day_count", "reference"]
    list_select_related = ["reference"]
    search_fields = ["name", "code", "legal_basis"]
    fields = [
        "name",
        "code",
        "legal_basis",
        "reference",
        "consumer_points",
        "business_points",
        "day_count",
    ]
    inlines = [CompensationTierInline]
