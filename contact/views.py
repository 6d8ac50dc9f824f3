"""Endpoints debtors and SMS providers reach without a login.

The unsubscribe link shows a confirmation on GET and records on POST, so that
a mail scanner that opens every link unsubscribes nobody; a mail provider's
one-click POST (RFC 8058) records at once. The inbound SMS webhook accepts a
generic JSON payload signed with the shared secret.
"""

import hashlib
import hmac
import json
import logging
import secrets

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from contact.links import read_unsubscribe_token
from contact.models import OptOut
from contact.services import opt_out_record, record_inbound_keyword
from contact.texts import CHANNEL_NAMES, texts_for
from customers.models import Customer
from portal.views import brand_colours

logger = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
ONE_CLICK = "One-Click"


def _page(request, template: str, context: dict, status: int = 200):
    request.csp_nonce = secrets.token_urlsafe(16)
    response = render(request, template, context, status=status)
    response["Content-Security-Policy"] = CSP.format(nonce=request.csp_nonce)
    response["X-Robots-Tag"] = "noindex, nofollow"
    # The token is in the path: no other site may see it as a referrer.
    response["Referrer-Policy"] = "same-origin"
    add_never_cache_headers(response)
    return response


# csrf_exempt: the one-click POST comes from the mail provider, which has no
# CSRF cookie; the signed token in the path is what authorises the request.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    found = read_unsubscribe_token(token)
    customer = None
    if found is not None:
        customer = (
            Customer.objects.select_related("creditor").filter(pk=found[0]).first()
        )
    if customer is None:
        language, t = texts_for(getattr(request, "LANGUAGE_CODE", None))
        context = {"lang": language, "t": t, "done": False, "valid": False}
        # The 404 is logged without the path, which holds the token.
        response = _page(request, "contact/unsubscribe.html", context, status=404)
        response._has_been_logged = True
        return response

    channel = found[1]
    language, t = texts_for(customer.language)
    words = {
        "channel": CHANNEL_NAMES[language][channel],
        "creditor": customer.creditor.name,
    }
    context = {
        "lang": language,
        "t": t,
        "valid": True,
        "creditor": customer.creditor,
        "brand": brand_colours(customer.creditor.brand_color),
        "question": t["confirm"].format(**words),
        "answer": t["done"].format(**words),
        "done": False,
    }
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == ONE_CLICK
        if not one_click and "confirm" not in request.POST:
            return HttpResponseBadRequest("Nothing to confirm.")
        opt_out_record(
            customer_id=customer.pk,
            channel=channel,
            source=OptOut.Source.EMAIL_UNSUBSCRIBE,
            actor="link:one-click" if one_click else "link:debtor",
        )
        context["done"] = True
    return _page(request, "contact/unsubscribe.html", context)


def _signature_valid(request) -> bool:
    secret = settings.CONTACT_SMS_WEBHOOK_SECRET
    given = request.headers.get("X-Signature", "")
    expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given.removeprefix("sha256="), expected)


@csrf_exempt
@require_POST
def sms_inbound(request):
    """An inbound SMS as JSON: {"from": "+49…", "text": "STOP", "provider": "…"}.

    Signed by the sender: X-Signature is the hex HMAC-SHA256 of the raw body
    with CONTACT_SMS_WEBHOOK_SECRET (optionally prefixed "sha256=").
    """
    if not settings.CONTACT_SMS_WEBHOOK_SECRET:
        logger.warning("inbound SMS refused: CONTACT_SMS_WEBHOOK_SECRET is not set")
        return JsonResponse({"error": "webhook not configured"}, status=503)
    if not _signature_valid(request):
        return JsonResponse({"error": "bad signature"}, status=403)
    try:
        payload = json.loads(request.body)
        phone, text = str(payload["from"]), str(payload["text"])
        provider = str(payload.get("provider") or "generic")
    except (ValueError, KeyError, TypeError):
        return JsonResponse(
            {"error": 'expected JSON with "from" and "text"'}, status=400
        )
    opt_outs = record_inbound_keyword(phone, text, provider)
    return JsonResponse({"opted_out": len(opt_outs)})
