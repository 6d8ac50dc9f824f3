"""Who wrote a reply and which cases it is about.

The most specific evidence wins: the message it answers (In-Reply-To or
References naming one of ours), then the sender's e-mail address or phone
number, then claim numbers in the text. A claim number alone identifies the
customer only when every number found belongs to the same one.
"""

from dataclasses import dataclass, field

import phonenumbers

from customers.models import Customer
from dunning.models import Case
from messaging.models import Message
from payments.models import Invoice
from replies.text import claim_number_candidates, message_keys


@dataclass
class Match:
    customer: Customer | None = None
    replied_to: Message | None = None
    cases: list[Case] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def normalise_phone(raw: str) -> str:
    """E.164 for a number in international form; anything else as given."""
    raw = (raw or "").strip()
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return raw
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _senders(channel: str, sender: str) -> list[Customer]:
    if not sender:
        return []
    if channel == "email":
        found = Customer.objects.filter(email__iexact=sender)
    else:
        found = Customer.objects.filter(phone=normalise_phone(sender))
    return list(found.select_related("creditor")[:20])


def _replied_to(in_reply_to: str, references: str) -> Message | None:
    keys = message_keys(in_reply_to, references)
    if not keys:
        return None
    return (
        Message.objects.filter(idempotency_key__in=keys)
        .select_related("customer__creditor")
        .order_by("-scheduled_at")
        .first()
    )


def _claims(texts: list[str], customer_ids: list[int] | None) -> list[Invoice]:
    """Claims whose number appears in the first text that names any."""
    for text in texts:
        candidates = claim_number_candidates(text)
        if not candidates:
            continue
        claims = Invoice.objects.filter(number__in=candidates)
        if customer_ids is not None:
            claims = claims.filter(customer_id__in=customer_ids)
        found = list(claims.select_related("customer__creditor")[:50])
        if found:
            return found
    return []


def match_reply(
    *,
    channel: str,
    sender: str,
    subject: str,
    cleaned_text: str,
    text: str,
    in_reply_to: str = "",
    references: str = "",
) -> Match:
    match = Match()
    match.replied_to = _replied_to(in_reply_to, references)
    by_sender = _senders(channel, sender)

    if match.replied_to is not None:
        known = [match.replied_to.customer]
        match.notes.append(f"answers message {match.replied_to.pk}")
    else:
        known = by_sender
        if len(by_sender) == 1:
            match.notes.append(f"sender is customer {by_sender[0].external_id}")
        elif by_sender:
            match.notes.append(f"sender is used by {len(by_sender)} customers")
        else:
            match.notes.append("sender unknown")

    # What the debtor wrote names the claim best; the quoted history lists every
    # claim of the message answered, so it counts only when nothing else does.
    claims = _claims(
        [f"{subject}\n{cleaned_text}", text],
        [c.pk for c in known] if known else None,
    )
    owners = {claim.customer_id: claim.customer for claim in claims}
    if len(known) == 1:
        match.customer = known[0]
    elif len(owners) == 1:
        match.customer = next(iter(owners.values()))
        match.notes.append("customer found by claim number")
    if match.customer is None:
        return match

    claims = [c for c in claims if c.customer_id == match.customer.pk]
    live = Case.objects.filter(state__in=Case.LIVE).select_related(
        "invoice", "creditor"
    )
    if claims:
        match.cases = list(live.filter(invoice__in=claims).order_by("pk"))
        numbers = ", ".join(sorted(claim.number for claim in claims))
        match.notes.append(f"claims named: {numbers}")
    elif match.replied_to is not None:
        match.cases = list(
            live.filter(invoice__messageitem__message=match.replied_to)
            .distinct()
            .order_by("pk")
        )
        match.notes.append("claims of the message answered")
    else:
        match.cases = list(live.filter(customer=match.customer).order_by("pk"))
        match.notes.append("all live cases of the customer")
    return match
