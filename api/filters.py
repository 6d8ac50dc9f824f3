"""Query parameters of the list endpoints (django-filter).

Ids filter as plain numbers: a model-choice filter would validate them
against every creditor's rows and so tell another creditor's ids from
unknown ones. The views' querysets keep each client to its creditors.
"""

import django_filters as filters
from django import forms

from customers.models import Customer
from dunning.models import Case
from messaging.models import Message
from payments.models import CreditNote, InstalmentPlan, Invoice, Payment


class IdFilter(filters.Filter):
    """A row id: a whole number in the range of a database id."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class StrictFilterSet(filters.FilterSet):
    """A parameter that is sent needs a value: `?due_before=` is an error, not
    a filter silently left out."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        empty = [
            name
            for name in self.filters
            if name in self.data and not any(self.data.getlist(name))
        ]
        for name in empty:
            self.form.add_error(name, "Send a value or leave the parameter out.")
        return valid and not empty


class CustomerFilter(StrictFilterSet):
    creditor = IdFilter(field_name="creditor_id")
    external_id = filters.CharFilter()
    updated_after = filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte"
    )

    class Meta:
        model = Customer
        fields = ["creditor", "external_id", "kind", "country"]


class InvoiceFilter(StrictFilterSet):
    creditor = IdFilter(field_name="creditor_id")
    customer = IdFilter(field_name="customer_id")
    customer_external_id = filters.CharFilter(field_name="customer__external_id")
    due_before = filters.DateFilter(field_name="due_on", lookup_expr="lte")
    due_after = filters.DateFilter(field_name="due_on", lookup_expr="gte")
    updated_after = filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte"
    )

    class Meta:
        model = Invoice
        fields = ["creditor", "external_id", "status", "currency", "customer"]


class CreditNoteFilter(StrictFilterSet):
    creditor = IdFilter(field_name="creditor_id")
    invoice = IdFilter(field_name="invoice_id")
    invoice_external_id = filters.CharFilter(field_name="invoice__external_id")

    class Meta:
        model = CreditNote
        fields = ["creditor", "external_id", "status", "invoice"]


class PaymentFilter(StrictFilterSet):
    creditor = IdFilter(field_name="creditor_id")
    customer = IdFilter(field_name="customer_id")
    customer_external_id = filters.CharFilter(field_name="customer__external_id")
    received_after = filters.DateFilter(field_name="received_on", lookup_expr="gte")
    received_before = filters.DateFilter(field_name="received_on", lookup_expr="lte")

    class Meta:
        model = Payment
        fields = ["creditor", "external_id", "customer", "source"]


class CaseFilter(StrictFilterSet):
    creditor = IdFilter(field_name="creditor_id")
    invoice = IdFilter(field_name="invoice_id")
    customer = IdFilter(field_name="customer_id")
    invoice_external_id = filters.CharFilter(field_name="invoice__external_id")
    customer_external_id = filters.CharFilter(field_name="customer__external_id")
    state = filters.MultipleChoiceFilter(choices=Case.State.choices)
    updated_after = filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte"
    )

    class Meta:
        model = Case
        fields = ["creditor", "state", "invoice", "customer"]


class MessageFilter(StrictFilterSet):
    creditor = IdFilter(field_name="creditor_id")
    customer = IdFilter(field_name="customer_id")
    customer_external_id = filters.CharFilter(field_name="customer__external_id")
    invoice_external_id = filters.CharFilter(
        field_name="items__invoice__external_id", distinct=True
    )
    scheduled_after = filters.IsoDateTimeFilter(
        field_name="scheduled_at", lookup_expr="gte"
    )
    scheduled_before = filters.IsoDateTimeFilter(
        field_name="scheduled_at", lookup_expr="lte"
    )

    class Meta:
        model = Message
        fields = ["creditor", "status", "channel", "customer"]


class InstalmentPlanFilter(StrictFilterSet):
    creditor = IdFilter(field_name="creditor_id")
    invoice = IdFilter(field_name="invoice_id")
    invoice_external_id = filters.CharFilter(field_name="invoice__external_id")

    class Meta:
        model = InstalmentPlan
        fields = ["creditor", "external_id", "status", "invoice"]
