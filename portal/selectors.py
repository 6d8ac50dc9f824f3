"""Reads for the debtor page: open claims per currency, what a checkout paid."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum

from core.money import ZERO
from payments.models import Invoice, LedgerEntry
from payments.selectors import ClaimBreakdown, claim_breakdowns
from portal.models import Checkout


@dataclass
class OpenClaim:
    invoice: Invoice
    breakdown: ClaimBreakdown


@dataclass
class CurrencyGroup:
    """A customer's open claims in one currency: what one payment can settle."""

    currency: str
    claims: list[OpenClaim] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((c.breakdown.open for c in self.claims), ZERO)


def open_claims_by_currency(customer) -> list[CurrencyGroup]:
    """Open claims of a customer, oldest due first, grouped by currency."""
    invoices = list(
        Invoice.objects.filter(
            customer=customer, status=Invoice.Status.OPEN, open_amount__gt=0
        ).order_by("currency", "due_on", "id")
    )
    breakdowns = claim_breakdowns(invoices)
    groups: dict[str, CurrencyGroup] = {}
    for invoice in invoices:
        group = groups.setdefault(invoice.currency, CurrencyGroup(invoice.currency))
        group.claims.append(OpenClaim(invoice, breakdowns[invoice.id]))
    return list(groups.values())


@dataclass
class PaidClaim:
    invoice: Invoice
    paid: Decimal


def checkout_paid_claims(checkout: Checkout) -> list[PaidClaim]:
    """The claims a succeeded checkout's payment went to, with the amount each got."""
    if checkout.payment_id is None:
        return []
    paid = dict(
        LedgerEntry.objects.filter(payment_id=checkout.payment_id)
        .values_list("invoice_id")
        .annotate(total=Sum("amount"))
        .values_list("invoice_id", "total")
    )
    invoices = Invoice.objects.filter(id__in=list(paid)).order_by("due_on", "id")
    # Payment rows are negative: they take from what is owed.
    return [PaidClaim(invoice, -paid[invoice.id]) for invoice in invoices]
