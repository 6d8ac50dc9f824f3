"""What a message says: its context from current amounts, and the templates.

Templates live under `templates/messaging/`: per channel and language
(`email/en.txt`, `email/en.html`, `sms/de.txt`, `letter/en.html`, ...), with the
wording that depends on action and tone in `<language>/subject.txt` and
`<language>/intro.txt`, shared by every channel.
"""

import re
from datetime import date, timedelta
from decimal import Decimal

from babel import Locale
from babel.dates import format_date
from django.template.loader import render_to_string, select_template
from django.utils import timezone

from core.calendar import next_working_day
from core.money import ZERO, format_money
from payments.selectors import claim_breakdown

LANGUAGES = ("en", "de")
DEFAULT_LANGUAGE = "en"

# An SMS of two concatenated parts; longer texts cost more and arrive split.
SMS_MAX_CHARS = 320

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


def _date(day: date, language: str, format: str = "long") -> str:
    return format_date(day, format=format, locale=language)


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
            }
        )
        totals[invoice.currency] = totals.get(invoice.currency, ZERO) + breakdown.open
        payment_days = max(payment_days, item.case_step.step.payment_days)

    action = firmest_action(row["action"] for row in rows)
    # One deadline for the whole message: the longest any listed step grants,
    # so that no claim gets less time than its step promises; a deadline on a
    # weekend or public holiday moves to the next working day.
    deadline = next_working_day(
        today + timedelta(days=payment_days), creditor.country, creditor.subdivision
    )
    colour = (
        creditor.brand_color if HEX_COLOUR.match(creditor.brand_color or "") else ""
    )
    return {
        "channel": message.channel,
        "language": language,
        "tone": message.tone,
        "action": action,
        "action_label": _label(ACTION_LABELS, language, action),
        "creditor": creditor,
        "customer": customer,
        "brand_colour": colour or DEFAULT_BRAND_COLOUR,
        "items": rows,
        "totals": [
            {
                "currency": currency,
                "amount": amount,
                "display": format_money(amount, currency, language),
            }
            for currency, amount in totals.items()
        ],
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
        "deadline_display": _date(deadline, language),
        "link": token_url,
        "intro_template": f"messaging/{language}/intro.txt",
    }


def _tidy(text: str) -> str:
    """Plain text from a template: no trailing blanks, at most one empty line."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render(message, context: dict) -> tuple[str, str, str]:
    """Subject, plain text and HTML of a message on its channel.

    SMS and WhatsApp have no HTML (an empty string); a letter's text is the
    plain version of what the PDF says.
    """
    language = context["language"]
    channel = message.channel
    subject = _one_line(render_to_string(f"messaging/{language}/subject.txt", context))
    context = {**context, "subject": subject}

    if channel in ("sms", "whatsapp"):
        template = select_template(
            [f"messaging/{channel}/{language}.txt", f"messaging/sms/{language}.txt"]
        )
        text = _one_line(template.render(context))
        if len(text) > SMS_MAX_CHARS:
            text = _one_line(template.render({**context, "compact": True}))
        if len(text) > SMS_MAX_CHARS:
            raise ValueError(
                f"SMS text has {len(text)} characters, over {SMS_MAX_CHARS}"
            )
        return subject, text, ""

    text_template = select_template(
        [f"messaging/{channel}/{language}.txt", f"messaging/email/{language}.txt"]
    )
    text = _tidy(text_template.render(context))
    html = render_to_string(f"messaging/{channel}/{language}.html", context)
    return subject, text, html
