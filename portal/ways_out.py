"""The debtor's ways out of a claim on the debtor page.

Select and pay (claims left out are reported to the creditor), a partial
payment, an instalment plan within the creditor's limits (optionally by SEPA
direct debit), a promise to pay, "I have already paid", a dispute, contact
preferences and the page language. Case changes go through `dunning.services`,
plans through `payments.instalments.instalment_plan_record`; every choice is an
`EngagementEvent`.
"""

import calendar
import functools
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import ROUND_DOWN, Decimal

from babel.dates import format_date
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string

from core.money import PLAIN_DECIMAL, ZERO, format_money, quantum, round_money
from customers.models import Channel, Customer
from dunning.models import Case
from payments.models import InstalmentPlan, Invoice, LedgerEntry
from portal.models import ClerkTask, EngagementEvent, PortalLink, SepaMandate
from portal.texts import TEXTS, page_language, texts_for

logger = logging.getLogger(__name__)

# Case states a debtor may still choose a way out from.
WAYS_OUT_STATES = [Case.State.OPEN, Case.State.IN_DUNNING, Case.State.PAUSED]


class WayOutError(ValueError):
    """A choice the page refuses; nothing was written. The text is for the debtor."""


def event_record(*, link: PortalLink, kind: str, invoice=None, **details):
    """An engagement event of the link's debtor; `details` must hold no free text."""
    return EngagementEvent.objects.create(
        customer_id=link.customer_id,
        link=link,
        kind=kind,
        invoice=invoice,
        details=details,
    )


def _claim(link: PortalLink, invoice_id, t: dict) -> Invoice:
    """An open claim of the link's customer, locked; anything else is refused."""
    try:
        invoice_id = int(invoice_id)
    except (TypeError, ValueError):
        raise WayOutError(t["refused"]) from None
    if not 0 < invoice_id < 2**63:
        # No column holds it: no claim has it, and the database would refuse it.
        raise WayOutError(t["refused"])
    invoice = (
        Invoice.objects.select_for_update()
        .filter(
            pk=invoice_id,
            customer_id=link.customer_id,
            status=Invoice.Status.OPEN,
            open_amount__gt=0,
        )
        .first()
    )
    if invoice is None:
        raise WayOutError(t["refused"])
    return invoice


def _case(invoice: Invoice, t: dict) -> Case:
    """The claim's case if the debtor may still choose a way out for it."""
    case = Case.objects.filter(invoice=invoice, state__in=WAYS_OUT_STATES).first()
    if case is None:
        raise WayOutError(t["way_out_unavailable"])
    return case


def page_language_of(link: PortalLink) -> str:
    """The language the link's page is shown in: switched, else the customer's."""
    return page_language(link.language or link.customer.language)


# Control characters other than tab and line breaks: a NUL makes PostgreSQL
# refuse the row, the others only hide text from the clerk who reads it.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def debtor_text(raw: str, max_length: int) -> str:
    """What the debtor typed, as a clerk can read and the database can store."""
    return CONTROL_CHARACTERS.sub("", raw or "").strip()[:max_length]


# --- Select and pay -------------------------------------------------------------


def partial_amount(raw: str, *, currency: str, t: dict):
    """The amount a debtor typed, or None for "all selected"; refused unless
    positive and in whole minor units. `checkout_start` refuses more than owed."""
    raw = (raw or "").strip().replace(" ", "")
    if not raw:
        return None
    # Both "12,50" and "12.50": the debtor types as they write.
    if "," in raw:
        raw = raw.replace(".", "").replace(",", ".")
    # Decimal also reads "1e2", "NaN", "1_00" and other scripts' digits.
    if not PLAIN_DECIMAL.fullmatch(raw):
        raise WayOutError(t["amount_invalid"])
    try:
        amount = Decimal(raw)
        # quantize raises too: "1e999999" has more digits than the context.
        whole = amount.is_finite() and amount == amount.quantize(quantum(currency))
    except ArithmeticError:
        raise WayOutError(t["amount_invalid"]) from None
    if not whole:
        raise WayOutError(t["amount_invalid"])
    if amount <= 0:
        raise WayOutError(t["amount_invalid"])
    return amount


@transaction.atomic
def claims_left_out_record(
    *, link: PortalLink, paid_ids, currency: str, reason: str, actor: str
) -> list[int]:
    """Report the open claims in `currency` the debtor left out of a payment.

    The creditor sees each one as a clerk task on the claim, with the debtor's
    reason when one was given.
    """
    left_out = list(
        Invoice.objects.filter(
            customer_id=link.customer_id,
            currency=currency,
            status=Invoice.Status.OPEN,
            open_amount__gt=0,
        )
        .exclude(pk__in=[int(i) for i in paid_ids])
        .values_list("pk", flat=True)
    )
    reason = debtor_text(reason, 1000)
    # A second attempt after a cancelled checkout reports nothing twice.
    reported = set(
        ClerkTask.objects.filter(
            kind=ClerkTask.Kind.LEFT_OUT, invoice_id__in=left_out, done_at__isnull=True
        ).values_list("invoice_id", flat=True)
    )
    for invoice_id in left_out:
        if invoice_id in reported:
            continue
        ClerkTask.objects.create(
            kind=ClerkTask.Kind.LEFT_OUT,
            customer_id=link.customer_id,
            invoice_id=invoice_id,
            reason=reason,
            details={"paid_with": sorted(int(i) for i in paid_ids)},
        )
    if left_out:
        event_record(
            link=link,
            kind=EngagementEvent.Kind.CLAIMS_LEFT_OUT,
            left_out=left_out,
            reason_given=bool(reason),
        )
        logger.info("%d claims left out of a payment (%s)", len(left_out), actor)
    return left_out


# --- Instalment plans -----------------------------------------------------------


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass
class ScheduleRow:
    position: int
    due_on: date
    amount: Decimal


@dataclass
class Schedule:
    """A proposed instalment plan: the rows add up to open amount plus interest."""

    invoice: Invoice
    months: int
    interest: Decimal
    rows: list[ScheduleRow] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((r.amount for r in self.rows), ZERO)


def instalment_months_allowed(invoice: Invoice, creditor) -> list[int]:
    """The plan lengths the creditor allows for this claim: 2 to the maximum
    months, each instalment at least the creditor's minimum."""
    minimum = max(Decimal(creditor.instalment_minimum), Decimal("0.01"))
    most = int(invoice.open_amount // minimum)
    return list(range(2, min(creditor.instalment_max_months, most) + 1))


def instalment_preview(*, link: PortalLink, invoice_id, months: int) -> Schedule:
    """The schedule a debtor would agree to; writes only the engagement event."""
    t = texts_for(page_language_of(link))
    invoice = (
        Invoice.objects.select_related("creditor")
        .filter(
            pk=invoice_id,
            customer_id=link.customer_id,
            status=Invoice.Status.OPEN,
            open_amount__gt=0,
        )
        .first()
    )
    if invoice is None:
        raise WayOutError(t["refused"])
    _case(invoice, t)
    schedule = instalment_schedule(
        invoice=invoice, months=months, today=invoice.creditor.local_today(), t=t
    )
    event_record(
        link=link,
        kind=EngagementEvent.Kind.INSTALMENTS_PREVIEWED,
        invoice=invoice,
        months=months,
    )
    return schedule


def instalment_schedule(*, invoice: Invoice, months: int, today: date, t: dict):
    """Equal monthly instalments from a month after today, within the creditor's
    limits.

    Interest is the creditor's yearly rate on the falling balance, one month
    at a time, rounded half up once on the total; the cents that do not divide
    evenly go to the first instalment.
    """
    if months not in instalment_months_allowed(invoice, invoice.creditor):
        raise WayOutError(t["instalments_refused"])
    currency = invoice.currency
    rate = Decimal(invoice.creditor.instalment_interest_percent) / 100
    principal = invoice.open_amount
    # The balance before instalment k is principal × (months - k + 1) / months.
    balance_months = sum(
        (principal * (months - k) / months for k in range(months)), ZERO
    )
    interest = round_money(balance_months * rate / 12, currency)
    total = principal + interest
    step = quantum(currency)
    each = (total / months).quantize(step, rounding=ROUND_DOWN)
    first = total - each * (months - 1)
    rows = [
        ScheduleRow(k, _add_months(today, k), first if k == 1 else each)
        for k in range(1, months + 1)
    ]
    return Schedule(invoice=invoice, months=months, interest=interest, rows=rows)


def iban_check(raw: str, t: dict) -> str:
    """The IBAN in its compact form, validated (checksum, length, country)."""
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    try:
        return IBAN(raw or "").compact
    except SchwiftyException:
        raise WayOutError(t["iban_invalid"]) from None


def _mandate_reference(invoice: Invoice) -> str:
    # SEPA allows 35 characters of A-Z, 0-9 and a few signs; a random tail
    # keeps references unguessable and unique.
    return f"DP{invoice.pk}-{secrets.token_hex(6).upper()}"[:35]


@transaction.atomic
def instalments_agree(
    *,
    link: PortalLink,
    invoice_id,
    months: int,
    iban: str = "",
    account_holder: str = "",
    actor: str,
) -> InstalmentPlan:
    """The debtor confirms an instalment plan: dunning stops while it is kept.

    Interest the plan charges is booked on the claim first, so the instalments
    add up to its open amount as `instalment_plan_record` requires, which also
    puts the case in the plan. A schedule PDF goes to the debtor by e-mail after
    commit.
    """
    from payments.instalments import InstalmentPlanConflict, instalment_plan_record

    t = texts_for(page_language_of(link))
    invoice = _claim(link, invoice_id, t)
    case = _case(invoice, t)
    creditor = invoice.creditor
    today = creditor.local_today()
    schedule = instalment_schedule(invoice=invoice, months=months, today=today, t=t)
    mandate_iban = iban_check(iban, t) if (iban or "").strip() else ""
    holder = debtor_text(account_holder, 200) or link.customer.name
    external_id = f"portal-{invoice.pk}-{secrets.token_hex(4)}"

    if schedule.interest > 0:
        LedgerEntry.objects.create(
            invoice=invoice,
            kind=LedgerEntry.Kind.INTEREST,
            component=LedgerEntry.Component.INTEREST,
            amount=schedule.interest,
            booked_on=today,
            key=f"instalments:{external_id}"[:40],
            details={
                "instalment_plan": external_id,
                "rate_percent": str(creditor.instalment_interest_percent),
                "months": months,
            },
            actor=actor,
        )
        Invoice.objects.filter(pk=invoice.pk).update(
            open_amount=F("open_amount") + schedule.interest
        )
        invoice.refresh_from_db()
    try:
        plan, _ = instalment_plan_record(
            creditor=creditor,
            invoice=invoice,
            external_id=external_id,
            agreed_on=today,
            instalments=[(r.due_on, r.amount) for r in schedule.rows],
            actor=actor,
        )
    except InstalmentPlanConflict:
        raise WayOutError(t["instalments_refused"]) from None
    mandate = None
    if mandate_iban:
        mandate = SepaMandate.objects.create(
            customer_id=link.customer_id,
            invoice=invoice,
            plan_external_id=external_id,
            iban=mandate_iban,
            account_holder=holder,
            reference=_mandate_reference(invoice),
            signed_on=today,
        )
    event_record(
        link=link,
        kind=EngagementEvent.Kind.INSTALMENTS_AGREED,
        invoice=invoice,
        months=months,
        interest=str(schedule.interest),
        sepa=mandate is not None,
    )
    logger.info("case %s: instalment plan %s agreed", case.pk, plan.pk)
    language = page_language_of(link)
    transaction.on_commit(lambda: instalment_confirmation_send(plan.pk, language))
    return plan


def schedule_pdf(plan: InstalmentPlan, language: str) -> bytes:
    """The instalment plan's schedule as a one-page PDF in the debtor's language."""
    from messaging.letters import html_to_pdf

    t = TEXTS[page_language(language)]
    invoice = plan.invoice
    customer = invoice.customer
    mandate = SepaMandate.objects.filter(plan_external_id=plan.external_id).first()
    rows = [
        {
            "position": i.position,
            "due_on": i.due_on,
            "amount": format_money(i.amount, plan.currency, language),
        }
        for i in plan.instalments.order_by("position")
    ]
    html = render_to_string(
        "portal/instalment_schedule_pdf.html",
        {
            "t": t,
            "lang": language,
            "creditor": plan.creditor,
            "customer": customer,
            "invoice": invoice,
            "plan": plan,
            "rows": rows,
            "total": format_money(plan.total, plan.currency, language),
            "plan_for": t["plan_pdf_for"].format(
                number=invoice.number,
                date=format_date(plan.agreed_on, "long", locale=language),
            ),
            "mandate": mandate,
            "mandate_text": (
                t["plan_pdf_mandate"].format(
                    reference=mandate.reference,
                    date=format_date(mandate.signed_on, "long", locale=language),
                    iban_end=mandate.iban[-4:],
                )
                if mandate
                else ""
            ),
        },
    )
    return html_to_pdf(html)


def instalment_confirmation_send(plan_id: int, language: str) -> bool:
    """E-mail the debtor the plan's schedule as PDF; False without an address."""
    plan = InstalmentPlan.objects.select_related("creditor", "invoice__customer").get(
        pk=plan_id
    )
    customer = plan.invoice.customer
    if not customer.email:
        return False
    t = TEXTS[page_language(language)]
    message = EmailMessage(
        subject=t["plan_mail_subject"].format(number=plan.invoice.number),
        body=t["plan_mail_body"].format(
            name=customer.name, creditor=plan.creditor.name
        ),
        to=[customer.email],
        from_email=plan.creditor.email or None,
    )
    message.attach(
        f"instalments-{plan.invoice.number}.pdf",
        schedule_pdf(plan, language),
        "application/pdf",
    )
    message.send()
    logger.info("instalment plan %s confirmed by e-mail", plan.pk)
    return True


# --- Promise to pay, already paid, dispute --------------------------------------


def promise_latest_date(creditor) -> date:
    """The last day a debtor may promise to pay by."""
    return creditor.local_today() + timedelta(days=creditor.promise_max_days)


@transaction.atomic
def promise_make(*, link: PortalLink, invoice_id, promised_on: date, actor: str):
    """The debtor promises to pay the whole open amount by a date the creditor
    allows; dunning pauses until then and resumes if the money does not come."""
    from dunning.services import CaseWorkError, case_promise

    t = texts_for(page_language_of(link))
    invoice = _claim(link, invoice_id, t)
    case = _case(invoice, t)
    today = invoice.creditor.local_today()
    if not (today < promised_on <= promise_latest_date(invoice.creditor)):
        raise WayOutError(t["promise_refused"])
    try:
        promise = case_promise(
            case_id=case.pk,
            promised_on=promised_on,
            amount=invoice.open_amount,
            actor=actor,
        )
    except CaseWorkError:
        raise WayOutError(t["way_out_unavailable"]) from None
    event_record(
        link=link,
        kind=EngagementEvent.Kind.PROMISED,
        invoice=invoice,
        promised_on=promised_on.isoformat(),
    )
    return promise


def _task(kind: str, link: PortalLink, invoice: Invoice, reason: str) -> ClerkTask:
    return ClerkTask.objects.create(
        kind=kind,
        customer_id=link.customer_id,
        invoice=invoice,
        reason=debtor_text(reason, 2000),
    )


@transaction.atomic
def already_paid_report(*, link: PortalLink, invoice_id, note: str, actor: str):
    """The debtor says the claim is paid: dunning pauses a few days and a clerk
    looks for the money."""
    from dunning.services import CaseWorkError, case_pause

    t = texts_for(page_language_of(link))
    invoice = _claim(link, invoice_id, t)
    case = _case(invoice, t)
    until = invoice.creditor.local_today() + timedelta(
        days=settings.PORTAL_ALREADY_PAID_DAYS
    )
    if case.state == Case.State.PAUSED:
        # Already paused (a pause of its own or a promise): the task is enough.
        pass
    else:
        try:
            case_pause(
                case_id=case.pk,
                until=until,
                actor=actor,
                reason="the debtor says the claim is already paid",
            )
        except CaseWorkError:
            raise WayOutError(t["way_out_unavailable"]) from None
    task = _task(ClerkTask.Kind.ALREADY_PAID, link, invoice, note)
    event_record(link=link, kind=EngagementEvent.Kind.ALREADY_PAID, invoice=invoice)
    return task


@transaction.atomic
def dispute_open(*, link: PortalLink, invoice_id, reason: str, actor: str):
    """The debtor disputes the claim: it leaves the dunning flow and a clerk
    answers."""
    from dunning.services import CaseWorkError, case_dispute

    t = texts_for(page_language_of(link))
    reason = debtor_text(reason, 2000)
    if not reason:
        raise WayOutError(t["dispute_reason_missing"])
    invoice = _claim(link, invoice_id, t)
    case = _case(invoice, t)
    try:
        # The state log gets a fixed text: the debtor's words stay on the task.
        case_dispute(case_id=case.pk, reason="disputed on the debtor page", actor=actor)
    except CaseWorkError:
        raise WayOutError(t["way_out_unavailable"]) from None
    task = _task(ClerkTask.Kind.DISPUTE, link, invoice, reason)
    event_record(link=link, kind=EngagementEvent.Kind.DISPUTED, invoice=invoice)
    return task


def clerk_tasks_done(*, task_ids, actor) -> int:
    """Mark open clerk tasks done; returns how many changed."""
    from django.utils import timezone

    from dunning.services import actor_label

    return ClerkTask.objects.filter(pk__in=list(task_ids), done_at__isnull=True).update(
        done_at=timezone.now(), done_by=actor_label(actor)
    )


# --- Contact preferences and the page language ----------------------------------


def _time(raw: str, t: dict) -> time | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise WayOutError(t["preferences_refused"]) from None


@transaction.atomic
def preferences_save(
    *,
    link: PortalLink,
    channel: str,
    contact_from: str,
    contact_until: str,
    language: str,
    actor: str,
) -> Customer:
    """Store the debtor's channel, time window and language on the customer.

    Choosing a channel is consent to be contacted there; personalisation uses
    all three from the next decision on.
    """
    t = texts_for(page_language_of(link))
    customer = Customer.objects.select_for_update().get(pk=link.customer_id)
    if channel and channel not in Channel.values:
        raise WayOutError(t["preferences_refused"])
    if channel and not customer.has_address_for(channel):
        raise WayOutError(t["preferences_no_address"])
    start, end = _time(contact_from, t), _time(contact_until, t)
    if (start is None) != (end is None) or (start and end and start >= end):
        raise WayOutError(t["preferences_refused"])
    if language and language not in TEXTS:
        raise WayOutError(t["preferences_refused"])

    fields = ["contact_from", "contact_until", "updated_at"]
    customer.contact_from, customer.contact_until = start, end
    if channel:
        customer.preferred_channel = channel
        setattr(customer, f"consent_{channel}", True)
        fields += ["preferred_channel", f"consent_{channel}"]
    if language:
        customer.language = language
        fields.append("language")
    customer.save(update_fields=fields)
    if language:
        PortalLink.objects.filter(pk=link.pk).update(language=language)
        link.language = language
    event_record(
        link=link,
        kind=EngagementEvent.Kind.PREFERENCES,
        channel=channel,
        window=[v.isoformat() for v in (start, end) if v],
        language=language,
    )
    logger.info("contact preferences of customer %s saved (%s)", customer.pk, actor)
    return customer


def language_switch(*, link: PortalLink, language: str) -> str:
    """Show this link's page in another language; the customer's own stays."""
    language = page_language(language)
    PortalLink.objects.filter(pk=link.pk).update(language=language)
    link.language = language
    event_record(link=link, kind=EngagementEvent.Kind.LANGUAGE, language=language)
    return language


@functools.lru_cache(maxsize=2048)
def device_class(user_agent: str) -> str:
    """phone, tablet, desktop or unknown (bots too): what the payment options
    may depend on (personalisation/habits.py). The user agent itself is not
    kept: it would help to recognise a person across sites."""
    from user_agents import parse

    if not user_agent:
        return "unknown"
    agent = parse(user_agent[:512])
    if agent.is_bot:
        return "unknown"
    if agent.is_tablet:
        return "tablet"
    if agent.is_mobile:
        return "phone"
    return "desktop" if agent.is_pc else "unknown"


def visit_record(*, link: PortalLink, device: str = "unknown") -> None:
    event_record(link=link, kind=EngagementEvent.Kind.VISIT, device=device)
