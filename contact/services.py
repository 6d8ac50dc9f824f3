"""Opt-outs: a debtor asks to hear nothing more on one channel.

Every entry point (the unsubscribe link, an SMS STOP reply, a clerk, an import)
records through `opt_out_record`, which withdraws the consent in the same
transaction; personalisation then skips the channel and the dispatcher cancels
what is still planned on it.
"""

import logging
import re

import phonenumbers
from django.db import transaction
from django.utils import timezone

from contact.models import OptOut
from customers.models import Channel, Customer

logger = logging.getLogger(__name__)

# Whole-message replies that mean "no more SMS", compared without case, spaces
# and punctuation. Only the whole message counts: "Ende des Monats zahle ich"
# is not an opt-out.
STOP_KEYWORDS = frozenset(
    {
        "STOP",
        "STOPP",
        "STOPALL",
        "STOP ALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "OPTOUT",
        "OPT OUT",
        "ABMELDEN",
        "ABBESTELLEN",
        "ENDE",
        "AUSTRAGEN",
    }
)
_NOT_A_LETTER = re.compile(r"[^\w ]+")


def opt_out_record(
    *,
    customer_id: int,
    channel: str,
    source: str,
    actor: str,
    note: str = "",
    at=None,
) -> OptOut:
    """Record the opt-out and withdraw the consent for `channel`.

    A repeat for a channel already opted out (a mail client that posts the
    one-click unsubscribe twice) returns the existing row instead of a new one.
    """
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    if source not in OptOut.Source.values:
        raise ValueError(f"unknown opt-out source {source!r}")
    consent = f"consent_{channel}"

    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        earlier = OptOut.objects.filter(customer=customer, channel=channel).first()
        if earlier is not None and not getattr(customer, consent):
            return earlier
        opt_out = OptOut.objects.create(
            customer=customer,
            channel=channel,
            source=source,
            at=at or timezone.now(),
            note=note[:300],
            actor=actor[:100],
        )
        Customer.objects.filter(pk=customer_id).update(
            **{consent: False, "updated_at": timezone.now()}
        )

    logger.info(
        "customer %s opted out of %s (%s, %s)", customer_id, channel, source, actor
    )
    return opt_out


def normalise_phone(raw: str) -> str:
    """E.164, as numbers are stored on customers; "" for no number at all.

    Providers send the sender in international form, some as "0049…" or with
    spaces; a number without a country code stays as given.
    """
    raw = (raw or "").strip()
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return raw
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_stop_keyword(text: str) -> bool:
    words = _NOT_A_LETTER.sub(" ", text or "").split()
    return " ".join(words).upper() in STOP_KEYWORDS


def record_inbound_keyword(phone: str, text: str, provider: str) -> list[OptOut]:
    """An inbound SMS: a STOP keyword opts every customer with that number out
    of SMS. Returns the opt-outs recorded (empty for any other text).

    The number, not one creditor's customer, asked to stop: a phone shared by
    customers of several creditors is opted out for all of them.
    """
    if not is_stop_keyword(text):
        return []
    number = normalise_phone(phone)
    if not number:
        return []
    customer_ids = list(
        Customer.objects.filter(phone__in={number, phone.strip()}).values_list(
            "pk", flat=True
        )
    )
    if not customer_ids:
        logger.info("STOP from an unknown number via %s", provider)
    return [
        opt_out_record(
            customer_id=customer_id,
            channel=Channel.SMS,
            source=OptOut.Source.SMS_STOP,
            actor=f"sms:{provider}"[:100],
            note=f"replied {text.strip()[:40]!r}",
        )
        for customer_id in customer_ids
    ]
