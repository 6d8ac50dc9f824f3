"""Reads of claims: the breakdown of a claim's balance, as every view shows it."""

from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from core.money import ZERO, format_money
from payments.models import Invoice, LedgerEntry


@dataclass
class ClaimBreakdown:
    principal: Decimal
    paid: Decimal
    credited: Decimal
    fees: Decimal
    interest: Decimal
    waived: Decimal
    written_off: Decimal
    open: Decimal
    currency: str

    def as_json(self) -> dict:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}

    def formatted(self, locale: str = "en") -> dict:
        return {
            k: format_money(v, self.currency, locale)
            for k, v in asdict(self).items()
            if isinstance(v, Decimal)
        }


def claim_breakdown(invoice: Invoice) -> ClaimBreakdown:
    totals = dict(
        LedgerEntry.objects.filter(invoice=invoice)
        .values_list("kind")
        .annotate(total=Sum("amount"))
        .values_list("kind", "total")
    )
    kind = LedgerEntry.Kind
    return ClaimBreakdown(
        principal=totals.get(kind.PRINCIPAL, ZERO),
        paid=-totals.get(kind.PAYMENT, ZERO),
        credited=-totals.get(kind.CREDIT, ZERO),
        fees=totals.get(kind.FEE, ZERO),
        interest=totals.get(kind.INTEREST, ZERO),
        waived=-totals.get(kind.WAIVER, ZERO),
        written_off=-totals.get(kind.WRITE_OFF, ZERO),
        open=sum(totals.values(), ZERO),
        currency=invoice.currency,
    )


def days_overdue(invoice: Invoice, on: date) -> int:
    from core.calendar import effective_due_date

    effective = effective_due_date(
        invoice.due_on, invoice.creditor.country, invoice.creditor.subdivision
    )
    return max(0, (on - effective).days)
