"""Reads of claims: the breakdown of a claim's balance, as every view shows it."""

from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from core.money import ZERO, format_money, round_money
from payments.interest import segment_text
from payments.models import Invoice, LedgerEntry, ledger_sum


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
    # Each interest booking: its days, and per segment the principal, rate, days.
    interest_periods: list = field(default_factory=list)

    def interest_text(self, locale: str = "en") -> str:
        """Rate and days of the booked interest, e.g. "12.50 % p.a. on …, 30 days"."""
        return "; ".join(
            segment_text(segment, self.currency, period["day_count"], locale)
            for period in self.interest_periods
            for segment in period["segments"]
        )

    def as_json(self) -> dict:
        """Amounts as exact strings in the currency's minor units."""
        out = {
            k: (str(round_money(v, self.currency)) if isinstance(v, Decimal) else v)
            for k, v in asdict(self).items()
        }
        out["interest_periods"] = [
            _period_json(period, self.currency) for period in self.interest_periods
        ]
        return out

    def formatted(self, locale: str = "en") -> dict:
        return {
            k: format_money(v, self.currency, locale)
            for k, v in asdict(self).items()
            if isinstance(v, Decimal)
        }


def _interest_period(entry: LedgerEntry) -> dict:
    details = entry.details or {}
    return {
        "booked_on": entry.booked_on,
        "from": entry.accrued_from,
        "to": entry.accrued_to,
        "amount": entry.amount,
        "day_count": details.get("day_count", ""),
        "days": sum(s["days"] for s in details.get("segments", [])),
        "segments": details.get("segments", []),
    }


def claim_breakdowns(invoices) -> dict[int, ClaimBreakdown]:
    """The breakdown of each claim's balance, by kind of ledger row: two queries."""
    invoices = list(invoices)
    ids = [invoice.id for invoice in invoices]
    totals: dict[int, dict[str, Decimal]] = {invoice_id: {} for invoice_id in ids}
    rows = (
        LedgerEntry.objects.filter(invoice_id__in=ids)
        .values_list("invoice_id", "kind")
        .annotate(total=Sum("amount"))
        .values_list("invoice_id", "kind", "total")
    )
    for invoice_id, kind, total in rows:
        totals[invoice_id][kind] = ledger_sum(total)
    periods: dict[int, list] = {invoice_id: [] for invoice_id in ids}
    interest = LedgerEntry.objects.filter(
        invoice_id__in=ids, kind=LedgerEntry.Kind.INTEREST
    ).order_by("booked_on", "id")
    for entry in interest:
        periods[entry.invoice_id].append(_interest_period(entry))

    kind = LedgerEntry.Kind
    result = {}
    for invoice in invoices:
        by_kind = totals[invoice.id]
        result[invoice.id] = ClaimBreakdown(
            principal=by_kind.get(kind.PRINCIPAL, ZERO),
            paid=-by_kind.get(kind.PAYMENT, ZERO),
            credited=-by_kind.get(kind.CREDIT, ZERO),
            fees=by_kind.get(kind.FEE, ZERO),
            interest=by_kind.get(kind.INTEREST, ZERO),
            waived=-by_kind.get(kind.WAIVER, ZERO),
            written_off=-by_kind.get(kind.WRITE_OFF, ZERO),
            open=sum(by_kind.values(), ZERO),
            currency=invoice.currency,
            interest_periods=periods[invoice.id],
        )
    return result


def claim_breakdown(invoice: Invoice) -> ClaimBreakdown:
    return claim_breakdowns([invoice])[invoice.id]


def interest_accrued(invoice: Invoice, on: date):
    """Interest accrued since the last booking up to `on`, not yet on the ledger.

    None when the claim bears no interest or nothing accrued; what a payment on
    `on` would owe on top of the open balance.
    """
    from payments.charges import RateBook, accruals

    if invoice.status != Invoice.Status.OPEN:
        return None
    accrual = accruals([invoice], on, RateBook()).get(invoice.id)
    if accrual is None or not accrual.segments:
        return None
    return accrual


def days_overdue(invoice: Invoice, on: date) -> int:
    from core.calendar import effective_due_date

    effective = effective_due_date(
        invoice.due_on, invoice.creditor.country, invoice.creditor.subdivision
    )
    return max(0, (on - effective).days)


def claim_facts(invoice: Invoice, on: date | None = None) -> dict:
    """Everything a clerk asks about one claim, as `claim_show` and the admin show it.

    `on` is the creditor-local day the overdue days are counted to; empty means
    today in the creditor's time zone. Amounts are `Decimal` in the claim's
    currency; `claim_facts_json` and `claim_facts_lines` render them.
    """
    from core.calendar import effective_due_date
    from dunning.models import Case
    from messaging.models import MessageItem

    creditor = invoice.creditor
    on = on or creditor.local_today()
    breakdown = claim_breakdown(invoice)
    effective_due_on = effective_due_date(
        invoice.due_on, creditor.country, creditor.subdivision
    )
    # A settled claim is no longer late, however long ago it was due.
    overdue = days_overdue(invoice, on) if breakdown.open > 0 else 0
    accrued = interest_accrued(invoice, on)

    case = (
        Case.objects.filter(invoice=invoice)
        .select_related("plan", "current_step")
        .first()
    )
    items = (
        MessageItem.objects.filter(invoice=invoice)
        .select_related("message")
        .order_by("message__scheduled_at", "message_id")
    )
    messages = [
        {
            "id": item.message_id,
            "channel": item.message.channel,
            "status": item.message.status,
            "level": item.level,
            "action": item.action,
            "at": item.message.sent_at or item.message.scheduled_at,
            "sent": item.message.sent_at is not None,
        }
        for item in items
    ]

    current_step = None
    if case and case.current_step:
        current_step = {
            "position": case.current_step.position,
            "name": case.current_step.name,
        }
    return {
        "external_id": invoice.external_id,
        "number": invoice.number,
        "creditor": creditor.name,
        "customer": invoice.customer.name,
        "customer_external_id": invoice.customer.external_id,
        "currency": invoice.currency,
        "principal": breakdown.principal,
        "paid": breakdown.paid,
        "credited": breakdown.credited,
        "fees": breakdown.fees,
        "interest": breakdown.interest,
        "waived": breakdown.waived,
        "written_off": breakdown.written_off,
        "open": breakdown.open,
        "interest_periods": breakdown.interest_periods,
        "interest_accrued": (
            {
                "from": accrued.first_day,
                "to": accrued.last_day,
                "days": accrued.days,
                "day_count": accrued.day_count,
                "segments": [s.as_json(accrued.currency) for s in accrued.segments],
                "amount": accrued.total,
            }
            if accrued
            else None
        ),
        "status": invoice.status,
        "case_id": case.pk if case else None,
        "case_state": case.state if case else None,
        "plan": case.plan.name if case else None,
        "current_step": current_step,
        "last_step_on": case.last_step_on if case else None,
        "issued_on": invoice.issued_on,
        "due_on": invoice.due_on,
        "effective_due_on": effective_due_on,
        "as_of": on,
        "days_overdue": overdue,
        "time_zone": creditor.time_zone,
        "messages": messages,
    }


CLAIM_AMOUNTS = (
    "principal",
    "paid",
    "credited",
    "fees",
    "interest",
    "waived",
    "written_off",
    "open",
)


def claim_facts_json(facts: dict) -> dict:
    """The facts as JSON-safe values: amounts as exact strings in minor units."""
    currency = facts["currency"]
    out = {}
    for key, value in facts.items():
        if key in CLAIM_AMOUNTS:
            value = str(round_money(value, currency))
        elif isinstance(value, date):
            value = value.isoformat()
        out[key] = value
    out["messages"] = [
        {**message, "at": message["at"].isoformat()} for message in facts["messages"]
    ]
    out["interest_periods"] = [
        _period_json(period, currency) for period in facts["interest_periods"]
    ]
    if facts["interest_accrued"]:
        out["interest_accrued"] = _period_json(facts["interest_accrued"], currency)
    return out


def _period_json(period: dict, currency: str) -> dict:
    out = {}
    for key, value in period.items():
        if isinstance(value, Decimal):
            value = str(round_money(value, currency))
        elif isinstance(value, date):
            value = value.isoformat()
        out[key] = value
    return out


def _interest_line(facts: dict, locale: str) -> str:
    """The interest amount with the rate and days of each period behind it."""
    currency = facts["currency"]
    text = format_money(facts["interest"], currency, locale)
    details = "; ".join(
        segment_text(segment, currency, period["day_count"], locale)
        for period in facts["interest_periods"]
        for segment in period["segments"]
    )
    return f"{text} ({details})" if details else text


def claim_facts_lines(facts: dict, locale: str = "en") -> list[tuple[str, str]]:
    """Label and text per fact, the same in the admin and on the command line."""
    from dunning.models import Case

    currency = facts["currency"]

    def money(key: str) -> str:
        return format_money(facts[key], currency, locale)

    step = facts["current_step"]
    state = facts["case_state"]
    if state:
        state = f"{Case.State(state).label} (case {facts['case_id']}, {facts['plan']})"
    lines = [
        ("Claim", f"{facts['number']} (external id {facts['external_id']})"),
        ("Creditor", facts["creditor"]),
        (
            "Customer",
            f"{facts['customer']} ({facts['customer_external_id']})",
        ),
        ("Currency", currency),
        ("Principal", money("principal")),
        ("Paid", money("paid")),
        ("Credited", money("credited")),
        ("Fees", money("fees")),
        ("Interest", _interest_line(facts, locale)),
    ]
    # Waivers and write-offs are rare; list them only when they happened.
    if facts["waived"]:
        lines.append(("Waived", money("waived")))
    if facts["written_off"]:
        lines.append(("Written off", money("written_off")))
    lines.append(("Open balance", money("open")))
    accrued = facts["interest_accrued"]
    if accrued:
        details = "; ".join(
            segment_text(segment, currency, accrued["day_count"], locale)
            for segment in accrued["segments"]
        )
        lines.append(
            (
                "Interest accruing",
                f"{format_money(accrued['amount'], currency, locale)} to "
                f"{accrued['to'].isoformat()}, not yet booked ({details})",
            )
        )
    as_of = facts["as_of"].isoformat()
    if facts["as_of"] < facts["issued_on"]:
        # The claim did not exist yet that day: it had no status, case or step.
        lines += [
            ("Status", f"Not issued yet on {as_of}"),
            ("Case state", f"none on {as_of}"),
            ("Current step", "none"),
        ]
        overdue = f"none, not issued yet on {as_of} ({facts['time_zone']})"
    else:
        lines += [
            ("Status", Invoice.Status(facts["status"]).label),
            ("Case state", state or "no case"),
            ("Current step", f"#{step['position']} {step['name']}" if step else "none"),
        ]
        overdue = f"{facts['days_overdue']} (as of {as_of}, {facts['time_zone']})"
    lines += [
        ("Issue date", facts["issued_on"].isoformat()),
        ("Due date", facts["due_on"].isoformat()),
        ("Effective due date", facts["effective_due_on"].isoformat()),
        ("Days overdue", overdue),
    ]
    return lines


def claim_message_lines(facts: dict) -> list[str]:
    """One line per message listing the claim, in the creditor's time zone."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(facts["time_zone"])
    return [
        f"{m['at'].astimezone(zone):%Y-%m-%d %H:%M} {m['channel']} {m['status']} "
        f"(level {m['level']}, {m['action']}, message {m['id']})"
        for m in facts["messages"]
    ]
