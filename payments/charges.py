"""Interest and statutory compensation as ledger rows, for many claims at once.

The dunning run and `payment_record` both book interest accrued since the last
booking and, for business debtors, the regime's flat compensation. Both work on
batches of claims: the facts they need (principal history, last interest
booking, disputes, rates) are read with a fixed number of queries, the rows are
computed in Python and returned unsaved so that callers write them with
`bulk_create`. Unique keys on the ledger (`interest:<last day>`, `compensation`)
keep each charge to once, even if two processes compute it.
"""

import logging
from collections import defaultdict
from datetime import date
from zoneinfo import ZoneInfo

from django.db.models import Max

from core.money import round_money
from payments.interest import Accrual, RatePeriod, accrue
from payments.models import (
    CompensationTier,
    InterestRegime,
    Invoice,
    LedgerEntry,
    ReferenceRateValue,
)

logger = logging.getLogger(__name__)

Kind = LedgerEntry.Kind
Component = LedgerEntry.Component

COMPENSATION_KEY = "compensation"


def interest_key(accrued_to: date) -> str:
    return f"interest:{accrued_to.isoformat()}"


class RateBook:
    """Interest regimes, their reference rates and compensation tiers, read once."""

    def __init__(self):
        self.regimes = {r.pk: r for r in InterestRegime.objects.all()}
        self.values: dict[int, list[RatePeriod]] = defaultdict(list)
        for value in ReferenceRateValue.objects.order_by("valid_from"):
            self.values[value.reference_id].append(
                RatePeriod(value.valid_from, value.rate)
            )
        self.tiers: dict[int, list[CompensationTier]] = defaultdict(list)
        for tier in CompensationTier.objects.all():
            self.tiers[tier.regime_id].append(tier)

    def regime_for(self, invoice: Invoice) -> InterestRegime | None:
        creditor = invoice.creditor
        if invoice.customer.kind == "business":
            regime_id = creditor.business_interest_regime_id
        else:
            regime_id = creditor.consumer_interest_regime_id
        return self.regimes.get(regime_id) if regime_id else None

    def rates(self, regime: InterestRegime, customer_kind: str) -> list[RatePeriod]:
        """The annual rate per period: reference rate plus the kind's points."""
        points = regime.points_for(customer_kind)
        if regime.reference_id is None:
            return [RatePeriod(date.min, points)]
        return [
            RatePeriod(period.valid_from, period.rate + points)
            for period in self.values[regime.reference_id]
        ]

    def compensation(self, regime: InterestRegime, invoice: Invoice):
        """The tier that applies to the claim, or None."""
        tiers = [t for t in self.tiers[regime.pk] if t.currency == invoice.currency]
        # Tiers with a limit first, lowest limit first; the open-ended one last.
        tiers.sort(key=lambda t: (t.debt_below is None, t.debt_below or 0))
        for tier in tiers:
            if tier.debt_below is None or invoice.amount < tier.debt_below:
                return tier
        return None


def dispute_pauses(invoices) -> dict[int, list[tuple[date, date | None]]]:
    """Per claim, the creditor-local date ranges its case was disputed.

    Read from the case's state log (django-fsm-log): a range begins on the day
    the case entered `disputed` and ends on the day it left (that day bears
    interest again); a case still disputed has an open range.
    """
    from django.contrib.contenttypes.models import ContentType
    from django_fsm_log.models import StateLog

    from dunning.models import Case

    by_case = {
        case_id: invoice_id
        for case_id, invoice_id in Case.objects.filter(
            invoice_id__in=[i.id for i in invoices]
        ).values_list("id", "invoice_id")
    }
    pauses: dict[int, list] = defaultdict(list)
    if not by_case:
        return pauses
    zones = {i.id: ZoneInfo(i.creditor.time_zone) for i in invoices}
    logs = StateLog.objects.filter(
        content_type=ContentType.objects.get_for_model(Case),
        object_id__in=list(by_case),
    ).order_by("timestamp", "id")
    open_since: dict[int, date] = {}
    for log in logs:
        invoice_id = by_case[int(log.object_id)]
        day = log.timestamp.astimezone(zones[invoice_id]).date()
        if log.state == Case.State.DISPUTED and invoice_id not in open_since:
            open_since[invoice_id] = day
        elif log.source_state == Case.State.DISPUTED and invoice_id in open_since:
            pauses[invoice_id].append((open_since.pop(invoice_id), day))
    for invoice_id, begin in open_since.items():
        pauses[invoice_id].append((begin, None))
    return pauses


def accruals(invoices, on: date, book: RateBook) -> dict[int, Accrual]:
    """Interest accrued on each claim since its last booking, up to `on`.

    Claims without an interest regime, or already booked up to `on`, are left
    out. Four queries for any number of claims.
    """
    regimes = {i.id: book.regime_for(i) for i in invoices}
    invoices = [i for i in invoices if regimes[i.id] is not None]
    if not invoices:
        return {}
    ids = [i.id for i in invoices]

    history: dict[int, list] = defaultdict(list)
    for invoice_id, booked_on, amount in LedgerEntry.objects.filter(
        invoice_id__in=ids, component=Component.PRINCIPAL
    ).values_list("invoice_id", "booked_on", "amount"):
        history[invoice_id].append((booked_on, amount))
    booked_to = dict(
        LedgerEntry.objects.filter(invoice_id__in=ids, accrued_to__isnull=False)
        .values_list("invoice_id")
        .annotate(last=Max("accrued_to"))
        .values_list("invoice_id", "last")
    )
    pauses = dispute_pauses(invoices)

    result = {}
    for invoice in invoices:
        regime = regimes[invoice.id]
        # Interest runs from the day after the effective due date.
        start = max(invoice.effective_due_on, booked_to.get(invoice.id, date.min))
        if on <= start:
            continue
        accrual = accrue(
            principal_changes=history[invoice.id],
            start=start,
            end=on,
            rates=book.rates(regime, invoice.customer.kind),
            day_count=regime.day_count,
            currency=invoice.currency,
            pauses=pauses.get(invoice.id, ()),
        )
        if accrual.unrated_days:
            logger.warning(
                "claim %s: no %s rate known for %d days; no interest for them",
                invoice.pk,
                regime.code,
                accrual.unrated_days,
            )
        result[invoice.id] = accrual
    return result


def interest_entries(
    invoices, on: date, *, actor: str, book: RateBook
) -> list[LedgerEntry]:
    """Unsaved interest rows for the claims' interest accrued up to `on`."""
    rows = []
    for invoice_id, accrual in accruals(invoices, on, book).items():
        if accrual.total <= 0:
            # Nothing to book yet: the next booking starts from the same day.
            continue
        rows.append(
            LedgerEntry(
                invoice_id=invoice_id,
                kind=Kind.INTEREST,
                component=Component.INTEREST,
                amount=accrual.total,
                booked_on=on,
                key=interest_key(on),
                accrued_from=accrual.first_day,
                accrued_to=on,
                details=accrual.as_json(),
                actor=actor,
                reason=f"interest {accrual.describe()}"[:300],
            )
        )
    return rows


def _compensation_reason(regime: InterestRegime) -> str:
    basis = regime.legal_basis or regime.name
    return f"flat compensation for recovery costs ({basis})"[:300]


def compensation_entries(
    invoices, on: date, *, actor: str, book: RateBook
) -> list[LedgerEntry]:
    """Unsaved flat-compensation rows for business debtors that have none yet."""
    due = {}
    for invoice in invoices:
        if invoice.customer.kind != "business":
            continue
        regime = book.regime_for(invoice)
        tier = book.compensation(regime, invoice) if regime else None
        if tier is not None:
            due[invoice.id] = (invoice, regime, tier)
    if not due:
        return []
    charged = set(
        LedgerEntry.objects.filter(
            invoice_id__in=list(due), key=COMPENSATION_KEY
        ).values_list("invoice_id", flat=True)
    )
    return [
        LedgerEntry(
            invoice_id=invoice.id,
            kind=Kind.FEE,
            component=Component.COSTS,
            amount=round_money(tier.amount, invoice.currency),
            booked_on=on,
            key=COMPENSATION_KEY,
            actor=actor,
            reason=_compensation_reason(regime),
        )
        for invoice_id, (invoice, regime, tier) in due.items()
        if invoice_id not in charged
    ]
