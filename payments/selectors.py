"""Reads of claims: the breakdown of a claim's balance, as every view shows it."""

from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from core.money import ZERO, format_money, round_money
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
        return {
            k: (str(v) if isinstance(v, Decimal) else v)
            for k, v in asdict(self).items()
        }

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
        "status": invoice.status,
        "case_id": case.pk if case else None,
        "case_state": case.state if case else None,
        "plan": case.plan.name if case else None,
        "current_step": current_step,
        "last_step_on": case.last_step_on if case else None,
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
    return out


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
        ("Interest", money("interest")),
    ]
    # Waivers and write-offs are rare; list them only when they happened.
    if facts["waived"]:
        lines.append(("Waived", money("waived")))
    if facts["written_off"]:
        lines.append(("Written off", money("written_off")))
    lines += [
        ("Open balance", money("open")),
        ("Status", Invoice.Status(facts["status"]).label),
        ("Case state", state or "no case"),
        ("Current step", f"#{step['position']} {step['name']}" if step else "none"),
        ("Due date", facts["due_on"].isoformat()),
        ("Effective due date", facts["effective_due_on"].isoformat()),
        (
            "Days overdue",
            f"{facts['days_overdue']} (as of {facts['as_of'].isoformat()}, "
            f"{facts['time_zone']})",
        ),
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
