"""The debtor page: open claims behind a personal link, and paying them.

Every response carries the portal's security headers (see `portal_view`). A link
that is unknown, expired or revoked gets the same not-found page, so the page
never tells whether a token ever existed.
"""

import logging
import re
import secrets
from functools import wraps

from babel.dates import format_date
from django.contrib import messages
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from core.money import format_money
from delivery.services import link_clicked
from portal.access import link_gate
from portal.models import Checkout, EngagementEvent
from portal.providers import (
    ProviderError,
    TestProvider,
    active_provider,
    form_action_sources,
)
from portal.selectors import checkout_paid_claims, open_claims_by_currency
from portal.services import (
    CheckoutError,
    checkout_cancel,
    checkout_complete,
    checkout_start,
    link_resolve,
)
from portal.texts import page_language, texts_for
from portal.ways_out import (
    WayOutError,
    claims_left_out_record,
    device_class,
    event_record,
    page_language_of,
    partial_amount,
    visit_record,
)

logger = logging.getLogger(__name__)

ACTOR_DEBTOR = "portal:debtor"

# Styles come from the static CSS file; the only inline style is the creditor's
# brand colour, allowed by a nonce that changes with every response.
CSP = (
    "default-src 'self'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    # Chromium applies form-action to the redirect after a POST: a hosted
    # checkout's origin is allowed too (portal.providers.form_action_sources).
    "form-action {form_action}"
)

# Under "no-referrer" Chromium sends "Origin: null" with a form's POST, which
# Django's CSRF check refuses. "same-origin" still gives other sites nothing.
FORM_PAGE_REFERRER_POLICY = "same-origin"

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_BRAND = "#1f4e79"


def portal_view(*methods):
    """Allow only `methods` and add the portal's headers to every response."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            request.csp_nonce = secrets.token_urlsafe(16)
            if request.method not in methods:
                response = HttpResponseNotAllowed(methods)
            else:
                # Rate limit and second factor come first (portal/access.py).
                token = kwargs.get("token")
                response = link_gate(request, token, view=wrapped) if token else None
                if response is None:
                    response = view(request, *args, **kwargs)
            response["Content-Security-Policy"] = CSP.format(
                nonce=request.csp_nonce, form_action=form_action_sources()
            )
            response["X-Robots-Tag"] = "noindex, nofollow"
            # The path holds the token: no other site may see it as a referrer.
            # Pages with a POST form relax it: FORM_PAGE_REFERRER_POLICY.
            response.setdefault("Referrer-Policy", "no-referrer")
            # Amounts owed are private: no copy in shared or browser caches.
            add_never_cache_headers(response)
            if response.status_code >= 400:
                # Django's request log would write the path, and the path holds
                # the token: a credential. Log the outcome without it.
                response._has_been_logged = True
                logger.info(
                    "portal %s %s answered %d",
                    request.method,
                    view.__name__,
                    response.status_code,
                )
            return response

        return wrapped

    return decorate


def _relative_luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of an sRGB colour such as #1f4e79."""
    channels = []
    for i in (1, 3, 5):
        c = int(hex_colour[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def brand_colours(value: str) -> dict[str, str]:
    """The creditor's colour as a background, with the text colour that reads on it.

    The colour is written into a style element, so anything but #rrggbb is
    replaced by the default rather than trusted.
    """
    background = value if HEX_COLOUR.match(value or "") else DEFAULT_BRAND
    luminance = _relative_luminance(background)
    on_white = 1.05 / (luminance + 0.05)
    on_black = (luminance + 0.05) / 0.05
    return {
        "background": background.lower(),
        "text": "#ffffff" if on_white >= on_black else "#000000",
    }


def _not_found(request):
    # The visitor is unknown, so the browser's language is all there is.
    language = page_language(getattr(request, "LANGUAGE_CODE", None))
    context = {"lang": language, "t": texts_for(language)}
    return render(request, "portal/not_found.html", context, status=404)


def _base_context(link) -> dict:
    customer = link.customer
    # A language switched on the page wins over the customer's own.
    language = page_language(link.language or customer.language)
    return {
        "lang": language,
        "t": texts_for(language),
        "customer": customer,
        "creditor": customer.creditor,
        "brand": brand_colours(customer.creditor.brand_color),
    }


def _money(amount, currency: str, language: str) -> str:
    return format_money(amount, currency, language)


def _claim_rows(group, language: str, t: dict) -> list[dict]:
    rows = []
    for claim in group.claims:
        invoice, breakdown = claim.invoice, claim.breakdown
        lines = [
            (t["principal"], breakdown.principal, True),
            (t["paid"], -breakdown.paid, True),
            (t["credited"], -breakdown.credited, bool(breakdown.credited)),
            (t["fees"], breakdown.fees, True),
            (t["interest"], breakdown.interest, True),
            (t["waived"], -breakdown.waived, bool(breakdown.waived)),
            (t["written_off"], -breakdown.written_off, bool(breakdown.written_off)),
        ]
        rows.append(
            {
                "id": invoice.id,
                "title": t["invoice"].format(number=invoice.number),
                "select_label": t["select"].format(number=invoice.number),
                "due_on": format_date(invoice.due_on, "medium", locale=language),
                "lines": [
                    (label, _money(amount, invoice.currency, language))
                    for label, amount, shown in lines
                    if shown
                ],
                "open": _money(breakdown.open, invoice.currency, language),
                "interest_note": breakdown.interest_text(language),
            }
        )
    return rows


def _home_response(request, link, token, *, error: str = "", status: int = 200):
    context = _base_context(link)
    language, t = context["lang"], context["t"]
    groups = open_claims_by_currency(link.customer)
    context.update(
        {
            "groups": [
                {
                    "currency": group.currency,
                    "title": t["group_title"].format(currency=group.currency),
                    "total_label": t["total"].format(currency=group.currency),
                    "total": _money(group.total, group.currency, language),
                    "claims": _claim_rows(group, language, t),
                }
                for group in groups
            ],
            "greeting": t["greeting"].format(name=link.customer.name),
            "intro": t["intro"].format(creditor=link.customer.creditor.name),
            "transfer_reference": ", ".join(
                claim.invoice.number for group in groups for claim in group.claims
            ),
            "can_pay": active_provider() is not None,
            "pay_url": reverse("portal:pay", args=[token]),
            "error": error,
        }
    )
    context.update(_ways_context(link, token, groups, language, t))
    for group in context["groups"]:
        for row in group["claims"]:
            row["ways"] = context["ways"].get(row["id"])
    response = render(request, "portal/home.html", context, status=status)
    # Every overview has a form now (at least the language switch).
    response["Referrer-Policy"] = FORM_PAGE_REFERRER_POLICY
    return response


def _ways_context(link, token, groups, language: str, t: dict) -> dict:
    from portal.ways_views import claim_ways, languages

    invoices = [claim.invoice for group in groups for claim in group.claims]
    return {
        "ways": claim_ways(link, token, invoices, language, t),
        "languages": languages(t, language),
        "language_url": reverse("portal:language", args=[token]),
        "preferences_url": reverse("portal:preferences", args=[token]),
    }


@portal_view("GET", "HEAD")
def home(request, token):
    link = link_resolve(token)
    if link is None:
        return _not_found(request)
    if request.method == "GET":
        # Delivery tracking: the message's link was followed (HEAD is what
        # link checkers send, not the debtor).
        link_clicked(link=link)
        device = device_class(request.META.get("HTTP_USER_AGENT", ""))
        visit_record(link=link, device=device)
    return _home_response(request, link, token)


@portal_view("POST")
def pay(request, token):
    link = link_resolve(token)
    if link is None:
        return _not_found(request)
    provider = active_provider()
    if provider is None:
        return _not_found(request)

    t = texts_for(page_language_of(link))
    currency = request.POST.get("currency", "").upper()
    claim_ids = request.POST.getlist("claims")
    try:
        amount = partial_amount(
            request.POST.get("amount", ""), currency=currency or "EUR", t=t
        )
    except WayOutError as exc:
        return _home_response(request, link, token, error=str(exc), status=400)
    try:
        checkout, redirect_url = checkout_start(
            link=link,
            invoice_ids=claim_ids,
            currency=currency,
            provider=provider,
            token=token,
            actor=ACTOR_DEBTOR,
            amount=amount,
        )
    except CheckoutError:
        # Ids of someone else's claims, a stale page or a tampered form: the
        # page is shown again as it is now, with nothing written.
        error = t["amount_invalid"] if amount is not None else t["refused"]
        return _home_response(request, link, token, error=error, status=400)
    event_record(
        link=link,
        kind=EngagementEvent.Kind.PAY_STARTED,
        checkout=checkout.pk,
        claims=checkout.invoice_ids,
        partial=amount is not None,
    )
    claims_left_out_record(
        link=link,
        paid_ids=checkout.invoice_ids,
        currency=currency,
        reason=request.POST.get("left_out_reason", ""),
        actor=ACTOR_DEBTOR,
    )
    return redirect(redirect_url)


def _test_checkout(link, reference) -> Checkout | None:
    """The test provider's checkout of this link, if the test provider is active."""
    if not isinstance(active_provider(), TestProvider):
        return None
    return Checkout.objects.filter(
        link=link, provider=TestProvider.code, provider_reference=reference
    ).first()


@portal_view("GET", "HEAD", "POST")
def test_pay(request, token, reference):
    """The built-in test provider's own page: confirm or cancel a checkout."""
    link = link_resolve(token)
    checkout = _test_checkout(link, reference) if link else None
    if checkout is None:
        return _not_found(request)

    if request.method == "POST":
        if request.POST.get("action") == "cancel":
            checkout_cancel(provider_reference=reference, actor=ACTOR_DEBTOR)
            t = texts_for(link.customer.language)
            messages.info(request, t["cancelled"])
            return redirect("portal:home", token=token)
        try:
            reference = TestProvider().parse_confirmation(request)
        except ProviderError:
            return _not_found(request)
        checkout_complete(
            provider_reference=reference, actor=f"provider:{TestProvider.code}"
        )
        return redirect("portal:thanks", token=token, reference=reference)

    if checkout.status == Checkout.Status.SUCCEEDED:
        return redirect("portal:thanks", token=token, reference=reference)
    if checkout.status == Checkout.Status.CANCELLED:
        return redirect("portal:home", token=token)
    context = _base_context(link)
    language = context["lang"]
    numbers = link.customer.invoices.filter(id__in=checkout.invoice_ids).values_list(
        "number", flat=True
    )
    context.update(
        {
            "checkout": checkout,
            "amount": _money(checkout.amount, checkout.currency, language),
            "invoice_numbers": ", ".join(numbers),
            "home_url": reverse("portal:home", args=[token]),
        }
    )
    response = render(request, "portal/test_pay.html", context)
    response["Referrer-Policy"] = FORM_PAGE_REFERRER_POLICY
    return response


@portal_view("GET", "HEAD")
def thanks(request, token, reference):
    link = link_resolve(token)
    checkout = (
        Checkout.objects.filter(link=link, provider_reference=reference)
        .select_related("payment")
        .first()
        if link
        else None
    )
    if checkout is None:
        return _not_found(request)
    if checkout.status != Checkout.Status.SUCCEEDED:
        return redirect("portal:home", token=token)

    context = _base_context(link)
    language, t = context["lang"], context["t"]
    payment = checkout.payment
    paid = [
        {
            "title": t["invoice"].format(number=p.invoice.number),
            "paid": _money(p.paid, p.invoice.currency, language),
            "left": (
                t["thanks_left"].format(
                    amount=_money(p.invoice.open_amount, p.invoice.currency, language)
                )
                if p.invoice.open_amount > 0
                else t["thanks_settled"]
            ),
        }
        for p in checkout_paid_claims(checkout)
    ]
    credit = payment.unallocated_amount
    context.update(
        {
            "received": t["thanks_body"].format(
                amount=_money(payment.amount, payment.currency, language)
            ),
            "paid_claims": paid,
            "credit": (
                t["thanks_credit"].format(
                    amount=_money(credit, payment.currency, language)
                )
                if credit > 0
                else ""
            ),
            "home_url": reverse("portal:home", args=[token]),
        }
    )
    return render(request, "portal/thanks.html", context)
