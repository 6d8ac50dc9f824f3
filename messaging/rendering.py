"""What a message says: its context from current amounts, and the templates.

The wording comes from `MessageTemplate` rows that managers edit in the admin,
one per action, channel, tone and language (optionally per step and experiment
variant); `template_for` picks the most specific active one (docs/TEMPLATES.md).
The fixed layouts stay in files under `templates/messaging/`: the e-mail HTML
around a stored text body (`email/layout.html`), the letter's page with address
field and claim table (`letter/<language>.html`) and its plain version
(`letter/plain_<language>.txt`).

When no stored template matches, the files are the last resort: the subject
from `<language>/subject.txt`, the body from `<channel>/<language>.txt`, the
e-mail HTML from `email/<language>.html`, with the wording that depends on
action and tone in `<language>/intro.txt`.

The context holds plain values only (dicts, lists, strings, dates, Decimals),
never model instances, because stored templates render it.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from babel import Locale
from babel.dates import format_date
from django.db.models import Q
from django.template.loader import render_to_string, select_template
from django.utils import timezone

from contact.links import unsubscribe_url
from core.calendar import next_working_day
from core.money import ZERO, format_money
from customers.models import Channel
from messaging.templating import SMS_MAX_CHARS, render_source
from payments.selectors import claim_breakdown

# The last line of every e-mail's text: how to stop e-mails (the debtor is then
# reached by the other channels the contact policy allows).
UNSUBSCRIBE_TEXT = {
    "en": "To receive no more e-mails about your account:",
    "de": "Wenn Sie keine E-Mails mehr zu Ihrem Konto erhalten möchten:",
}
LANGUAGES = ("en", "de")
DEFAULT_LANGUAGE = "en"
DEFAULT_VARIANT = "a"

# Where a tone falls back to when no template has it: firmer first, so that a
# fallback does not read softer than the step's tone floor allows.
TONE_FALLBACK = {
    "empathetic": ("neutral", "firm"),
    "neutral": ("firm", "empathetic"),
    "firm": ("neutral", "empathetic"),
}
CHANNEL_FALLBACK = {"whatsapp": ("sms",)}

# Firmness of the actions, for the wording of a message that lists several.
ACTION_ORDER = ("reminder", "notice", "final_notice", "handover")

ACTION_LABELS = {
    "en": {
        "reminder": "Payment reminder",
        "notice": "Dunning notice",
        "final_notice": "Final notice",
        "handover": "Notice of handover",
    },
    "de": {
        "reminder": "Zahlungserinnerung",
        "notice": "Mahnung",
        "final_notice": "Letzte Mahnung",
        "handover": "Ankündigung der Abgabe",
    },
}

PAYMENT_OPTION_LABELS = {
    "en": {
        "bank_transfer": "Bank transfer",
        "card": "Credit or debit card",
        "direct_debit": "Direct debit",
        "instalments": "Pay in instalments",
        "paypal": "PayPal",
    },
    "de": {
        "bank_transfer": "Überweisung",
        "card": "Kredit- oder Debitkarte",
        "direct_debit": "Lastschrift",
        "instalments": "Ratenzahlung",
        "paypal": "PayPal",
    },
}

# What happens when a final notice or handover goes unpaid, for `consequence`.
CONSEQUENCES = {
    "en": {
        "final_notice": (
            "If we do not receive payment by {deadline}, we will hand the claim "
            "over to a collection agency, which will cause further costs for you."
        ),
        "handover": (
            "Unless we receive the full amount by {deadline}, the claim goes to a "
            "collection agency, which will cause further costs for you."
        ),
    },
    "de": {
        "final_notice": (
            "Geht Ihre Zahlung nicht bis zum {deadline} ein, übergeben wir die "
            "Forderung einem Inkassounternehmen, wodurch Ihnen weitere Kosten "
            "entstehen."
        ),
        "handover": (
            "Geht der volle Betrag nicht bis zum {deadline} ein, geht die "
            "Forderung an ein Inkassounternehmen, wodurch Ihnen weitere Kosten "
            "entstehen."
        ),
    },
}
AND = {"en": "and", "de": "und"}

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_BRAND_COLOUR = "#1f4e79"


# Countries whose addresses put the postcode after the town, on its own line.
POSTCODE_LAST = {"GB", "IE", "US", "CA", "AU", "NZ", "JP"}


def postal_address(customer, *, language: str, sender_country: str) -> list[str]:
    """The recipient's address lines; the country in capitals when abroad."""
    if customer.country in POSTCODE_LAST:
        lines = [customer.name, customer.street, customer.city, customer.postcode]
    else:
        town = f"{customer.postcode} {customer.city}".strip()
        lines = [customer.name, customer.street, town]
    if customer.country and customer.country != sender_country:
        territories = Locale.parse(language).territories
        lines.append(territories.get(customer.country, customer.country).upper())
    return [line for line in lines if line]


def message_language(message) -> str:
    language = (message.language or message.customer.language or "").lower()[:2]
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def firmest_action(actions) -> str:
    known = [a for a in actions if a in ACTION_ORDER]
    return max(known, key=ACTION_ORDER.index) if known else "reminder"


def _label(labels: dict, language: str, code: str) -> str:
    return labels[language].get(code) or code.replace("_", " ").capitalize()


def action_label(action: str, language: str) -> str:
    return _label(ACTION_LABELS, language, action)


def _date(day: date, language: str, format: str = "long") -> str:
    return format_date(day, format=format, locale=language)


def consequence_text(action: str, language: str, deadline_display: str) -> str:
    sentences = CONSEQUENCES.get(language, CONSEQUENCES[DEFAULT_LANGUAGE])
    return sentences.get(action, "").format(deadline=deadline_display)


def format_total(totals: list[dict], language: str) -> str:
    """Every currency's open total in one phrase: "€42.50 and $15.50"."""
    displays = [total["display"] for total in totals]
    if len(displays) < 2:
        return "".join(displays)
    joiner = AND.get(language, AND[DEFAULT_LANGUAGE])
    return f"{', '.join(displays[:-1])} {joiner} {displays[-1]}"


def _creditor_values(creditor) -> dict:
    fields = ("name", "legal_name", "street", "postcode", "city", "country")
    fields += ("email", "phone", "iban", "bic")
    return {name: getattr(creditor, name) or "" for name in fields}


def _customer_values(customer) -> dict:
    fields = ("name", "kind", "external_id", "city", "country")
    return {name: getattr(customer, name) or "" for name in fields}


def build_context(message, token_url: str, *, items=None, now=None) -> dict:
    """Everything a template may show, with the claims' amounts as of now.

    `items` are the message items still to be sent (all of them by default);
    dates are the creditor's local dates.
    """
    creditor = message.creditor
    customer = message.customer
    language = message_language(message)
    today = (now or timezone.now()).astimezone(creditor.zone).date()
    if items is None:
        items = list(
            message.items.select_related("invoice", "case_step__step").order_by(
                "invoice__due_on", "id"
            )
        )

    rows = []
    totals: dict[str, Decimal] = {}
    payment_days = 0
    steps = []
    for item in items:
        invoice = item.invoice
        breakdown = claim_breakdown(invoice)
        reductions = (
            breakdown.paid
            + breakdown.credited
            + breakdown.waived
            + breakdown.written_off
        )
        amounts = {
            "principal": breakdown.principal,
            # Everything that reduced the claim, so that the row adds up.
            "paid": reductions,
            "fees": breakdown.fees,
            "interest": breakdown.interest,
            "open": breakdown.open,
        }
        rows.append(
            {
                "number": invoice.number,
                "issued_on": invoice.issued_on,
                "issued_on_display": _date(invoice.issued_on, language, "medium"),
                "due_on": invoice.due_on,
                "due_on_display": _date(invoice.due_on, language, "medium"),
                "level": item.level,
                "action": item.action,
                "action_label": _label(ACTION_LABELS, language, item.action),
                "currency": invoice.currency,
                "amounts": amounts,
                "display": {
                    key: format_money(value, invoice.currency, language)
                    for key, value in amounts.items()
                },
                "has_costs": breakdown.fees > 0 or breakdown.interest > 0,
                # Rate, principal and days behind the interest, in the reader's
                # language: "12.50 % p.a. on €1,000.00, 30 days (act/365)".
                "interest_detail": breakdown.interest_text(language),
            }
        )
        totals[invoice.currency] = totals.get(invoice.currency, ZERO) + breakdown.open
        payment_days = max(payment_days, item.case_step.step.payment_days)
        steps.append((item.action, item.level, item.case_step.step_id))

    action = firmest_action(row["action"] for row in rows)
    # The step a template may be written for: the firmest listed one.
    firmest = [step for step in steps if step[0] == action]
    step_id = max(firmest, key=lambda step: step[1])[2] if firmest else None
    # One deadline for the whole message: the longest any listed step grants,
    # so that no claim gets less time than its step promises; a deadline on a
    # weekend or public holiday moves to the next working day.
    deadline = next_working_day(
        today + timedelta(days=payment_days), creditor.country, creditor.subdivision
    )
    colour = (
        creditor.brand_color if HEX_COLOUR.match(creditor.brand_color or "") else ""
    )
    deadline_display = _date(deadline, language)
    total_rows = [
        {
            "currency": currency,
            "amount": amount,
            "display": format_money(amount, currency, language),
        }
        for currency, amount in totals.items()
    ]
    return {
        "channel": message.channel,
        "language": language,
        "tone": message.tone,
        "action": action,
        "action_label": _label(ACTION_LABELS, language, action),
        "creditor": _creditor_values(creditor),
        "customer": _customer_values(customer),
        "brand_colour": colour or DEFAULT_BRAND_COLOUR,
        "items": rows,
        "totals": total_rows,
        "total": format_total(total_rows, language),
        "reference": ", ".join(row["number"] for row in rows),
        "payment_options": [
            {"code": code, "label": _label(PAYMENT_OPTION_LABELS, language, code)}
            for code in (message.decision.payment_options or [])
        ],
        "place": creditor.city,
        "address_lines": postal_address(
            customer, language=language, sender_country=creditor.country
        ),
        "today": today,
        "today_display": _date(today, language),
        "deadline": deadline,
        "deadline_display": deadline_display,
        "consequence": consequence_text(action, language, deadline_display),
        "link": token_url,
        # Signed, without expiry: e-mails carry it in the footer and in the
        # List-Unsubscribe header (contact.links).
        "unsubscribe_link": (
            unsubscribe_url(customer, Channel.EMAIL)
            if message.channel == Channel.EMAIL
            else ""
        ),
        "compact": False,
        # For the file templates only; a stored template cannot include files.
        "intro_template": f"messaging/{language}/intro.txt",
        # Template names cannot start with "_": these choose, never print.
        "_step_id": step_id,
    }


def _tidy(text: str) -> str:
    """Plain text from a template: no trailing blanks, at most one empty line."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def template_for(*, action, step_id, channel, tone, language, variant):
    """The active stored template for a message, or None for the files.

    Most specific first: the debtor's language before English, the channel
    before its fallback (WhatsApp uses SMS wording), the tone before its
    neighbours, the experiment's variant before "a", the step before any step
    with the action.
    """
    from messaging.models import MessageTemplate

    languages = list(dict.fromkeys([language, DEFAULT_LANGUAGE]))
    channels = [channel, *CHANNEL_FALLBACK.get(channel, ())]
    tones = [tone, *TONE_FALLBACK.get(tone, ())]
    variants = list(dict.fromkeys([variant or DEFAULT_VARIANT, DEFAULT_VARIANT]))
    candidates = MessageTemplate.objects.filter(
        Q(step__isnull=True) | Q(step_id=step_id),
        active=True,
        action=action,
        channel__in=channels,
        tone__in=tones,
        language__in=languages,
        variant__in=variants,
    )

    def rank(template):
        return (
            languages.index(template.language),
            channels.index(template.channel),
            tones.index(template.tone),
            variants.index(template.variant),
            template.step_id is None,
        )

    return min(candidates, key=rank, default=None)


@dataclass
class Wording:
    """Subject and body of a message, from a stored template or the files."""

    channel: str
    language: str
    template: object | None = None

    def subject(self, context: dict) -> str:
        if self.template is not None:
            text = render_source(self.template.subject, context, autoescape=False)
        else:
            text = render_to_string(f"messaging/{self.language}/subject.txt", context)
        return _one_line(text)

    def body(self, context: dict) -> str:
        if self.template is not None:
            return render_source(self.template.body, context, autoescape=False)
        channel = self.channel
        fallback = "sms" if channel in ("sms", "whatsapp") else "email"
        names = [f"messaging/{channel}/{self.language}.txt"]
        names.append(f"messaging/{fallback}/{self.language}.txt")
        return select_template(names).render(context)

    def email_html(self, context: dict, text: str) -> str:
        if self.template is None:
            return render_to_string(f"messaging/email/{self.language}.html", context)
        content = ""
        if self.template.html_body:
            content = render_source(self.template.html_body, context, autoescape=True)
        return render_to_string(
            "messaging/email/layout.html", {**context, "body": text, "content": content}
        )


def wording_for(message, context: dict) -> Wording:
    template = template_for(
        action=context["action"],
        step_id=context.get("_step_id"),
        channel=message.channel,
        tone=context["tone"],
        language=context["language"],
        variant=message.decision.variant,
    )
    return Wording(message.channel, context["language"], template)


def render(message, context: dict, *, wording: Wording | None = None):
    """Subject, plain text and HTML of a message on its channel.

    SMS and WhatsApp have no HTML (an empty string); a letter's text is the
    plain version of what the PDF says. `wording` renders a given template
    instead of the one `template_for` picks (the admin's preview).
    """
    language = context["language"]
    channel = message.channel
    wording = wording or wording_for(message, context)
    subject = wording.subject({**context, "subject": ""})
    context = {**context, "subject": subject}

    if channel in ("sms", "whatsapp"):
        text = _one_line(wording.body(context))
        if len(text) > SMS_MAX_CHARS:
            text = _one_line(wording.body({**context, "compact": True}))
        if len(text) > SMS_MAX_CHARS:
            raise ValueError(
                f"SMS text has {len(text)} characters, over {SMS_MAX_CHARS}"
            )
        return subject, text, ""

    body = _tidy(wording.body(context))
    if channel == "email" and context.get("unsubscribe_link"):
        # After the template's own text, so a stored template cannot drop it.
        footer = UNSUBSCRIBE_TEXT[language if language in UNSUBSCRIBE_TEXT else "en"]
        body = f"{body.rstrip()}\n\n{footer} {context['unsubscribe_link']}\n"
    if channel == "letter":
        layout = {**context, "body": body}
        text = _tidy(render_to_string(f"messaging/letter/plain_{language}.txt", layout))
        html = render_to_string(f"messaging/letter/{language}.html", layout)
        return subject, text, html
    return subject, body, wording.email_html(context, body)
